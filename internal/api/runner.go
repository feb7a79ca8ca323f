package api

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// A project's runners: those that may run its jobs (GET), and enabling or
// disabling a project runner of another project for it (POST, DELETE), as
// GitLab's /projects/:id/runners.

func (s *Server) runnerBasic(rn *ci.Runner) *runnerBasic {
	online := rn.ContactedAt != nil && time.Since(*rn.ContactedAt) < 2*time.Hour
	status := "never_contacted"
	if rn.ContactedAt != nil {
		status = "offline"
		if online {
			status = "online"
		}
	}
	return &runnerBasic{ID: rn.ID, Description: rn.Description, Active: !rn.Paused, Paused: rn.Paused,
		IsShared: rn.RunnerType == ci.RunnerInstance, RunnerType: rn.RunnerType, Name: "gitlab-runner",
		Online: online, Status: status, IPAddress: rn.IPAddress}
}

func (s *Server) listProjectRunners(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	pg, err := q.Page()
	if err != nil {
		return err
	}
	if err := unsupported(q, "scope", "status", "tag_list", "version_prefix"); err != nil {
		return err
	}
	f := ci.RunnerFilter{ProjectID: proj.ID, Type: q.Get("type"), Page: pg}
	switch f.Type {
	case "", ci.RunnerInstance, ci.RunnerGroup, ci.RunnerProject:
	default:
		return ci.Errorf(ci.KindInvalid, "400 Bad request - type does not have a valid value")
	}
	if q.Get("paused") != "" {
		b, err := q.Bool("paused", false)
		if err != nil {
			return err
		}
		f.Paused = &b
	}
	list, total, err := s.Store.ListRunners(r.Context(), f)
	if err != nil {
		return err
	}
	out := make([]*runnerBasic, 0, len(list))
	for _, rn := range list {
		out = append(out, s.runnerBasic(rn))
	}
	s.setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

// runnerToAssign loads runner_id (a parameter or the path's) and checks
// that the caller may manage it: GitLab's assign_runner.
func (s *Server) runnerToAssign(r *http.Request, raw string) (*ci.Runner, error) {
	p, err := s.mustPrincipal(r)
	if err != nil {
		return nil, err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - runner_id is invalid: %q", raw)
	}
	rn, err := s.Store.RunnerByID(r.Context(), id)
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindNotFound, "404 Runner Not Found")
	}
	if err != nil {
		return nil, err
	}
	if err := s.Policy.Runner(r.Context(), p, policy.AdminRunner, rn); err != nil {
		return nil, err
	}
	return rn, nil
}

func (s *Server) enableProjectRunner(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	raw, err := q.Required("runner_id")
	if err != nil {
		return err
	}
	rn, err := s.runnerToAssign(r, raw)
	if err != nil {
		return err
	}
	if rn.RunnerType != ci.RunnerProject {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - only project runners can be enabled for a project")
	}
	if rn.Locked {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - runner %d is locked to its project", rn.ID)
	}
	if err := s.Store.EnableRunner(r.Context(), rn.ID, proj.ID); err != nil {
		if ci.KindOf(err) == ci.KindConflict {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - runner %d is already enabled for this project", rn.ID)
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.runnerBasic(rn))
	return nil
}

func (s *Server) disableProjectRunner(w http.ResponseWriter, r *http.Request) error {
	proj, _, err := s.projectFor(r)
	if err != nil {
		return err
	}
	rn, err := s.runnerToAssign(r, r.PathValue("runner_id"))
	if err != nil {
		return err
	}
	if rn.ProjectID == proj.ID {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - runner %d belongs to this project; delete the runner instead", rn.ID)
	}
	enabled, err := s.Store.RunnerProjects(r.Context(), rn.ID)
	if err != nil {
		return err
	}
	if !slices.Contains(enabled, proj.ID) {
		return ci.Errorf(ci.KindNotFound, "404 Runner Not Found")
	}
	if err := s.Store.DisableRunner(r.Context(), rn.ID, proj.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
