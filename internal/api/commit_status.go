package api

import (
	"net/url"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// maxStatusField bounds a commit status's name, ref, target URL and
// description, as GitLab's columns do.
const maxStatusField = 255

type commitStatusEntity struct {
	ID           int64       `json:"id"`
	SHA          string      `json:"sha"`
	Ref          string      `json:"ref"`
	Status       string      `json:"status"`
	Name         string      `json:"name"`
	TargetURL    *string     `json:"target_url"`
	Description  *string     `json:"description"`
	CreatedAt    *time.Time  `json:"created_at"`
	StartedAt    *time.Time  `json:"started_at"`
	FinishedAt   *time.Time  `json:"finished_at"`
	AllowFailure bool        `json:"allow_failure"`
	Coverage     *float64    `json:"coverage"`
	PipelineID   *int64      `json:"pipeline_id"`
	Author       *userEntity `json:"author"`
}

// commitStatus renders cs for the call's caller.
func (s *Server) commitStatus(c *call, cs *ci.CommitStatus) commitStatusEntity {
	e := commitStatusEntity{ID: cs.ID, SHA: cs.SHA, Ref: cs.Ref, Status: string(cs.Status), Name: cs.Name,
		CreatedAt: utc(&cs.CreatedAt), StartedAt: utc(cs.StartedAt), FinishedAt: utc(cs.FinishedAt), Coverage: cs.Coverage}
	if cs.TargetURL != "" {
		e.TargetURL = &cs.TargetURL
	}
	if cs.Description != "" {
		e.Description = &cs.Description
	}
	if cs.PipelineID != 0 {
		e.PipelineID = &cs.PipelineID
	}
	e.Author = s.userFor(c, cs.AuthorID)
	return e
}

// createCommitStatus is POST /projects/:id/statuses/:sha: an outside
// system reports state (pending, running, success, failed, canceled) for
// the commit under a name; reporting the same name and ref again updates
// that status. As GitLab's, the status is also a job (stage external) of
// the commit's pipeline (pipeline_id's, or the newest of the sha and ref,
// or a new one with source external), which the runner queue never hands
// out and whose state the pipeline's status follows.
func (s *Server) createCommitStatus(c *call) (answer, error) {
	proj, p, r := c.proj, c.p, c.r
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	state, err := q.Required("state")
	if err != nil {
		return answer{}, err
	}
	if !ci.CommitStatusStates[ci.Status(state)] {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - state does not have a valid value (pending, running, success, failed, canceled)")
	}
	name := q.Get("name")
	if name == "" {
		name = q.Get("context")
	}
	if name == "" {
		name = "default"
	}
	cs := &ci.CommitStatus{ProjectID: proj.ID, Status: ci.Status(state), Name: name, Ref: q.Get("ref"),
		TargetURL: q.Get("target_url"), Description: q.Get("description"), AuthorID: p.UserID()}
	for _, f := range [][2]string{{"name", cs.Name}, {"ref", cs.Ref}, {"target_url", cs.TargetURL}, {"description", cs.Description}} {
		if len(f[1]) > maxStatusField {
			return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is too long (maximum is %d characters)", f[0], maxStatusField)
		}
	}
	if cs.TargetURL != "" {
		if u, err := url.Parse(cs.TargetURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - target_url must be an http or https URL")
		}
	}
	if raw := q.Get("coverage"); raw != "" {
		cov, err := strconv.ParseFloat(raw, 64)
		if err != nil || cov < 0 || cov > 100 {
			return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - coverage must be a number from 0 to 100")
		}
		cs.Coverage = &cov
	}
	gc, err := s.Code.GitCommit(r.Context(), proj.ID, r.PathValue("sha"))
	if err != nil {
		return answer{}, notFoundAs(err, "Commit")
	}
	cs.SHA = gc.SHA
	pl, err := s.statusPipeline(c, q.Get("pipeline_id"), gc.SHA, cs.Ref)
	if err != nil {
		return answer{}, err
	}
	if cs.Ref == "" && pl != nil {
		cs.Ref = pl.Ref
	}
	if cs.Ref == "" {
		cs.Ref, _ = s.Code.DefaultBranch(r.Context(), proj.ID)
	}
	if pl == nil {
		// GitLab creates an external pipeline for a commit without one.
		if pl, err = s.Planner.CreateExternal(r.Context(), proj, cs.Ref, gc.SHA, p.UserID()); err != nil {
			return answer{}, err
		}
	}
	cs.PipelineID = pl.ID
	// The status is a job of its pipeline, in stage external: it shows in
	// the pipeline's graph and its state counts in the pipeline's.
	if _, err := s.Scheduler.ReportExternal(r.Context(), pl, cs.Name, cs.Status, p.UserID()); err != nil {
		return answer{}, err
	}
	now := time.Now().UTC()
	switch cs.Status {
	case ci.StatusRunning:
		cs.StartedAt = &now
	case ci.StatusSuccess, ci.StatusFailed, ci.StatusCanceled:
		cs.StartedAt, cs.FinishedAt = &now, &now
	}
	if err := s.Store.SetCommitStatus(r.Context(), cs); err != nil {
		return answer{}, err
	}
	return created(s.commitStatus(c, cs)), nil
}

// statusPipeline is the pipeline a commit status on sha goes into:
// pipeline_id's (404 unless it is a pipeline of sha, and of ref if given),
// else the newest of sha (at ref if given), nil if there is none.
func (s *Server) statusPipeline(c *call, rawID, sha, ref string) (*ci.Pipeline, error) {
	ctx := c.r.Context()
	if rawID != "" {
		id, err := strconv.ParseInt(rawID, 10, 64)
		if err != nil || id <= 0 {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - pipeline_id is invalid")
		}
		pl, err := s.Store.PipelineByID(ctx, id)
		if ci.IsNotFound(err) || (err == nil && (pl.ProjectID != c.proj.ID || pl.SHA != sha || (ref != "" && pl.Ref != ref))) {
			return nil, ci.Errorf(ci.KindNotFound, "404 Pipeline Not Found")
		}
		return pl, err
	}
	pls, _, err := s.Store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: c.proj.ID, SHA: sha, Ref: ref, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil || len(pls) == 0 {
		return nil, err
	}
	return pls[0], nil
}

// listCommitStatuses is GET /projects/:id/repository/commits/:sha/statuses
// (ref and name filters).
func (s *Server) listCommitStatuses(c *call) (answer, error) {
	proj, r := c.proj, c.r
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	if err := unsupported(q, "stage", "pipeline_id", "order_by", "sort"); err != nil {
		return answer{}, err
	}
	gc, err := s.Code.GitCommit(r.Context(), proj.ID, r.PathValue("sha"))
	if err != nil {
		return answer{}, notFoundAs(err, "Commit")
	}
	list, total, err := s.Store.ListCommitStatuses(r.Context(), ci.CommitStatusFilter{ProjectID: proj.ID, SHA: gc.SHA,
		Ref: q.Get("ref"), Name: q.Get("name"), Page: pg})
	if err != nil {
		return answer{}, err
	}
	out := make([]commitStatusEntity, 0, len(list))
	for _, cs := range list {
		out = append(out, s.commitStatus(c, cs))
	}
	return page(pg, total, out), nil
}
