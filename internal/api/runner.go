package api

import (
	"slices"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/ci"
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

func (s *Server) listProjectRunners(c *call) (answer, error) {
	q, pg, err := c.paged()
	if err != nil {
		return answer{}, err
	}
	if err := unsupported(q, "scope", "status", "tag_list", "version_prefix"); err != nil {
		return answer{}, err
	}
	f := ci.RunnerFilter{ProjectID: c.proj.ID, Type: q.Get("type"), Page: pg}
	switch f.Type {
	case "", ci.RunnerInstance, ci.RunnerGroup, ci.RunnerProject:
	default:
		return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - type does not have a valid value")
	}
	if q.Get("paused") != "" {
		b, err := q.Bool("paused", false)
		if err != nil {
			return answer{}, err
		}
		f.Paused = &b
	}
	list, total, err := s.Store.ListRunners(c.ctx(), f)
	if err != nil {
		return answer{}, err
	}
	out := make([]*runnerBasic, 0, len(list))
	for _, rn := range list {
		out = append(out, s.runnerBasic(rn))
	}
	return page(pg, total, out), nil
}

// runnerToAssign loads runner_id (a parameter or the path's) and checks
// that the caller may manage it: GitLab's assign_runner.
func (s *Server) runnerToAssign(c *call, raw string) (*ci.Runner, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - runner_id is invalid: %q", raw)
	}
	rn, err := s.Store.RunnerByID(c.ctx(), id)
	if ci.IsNotFound(err) {
		return nil, errRunnerNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := s.Policy.Runner(c.ctx(), c.p, policy.AdminRunner, rn); err != nil {
		// Another project's or group's runner the caller may not manage
		// answers as a missing one: its id says nothing of what exists.
		if ci.KindOf(err) == ci.KindForbidden && rn.RunnerType != ci.RunnerInstance {
			return nil, errRunnerNotFound
		}
		return nil, err
	}
	return rn, nil
}

var errRunnerNotFound = ci.Errorf(ci.KindNotFound, "404 Runner Not Found")

func (s *Server) enableProjectRunner(c *call) (answer, error) {
	q, err := c.params()
	if err != nil {
		return answer{}, err
	}
	raw, err := q.Required("runner_id")
	if err != nil {
		return answer{}, err
	}
	rn, err := s.runnerToAssign(c, raw)
	if err != nil {
		return answer{}, err
	}
	if rn.RunnerType != ci.RunnerProject {
		return answer{}, ci.Errorf(ci.KindForbidden, "403 Forbidden - only project runners can be enabled for a project")
	}
	if rn.Locked {
		return answer{}, ci.Errorf(ci.KindForbidden, "403 Forbidden - runner %d is locked to its project", rn.ID)
	}
	if err := s.Store.EnableRunner(c.ctx(), rn.ID, c.proj.ID); err != nil {
		if ci.KindOf(err) == ci.KindConflict {
			return answer{}, ci.Errorf(ci.KindInvalid, "400 Bad request - runner %d is already enabled for this project", rn.ID)
		}
		return answer{}, err
	}
	return created(s.runnerBasic(rn)), nil
}

func (s *Server) disableProjectRunner(c *call) (answer, error) {
	rn, err := s.runnerToAssign(c, c.r.PathValue("runner_id"))
	if err != nil {
		return answer{}, err
	}
	if rn.ProjectID == c.proj.ID {
		return answer{}, ci.Errorf(ci.KindForbidden, "403 Forbidden - runner %d belongs to this project; delete the runner instead", rn.ID)
	}
	enabled, err := s.Store.RunnerProjects(c.ctx(), rn.ID)
	if err != nil {
		return answer{}, err
	}
	if !slices.Contains(enabled, c.proj.ID) {
		return answer{}, errRunnerNotFound
	}
	if err := s.Store.DisableRunner(c.ctx(), rn.ID, c.proj.ID); err != nil {
		return answer{}, err
	}
	return noContent, nil
}
