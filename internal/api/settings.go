package api

import (
	"net/http"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// projectChange reads the settings PUT /projects/:id changes; absent
// parameters stay as they are. A malformed value is KindInvalid.
func projectChange(q *httpx.Params) (ci.ProjectChange, error) {
	var c ci.ProjectChange
	str := func(key string) *string {
		if !q.Given(key) {
			return nil
		}
		v := q.Get(key)
		return &v
	}
	c.Name, c.Description, c.DefaultBranch, c.CIConfigPath = str("name"), str("description"), str("default_branch"), str("ci_config_path")
	if v := str("visibility"); v != nil {
		vis := ci.Visibility(*v)
		c.Visibility = &vis
	}
	if v := str("ci_pipeline_variables_minimum_override_role"); v != nil {
		role := ci.VariablesRole(*v)
		c.VariablesRole = &role
	}
	if q.Given("build_timeout") {
		n, err := q.Int("build_timeout", 0)
		if err != nil {
			return c, err
		}
		t := int(min(max(n, -1), ci.MaxBuildTimeout+1)) // out of range stays out of range (Apply says why)
		c.BuildTimeout = &t
	}
	if v := str("auto_cancel_pending_pipelines"); v != nil {
		var on bool
		switch *v {
		case "enabled":
			on = true
		case "disabled":
		default:
			return c, ci.Errorf(ci.KindInvalid, "400 Bad request - auto_cancel_pending_pipelines does not have a valid value: %q (enabled or disabled)", *v)
		}
		c.AutoCancelPending = &on
	}
	if q.Given("ci_job_token_scope_enabled") {
		b, err := q.Bool("ci_job_token_scope_enabled", false)
		if err != nil {
			return c, err
		}
		c.JobTokenScopeEnabled = &b
	}
	if c == (ci.ProjectChange{}) {
		return c, ci.Errorf(ci.KindInvalid, "400 Bad request - at least one parameter must be provided")
	}
	return c, nil
}

// editProject is PUT /projects/:id: Maintainers change the project's
// settings; changing its visibility takes an Owner, as in GitLab. A
// default branch must exist; it becomes the repository's HEAD.
func (s *Server) editProject(w http.ResponseWriter, r *http.Request) error {
	proj, p, err := s.projectFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	change, err := projectChange(q)
	if err != nil {
		return err
	}
	if err := s.applyProjectChange(r, proj, p, change); err != nil {
		return err
	}
	e, err := s.projectJSON(r, proj)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, e)
	return nil
}

// applyProjectChange validates change, asks the policy for a visibility
// change, points HEAD at a new default branch (400 if it does not exist)
// and saves the project.
func (s *Server) applyProjectChange(r *http.Request, proj *ci.Project, p *auth.Principal, change ci.ProjectChange) error {
	ctx := r.Context()
	before := *proj
	visibility, branch, err := change.Apply(proj)
	if err != nil {
		return err
	}
	if visibility {
		if err := s.Policy.Project(ctx, p, policy.ChangeVisibility, &before); err != nil {
			return err
		}
	}
	if branch {
		if err := s.Repos.SetHEAD(ctx, proj.ID, proj.DefaultBranch); err != nil {
			if ci.IsNotFound(err) || ci.KindOf(err) == ci.KindInvalid {
				return ci.Errorf(ci.KindInvalid, "400 Bad request - default_branch %q is not a branch of this project", proj.DefaultBranch)
			}
			return err
		}
	}
	if err := s.Store.UpdateProject(ctx, proj); err != nil {
		if branch && before.DefaultBranch != "" {
			_ = s.Repos.SetHEAD(ctx, proj.ID, before.DefaultBranch)
		}
		return err
	}
	return nil
}
