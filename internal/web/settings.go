package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// settingsForm is the settings page's form values of p.
func settingsForm(p *ci.Project) map[string]string {
	auto := "enabled"
	if p.AutoCancelDisabled {
		auto = "disabled"
	}
	return map[string]string{"name": p.Name, "description": p.Description, "visibility": string(p.Visibility),
		"default_branch": p.DefaultBranch, "ci_config_path": p.CIConfigPath, "build_timeout": strconv.Itoa(p.BuildTimeout),
		"auto_cancel_pending_pipelines": auto, "ci_job_token_scope_enabled": strconv.FormatBool(p.JobTokenScopeEnabled),
		"ci_pipeline_variables_minimum_override_role": string(p.VariablesRole)}
}

// settingsPage is /<project>/-/settings: the project's settings for those
// with admin_project (Maintainers, asked by the route table), as PUT
// /projects/:id changes them.
func (s *Server) settingsPage(c *req, problem string, form map[string]string) error {
	branches, err := s.Repos.Branches(c.r.Context(), c.proj.ID)
	if err != nil && !ci.IsNotFound(err) {
		return err
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnprocessableEntity
	}
	if form == nil {
		form = settingsForm(c.proj)
	}
	protected, tags, err := s.protectedRefs(c)
	if err != nil {
		return err
	}
	return s.render(c, status, "settings", "Settings · "+c.proj.FullPath, map[string]any{
		"Form": form, "Problem": problem, "Saved": c.r.URL.Query().Get("saved") == "1", "Branches": branches,
		"CanChangeVisibility": s.can(c, policy.ChangeVisibility),
		"Visibilities":        []ci.Visibility{ci.VisibilityPrivate, ci.VisibilityInternal, ci.VisibilityPublic},
		"Roles":               []ci.VariablesRole{ci.VariablesNoOneAllowed, ci.VariablesDeveloper, ci.VariablesMaintainer, ci.VariablesOwner},
		"Protected":           protected, "ProtectedTags": tags, "Levels": protectLevels,
	})
}

// saveSettings applies the settings form: the same validation and the
// same policy as PUT /projects/:id (visibility changes need an Owner, the
// default branch must exist).
func (s *Server) saveSettings(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	f := c.r.PostForm
	form := map[string]string{}
	for k := range settingsForm(c.proj) {
		form[k] = f.Get(k)
	}
	// Unchecked boxes are not sent at all.
	form["auto_cancel_pending_pipelines"] = map[bool]string{true: "enabled", false: "disabled"}[f.Get("auto_cancel_pending_pipelines") == "enabled"]
	form["ci_job_token_scope_enabled"] = strconv.FormatBool(f.Get("ci_job_token_scope_enabled") == "true")
	timeout, err := strconv.Atoi(strings.TrimSpace(form["build_timeout"]))
	if err != nil {
		return s.settingsPage(c, "The job timeout must be a number of seconds.", form)
	}
	name, desc, cfg := form["name"], form["description"], form["ci_config_path"]
	vis, role := ci.Visibility(form["visibility"]), ci.VariablesRole(form["ci_pipeline_variables_minimum_override_role"])
	auto, scope := form["auto_cancel_pending_pipelines"] == "enabled", form["ci_job_token_scope_enabled"] == "true"
	change := ci.ProjectChange{Name: &name, Description: &desc, Visibility: &vis, CIConfigPath: &cfg, BuildTimeout: &timeout,
		AutoCancelPending: &auto, JobTokenScopeEnabled: &scope, VariablesRole: &role}
	if b := form["default_branch"]; b != "" {
		change.DefaultBranch = &b
	}
	proj := *c.proj
	visChanged, branchChanged, err := change.Apply(&proj)
	if err != nil {
		return s.settingsPage(c, strings.TrimPrefix(ci.MessageOf(err), "400 Bad request - "), form)
	}
	if visChanged {
		if err := s.allow(c, policy.ChangeVisibility); err != nil {
			return err
		}
	}
	ctx := c.r.Context()
	if branchChanged {
		if err := s.Repos.SetHEAD(ctx, proj.ID, proj.DefaultBranch); err != nil {
			if ci.IsNotFound(err) || ci.KindOf(err) == ci.KindInvalid {
				return s.settingsPage(c, "The default branch must be one of the project's branches.", form)
			}
			return err
		}
	}
	if err := s.Store.UpdateProject(ctx, &proj); err != nil {
		if branchChanged && c.proj.DefaultBranch != "" {
			_ = s.Repos.SetHEAD(ctx, proj.ID, c.proj.DefaultBranch)
		}
		return err
	}
	http.Redirect(c.w, c.r, "/"+proj.FullPath+"/-/settings?saved=1", http.StatusSeeOther)
	return nil
}
