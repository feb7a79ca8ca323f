package api

import (
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// The job-token allow-list of a project names the projects whose job tokens
// may read it (GitLab's /job_token_scope/allowlist).

func (s *Server) listAllowlist(c *call) (answer, error) {
	ids, err := s.Store.ListJobTokenAllowlist(c.ctx(), c.proj.ID)
	if err != nil {
		return answer{}, err
	}
	out := []projectEntity{}
	for _, id := range ids {
		src, err := s.Store.ProjectByID(c.ctx(), id)
		if ci.IsNotFound(err) {
			continue
		}
		if err != nil {
			return answer{}, err
		}
		if err := s.Policy.Project(c.ctx(), c.p, policy.ReadProject, src); ci.IsNotFound(err) {
			continue // listed by someone who could see it; not this caller's to see
		}
		e, err := s.projectJSON(c.r, src)
		if err != nil {
			return answer{}, err
		}
		out = append(out, e)
	}
	return ok(out), nil
}

func (s *Server) addAllowlist(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	raw, err := q.Required("target_project_id")
	if err != nil {
		return answer{}, err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - target_project_id is invalid: %q", raw)
	}
	src, err := s.Store.ProjectByID(c.ctx(), id)
	if err != nil && !ci.IsNotFound(err) {
		return answer{}, err
	}
	// A project the caller cannot see answers like a missing one.
	if err == nil {
		if aerr := s.Policy.Project(c.ctx(), c.p, policy.ReadProject, src); ci.IsNotFound(aerr) {
			err = aerr
		}
	}
	if err != nil {
		return answer{}, ci.Errorf(ci.KindNotFound, "404 Project %d Not Found", id)
	}
	if err := s.Store.AllowJobToken(c.ctx(), c.proj.ID, id); err != nil && !ci.IsConflict(err) {
		return answer{}, err
	}
	return created(map[string]int64{"source_project_id": c.proj.ID, "target_project_id": id}), nil
}

func (s *Server) removeAllowlist(c *call) (answer, error) {
	id, err := pathID(c.r, "target_project_id")
	if err != nil {
		return answer{}, err
	}
	if err := s.Store.DisallowJobToken(c.ctx(), c.proj.ID, id); err != nil {
		return answer{}, err
	}
	return noContent, nil
}
