package api

import (
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// The job-token allow-list of a project names the projects whose job tokens
// may read it (GitLab's /job_token_scope/allowlist).

func (s *Server) listAllowlist(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	ids, err := s.Store.ListJobTokenAllowlist(r.Context(), proj.ID)
	if err != nil {
		return err
	}
	out := []projectEntity{}
	for _, id := range ids {
		src, err := s.Store.ProjectByID(r.Context(), id)
		if ci.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.Policy.Project(r.Context(), p, policy.ReadProject, src); ci.IsNotFound(err) {
			continue // listed by someone who could see it; not this caller's to see
		}
		e, err := s.projectJSON(r, src)
		if err != nil {
			return err
		}
		out = append(out, e)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) addAllowlist(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	raw, err := q.Required("target_project_id")
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - target_project_id is invalid: %q", raw)
	}
	src, err := s.Store.ProjectByID(r.Context(), id)
	if err != nil && !ci.IsNotFound(err) {
		return err
	}
	// A project the caller cannot see answers like a missing one.
	if err == nil {
		if aerr := s.Policy.Project(r.Context(), p, policy.ReadProject, src); ci.IsNotFound(aerr) {
			err = aerr
		}
	}
	if err != nil {
		return ci.Errorf(ci.KindNotFound, "404 Project %d Not Found", id)
	}
	if err := s.Store.AllowJobToken(r.Context(), proj.ID, id); err != nil && !ci.IsConflict(err) {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]int64{"source_project_id": proj.ID, "target_project_id": id})
	return nil
}

func (s *Server) removeAllowlist(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "target_project_id")
	if err != nil {
		return err
	}
	if err := s.Store.DisallowJobToken(r.Context(), proj.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
