package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// byIDOrPath finds a project or namespace by :id as GitLab takes it: a
// numeric id or a (URL-decoded) full path.
func byIDOrPath[T any](ctx context.Context, raw string, byID func(context.Context, int64) (T, error),
	byPath func(context.Context, string) (T, error)) (T, error) {
	if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return byID(ctx, n)
	}
	return byPath(ctx, strings.Trim(raw, "/"))
}

// pathID parses the numeric path value name (pipeline_id, job_id, ...).
func pathID(r *http.Request, name string) (int64, error) {
	raw := r.PathValue(name)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, ci.Errorf(ci.KindInvalid, "400 Bad request - %s is invalid: %q", name, raw)
	}
	return id, nil
}

// pipelineIn resolves :pipeline_id within proj; a pipeline of another
// project is as missing as one that does not exist.
func (s *Server) pipelineIn(r *http.Request, proj *ci.Project) (*ci.Pipeline, error) {
	id, err := pathID(r, "pipeline_id")
	if err != nil {
		return nil, err
	}
	pl, err := s.Store.PipelineByID(r.Context(), id)
	if ci.IsNotFound(err) || (err == nil && pl.ProjectID != proj.ID) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Pipeline %d Not Found in project %s", id, proj.FullPath)
	}
	return pl, err
}

// pipelineOf is pipelineIn as the finder of a route on one pipeline.
func (s *Server) pipelineOf(c *call) (*ci.Pipeline, error) { return s.pipelineIn(c.r, c.proj) }

// jobIn resolves :job_id within proj, like pipelineIn.
func (s *Server) jobIn(r *http.Request, proj *ci.Project) (*ci.Job, error) {
	id, err := pathID(r, "job_id")
	if err != nil {
		return nil, err
	}
	j, err := s.Store.JobByID(r.Context(), id)
	// An external commit status is no job of /jobs (GitLab lists it only
	// with the commit's statuses).
	if ci.IsNotFound(err) || (err == nil && (j.ProjectID != proj.ID || j.External())) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Job %d Not Found in project %s", id, proj.FullPath)
	}
	return j, err
}
