package runnerapi

import (
	"fmt"
	"net/http"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// downloadArtifact is GET /api/v4/jobs/:id/artifacts, which runners call
// for dependencies. The token (Job-Token header, token or job_token
// parameter) must be that of a running job of the same project, or of a
// project whose job token the policy lets read the target's artifacts
// (needs:project, the target's allow-list): payloads hand every
// dependency the running job's own token. Unknown tokens are 401, tokens
// of finished jobs 403; a job of a project the token may not read is 404
// exactly as a missing one, and a job without an archive 404. The archive
// is served by the artifact service, as on the API: with
// --artifact-download redirect, a 302 to a signed URL, which the runner
// follows.
func (s *Server) downloadArtifact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	token := r.Header.Get("Job-Token")
	for _, k := range []string{"token", "job_token"} {
		if token == "" {
			token = r.URL.Query().Get(k)
		}
	}
	if token == "" {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	ctx := r.Context()
	caller, err := s.Store.JobByTokenHash(ctx, auth.Hash(token))
	if ci.IsNotFound(err) {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	if err != nil {
		return fmt.Errorf("finding job by token: %w", err)
	}
	if !caller.Status.Active() {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - Job is not processing on runner")
	}
	// A job of a project the token may not read is answered as absent.
	absent := ci.Errorf(ci.KindNotFound, "404 Not Found")
	target, err := s.Store.JobByID(ctx, id)
	if ci.IsNotFound(err) {
		return absent
	}
	if err != nil {
		return fmt.Errorf("loading job %d: %w", id, err)
	}
	if target.ProjectID != caller.ProjectID && !s.crossProjectReadable(r, caller, target) {
		return absent
	}
	c, err := s.Artifacts.OfJob(ctx, target, "")
	if err != nil {
		return err
	}
	return s.Artifacts.ServeArchive(w, r, c.Archive)
}

// crossProjectReadable asks the policy whether caller's job token may read
// the artifacts of target's project (needs:project).
func (s *Server) crossProjectReadable(r *http.Request, caller, target *ci.Job) bool {
	if s.Policy == nil {
		return false
	}
	proj, err := s.Store.ProjectByID(r.Context(), target.ProjectID)
	if err != nil {
		return false
	}
	return s.Policy.Project(r.Context(), &auth.Principal{Job: caller}, policy.ReadArtifact, proj) == nil
}
