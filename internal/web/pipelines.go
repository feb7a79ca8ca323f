package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// pipelineRow is one line of a pipeline list.
type pipelineRow struct {
	*ci.Pipeline
	Duration float64
}

func (s *Server) pipelineRows(pls []*ci.Pipeline) []pipelineRow {
	now := s.Now()
	rows := make([]pipelineRow, len(pls))
	for i, p := range pls {
		rows[i] = pipelineRow{Pipeline: p, Duration: p.Duration(now)}
	}
	return rows
}

var filterStatuses = []ci.Status{ci.StatusCreated, ci.StatusPending, ci.StatusRunning, ci.StatusSuccess,
	ci.StatusFailed, ci.StatusCanceled, ci.StatusSkipped, ci.StatusManual}

// pipelinesPage lists a project's pipelines, filtered by ref and status.
func (s *Server) pipelinesPage(c *req) error {
	q := c.r.URL.Query()
	page := pageParam(c.r)
	f := ci.PipelineFilter{ProjectID: c.proj.ID, Ref: q.Get("ref"), Page: ci.Page{Page: page, PerPage: 20}}
	status := ci.Status(q.Get("status"))
	if status != "" {
		if !status.Valid() {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - unknown status %q", status)
		}
		f.Statuses = []ci.Status{status}
	}
	pls, total, err := s.Store.ListPipelines(c.r.Context(), f)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, "pipelines", "Pipelines · "+c.proj.FullPath, map[string]any{
		"Rows": s.pipelineRows(pls), "Ref": f.Ref, "Status": string(status), "Statuses": filterStatuses,
		"Pager": newPager(c.r, page, 20, total), "Total": total})
}

// pipelineOf loads pipeline :id of the request's project.
func (s *Server) pipelineOf(c *req, raw string) (*ci.Pipeline, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, notFound()
	}
	pl, err := s.Store.PipelineByID(c.r.Context(), id)
	if ci.IsNotFound(err) || (err == nil && pl.ProjectID != c.proj.ID) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Pipeline %d Not Found", id)
	}
	return pl, err
}

// artifactRow is one archive of a pipeline, with the URLs that fetch it.
type artifactRow struct {
	Job         *ci.Job
	Artifact    *ci.Artifact
	PipelineURL string
	CommitURL   string
	BrowseURL   string
	DownloadURL string
}

// pipelinePage shows the pipeline's graph, artifacts and buttons.
func (s *Server) pipelinePage(c *req, pl *ci.Pipeline) error {
	ctx := c.r.Context()
	// The page follows the events after what it shows: the last event's
	// seq is read first, everything shown after it.
	seq, err := s.Store.PipelineEventSeq(ctx, pl.ID)
	if err != nil {
		return err
	}
	if pl, err = s.Store.PipelineByID(ctx, pl.ID); err != nil {
		return err
	}
	jobs, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: pl.ID, Ascending: true})
	if err != nil {
		return err
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, ids)
	if err != nil {
		return err
	}
	now := s.Now()
	base := "/" + c.proj.FullPath
	api := s.ExternalURL + "/api/v4/projects/" + strconv.FormatInt(c.proj.ID, 10)
	byJob := map[int64]*ci.Job{}
	for _, j := range jobs {
		byJob[j.ID] = j
	}
	var rows []artifactRow
	for _, a := range arts {
		j := byJob[a.JobID]
		if j == nil || a.FileType != ci.FileTypeArchive {
			continue
		}
		name := "?job=" + url.QueryEscape(j.Name)
		rows = append(rows, artifactRow{Job: j, Artifact: a,
			PipelineURL: api + "/pipelines/" + strconv.FormatInt(pl.ID, 10) + "/artifacts" + name,
			CommitURL:   api + "/repository/commits/" + pl.SHA + "/artifacts" + name,
			BrowseURL:   base + "/-/jobs/" + strconv.FormatInt(j.ID, 10) + "/artifacts/browse",
			DownloadURL: base + "/-/pipelines/" + strconv.FormatInt(pl.ID, 10) + "/artifacts/download" + name,
		})
	}
	tabs, err := s.pipelineTabs(c, pl, "pipeline", nil)
	if err != nil {
		return err
	}
	down, up, err := s.pipelineLinks(c, pl, jobs)
	if err != nil {
		return err
	}
	g := layoutGraph(jobs, now)
	for i := range g.Stages {
		for k := range g.Stages[i].Jobs {
			g.Stages[i].Jobs[k].Downstream = down[g.Stages[i].Jobs[k].Job.ID]
		}
	}
	return s.render(c, http.StatusOK, "pipeline", "Pipeline #"+strconv.FormatInt(pl.ID, 10)+" · "+c.proj.FullPath, map[string]any{
		"Tabs": tabs, "Pipeline": pl, "Duration": pl.Duration(now), "Graph": g, "Artifacts": rows, "Upstream": up,
		"JobCount": len(jobs), "Signature": signature(jobs, arts, now), "EventSeq": seq, "CanRun": s.can(c, policy.UpdatePipeline),
		"Cancelable": !pl.Status.Finished(), "Retryable": pl.Status == ci.StatusFailed || pl.Status == ci.StatusCanceled,
	})
}

// pipelineAction is POST .../pipelines/:id/{cancel,retry}.
func (s *Server) pipelineAction(c *req, pl *ci.Pipeline, action string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	var err error
	if action == "cancel" {
		err = s.Scheduler.CancelPipeline(c.r.Context(), pl.ID)
	} else {
		err = s.Scheduler.RetryPipeline(c.r.Context(), pl.ID, c.p.User.ID)
	}
	if err != nil {
		return err
	}
	http.Redirect(c.w, c.r, "/"+c.proj.FullPath+"/-/pipelines/"+strconv.FormatInt(pl.ID, 10), http.StatusSeeOther)
	return nil
}

// pipelineState is what the pipeline page polls for while it runs.
type pipelineState struct {
	Status   ci.Status  `json:"status"`
	Label    string     `json:"label"`
	Duration string     `json:"duration"`
	Finished bool       `json:"finished"`
	Jobs     []jobState `json:"jobs"`
	// Signature changes when jobs or artifacts appear (retries, uploads):
	// the page then reloads instead of patching.
	Signature string `json:"signature"`
}

type jobState struct {
	ID       int64     `json:"id"`
	Status   ci.Status `json:"status"`
	Label    string    `json:"label"`
	Duration string    `json:"duration"`
}

// pipelineJSON is GET /-/ui/pipelines/:id.json.
func (s *Server) pipelineJSON(c *req, raw string) error {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return notFound()
	}
	ctx := c.r.Context()
	pl, err := s.Store.PipelineByID(ctx, id)
	if err != nil {
		return hideMissing(err)
	}
	if err := s.requireView(c, pl.ProjectID); err != nil {
		return err
	}
	jobs, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: pl.ID, Ascending: true})
	if err != nil {
		return err
	}
	ids := make([]int64, len(jobs))
	now := s.Now()
	st := pipelineState{Status: pl.Status, Label: statusLabel(pl.Status), Duration: formatDuration(pl.Duration(now)),
		Finished: pl.Status.Finished(), Jobs: make([]jobState, len(jobs))}
	for i, j := range jobs {
		ids[i] = j.ID
		st.Jobs[i] = jobState{ID: j.ID, Status: j.Status, Label: statusLabel(j.Status), Duration: formatDuration(j.Duration(now))}
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, ids)
	if err != nil {
		return err
	}
	st.Signature = signature(jobs, arts, now)
	writeJSON(c.w, http.StatusOK, st)
	return nil
}

// requireView loads a project for the /-/ui endpoints, which are outside a
// project path, and asks the policy for the route's ability on it. What the
// caller may not see answers as what does not exist.
func (s *Server) requireView(c *req, projectID int64) error {
	if err := s.loadProject(c, projectID, ""); err != nil {
		return hideMissing(err)
	}
	return hideMissing(s.allow(c, c.ability))
}

// hideMissing gives every not-found answer of the /-/ui endpoints one text,
// so that a private pipeline or job cannot be told from a missing one.
func hideMissing(err error) error {
	if ci.IsNotFound(err) {
		return notFound()
	}
	return err
}

// signature names the pipeline's jobs and how many archives they have, so
// the page can tell when patching statuses is not enough.
func signature(jobs []*ci.Job, arts []*ci.Artifact, now time.Time) string {
	var b strings.Builder
	for _, j := range jobs {
		b.WriteString(strconv.FormatInt(j.ID, 36) + ",")
	}
	n := 0
	for _, a := range arts {
		if a.FileType == ci.FileTypeArchive {
			n++
		}
	}
	return b.String() + "a" + strconv.Itoa(n)
}
