package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// artifactQuery reads job (required), wait and search_recent_successful_pipelines.
type artifactQuery struct {
	job          string
	wait         time.Duration
	searchRecent bool
}

func readArtifactQuery(r *http.Request, needJob bool) (artifactQuery, error) {
	q := r.URL.Query()
	aq := artifactQuery{job: q.Get("job")}
	if needJob && aq.job == "" {
		return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - job is missing: name the job, e.g. ?job=build")
	}
	if raw := q.Get("wait"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || time.Duration(n)*time.Second > maxWait {
			return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - wait must be a number of seconds from 0 to %d", int(maxWait.Seconds()))
		}
		aq.wait = time.Duration(n) * time.Second
	}
	if raw := q.Get("search_recent_successful_pipelines"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - search_recent_successful_pipelines must be true or false")
		}
		aq.searchRecent = b
	}
	return aq, nil
}

// artifactHandler is a route that resolves a chosen archive and serves it.
type artifactHandler func(ctx context.Context, r *http.Request, proj *ci.Project, aq artifactQuery) (*chosen, error)

// serveChosen wraps a chooser into the archive, raw and tree handlers.
func (s *Server) serveChosen(choose artifactHandler, needJob bool, serve func(w http.ResponseWriter, r *http.Request, c *chosen) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		proj, _, err := s.projectFor(r, policy.ReadArtifact)
		if err != nil {
			return err
		}
		aq, err := readArtifactQuery(r, needJob)
		if err != nil {
			return err
		}
		c, err := waitFor(r.Context(), aq.wait, func() (*chosen, error) { return choose(r.Context(), r, proj, aq) })
		if err != nil {
			return err
		}
		w.Header().Set("X-Baton-Job-Id", itoa(c.job.ID))
		return serve(w, r, c)
	}
}

func (s *Server) archiveOfChosen(w http.ResponseWriter, r *http.Request, c *chosen) error {
	return s.serveArchive(w, r, c.archive)
}

func (s *Server) rawOfChosen(w http.ResponseWriter, r *http.Request, c *chosen) error {
	return s.serveEntry(w, r, c.archive, r.PathValue("path"), false)
}

func (s *Server) treeOfChosen(w http.ResponseWriter, r *http.Request, c *chosen) error {
	return s.serveTree(w, r, c.archive)
}

// choosePipeline is Baton's pipeline scope: ?job=NAME in :pipeline_id.
func (s *Server) choosePipeline(ctx context.Context, r *http.Request, proj *ci.Project, aq artifactQuery) (*chosen, error) {
	pl, err := s.pipelineIn(r, proj)
	if err != nil {
		return nil, err
	}
	return s.inPipeline(ctx, pl, aq.job)
}

// chooseCommit is Baton's commit scope: ?job=NAME at :sha.
func (s *Server) chooseCommit(ctx context.Context, r *http.Request, proj *ci.Project, aq artifactQuery) (*chosen, error) {
	return s.inCommit(ctx, proj, r.PathValue("sha"), aq.job)
}

// chooseJob is GitLab's job scope: :job_id.
func (s *Server) chooseJob(ctx context.Context, r *http.Request, proj *ci.Project, _ artifactQuery) (*chosen, error) {
	j, err := s.jobIn(r, proj)
	if err != nil {
		return nil, err
	}
	return s.byJob(ctx, j)
}

// jobSubroutes serves GET /projects/:id/jobs/:job_id/{rest...}: a job's
// archive, one file or tree, and GitLab's by-ref routes under
// /jobs/artifacts/:ref/{download,raw/*path}. One pattern serves both,
// because ServeMux cannot tell /jobs/:job_id/artifacts/x from
// /jobs/artifacts/:ref/x.
func (s *Server) jobSubroutes(w http.ResponseWriter, r *http.Request) error {
	jobID, rest := r.PathValue("job_id"), r.PathValue("rest")
	if jobID == "artifacts" {
		return s.refRoutes(w, r, rest)
	}
	switch {
	case rest == "artifacts":
		return s.serveChosen(s.chooseJob, false, s.archiveOfChosen)(w, r)
	case rest == "artifacts/tree":
		return s.serveChosen(s.chooseJob, false, s.treeOfChosen)(w, r)
	case strings.HasPrefix(rest, "artifacts/"):
		r.SetPathValue("path", strings.TrimPrefix(rest, "artifacts/"))
		return s.serveChosen(s.chooseJob, false, s.rawOfChosen)(w, r)
	}
	return ci.Errorf(ci.KindNotFound, "404 Not Found")
}

// refRoutes serves /jobs/artifacts/:ref/download and /jobs/artifacts/:ref/raw/*path.
func (s *Server) refRoutes(w http.ResponseWriter, r *http.Request, rest string) error {
	var ref string
	var serve func(w http.ResponseWriter, r *http.Request, c *chosen) error
	if i := strings.Index(rest, "/raw/"); i > 0 {
		ref = rest[:i]
		r.SetPathValue("path", rest[i+len("/raw/"):])
		serve = s.rawOfChosen
	} else if strings.HasSuffix(rest, "/download") {
		ref = strings.TrimSuffix(rest, "/download")
		serve = s.archiveOfChosen
	} else {
		return ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	if ref == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - ref_name is missing")
	}
	choose := func(ctx context.Context, r *http.Request, proj *ci.Project, aq artifactQuery) (*chosen, error) {
		return s.onRef(ctx, proj, ref, aq.job, aq.searchRecent)
	}
	return s.serveChosen(choose, true, serve)(w, r)
}

// keepArtifacts is POST /projects/:id/jobs/:job_id/artifacts/keep: the
// job's artifacts no longer expire.
func (s *Server) keepArtifacts(w http.ResponseWriter, r *http.Request) error {
	proj, j, _, err := s.jobFor(r, policy.KeepArtifacts)
	if err != nil {
		return err
	}
	arts, err := s.Store.ArtifactsOfJobs(r.Context(), []int64{j.ID})
	if err != nil {
		return err
	}
	if archiveOf(arts, j.ID) == nil {
		return ci.Errorf(ci.KindNotFound, "404 Job %d has no artifacts to keep", j.ID)
	}
	for _, a := range arts {
		if a.ExpireAt != nil {
			a.ExpireAt = nil
			if err := s.Store.UpdateArtifact(r.Context(), a); err != nil {
				return err
			}
		}
	}
	return s.writeJob(w, r, http.StatusOK, proj, j)
}

// deleteJobArtifacts is DELETE /projects/:id/jobs/:job_id/artifacts (maintainers).
func (s *Server) deleteJobArtifacts(w http.ResponseWriter, r *http.Request) error {
	_, j, _, err := s.jobFor(r, policy.DeleteArtifacts)
	if err != nil {
		return err
	}
	arts, err := s.Store.ArtifactsOfJobs(r.Context(), []int64{j.ID})
	if err != nil {
		return err
	}
	for _, a := range arts {
		if a.FileType == ci.FileTypeTrace {
			continue
		}
		if err := s.Store.DeleteArtifact(r.Context(), a.ID); err != nil && !ci.IsNotFound(err) {
			return err
		}
		s.deleteArtifactBytes(r, a)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteProjectArtifacts is DELETE /projects/:id/artifacts: every artifact
// not kept expires now; the reaper removes the bytes.
func (s *Server) deleteProjectArtifacts(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r, policy.DeleteArtifacts)
	if err != nil {
		return err
	}
	arts, err := s.Store.ArtifactsOfProject(r.Context(), proj.ID, 0)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, a := range arts {
		if a.Locked || a.FileType == ci.FileTypeTrace {
			continue
		}
		a.ExpireAt = &now
		if err := s.Store.UpdateArtifact(r.Context(), a); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
	return nil
}
