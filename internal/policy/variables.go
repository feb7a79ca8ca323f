package policy

import (
	"context"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// variablesLevel is the least level each value of a project's
// ci_pipeline_variables_minimum_override_role admits; no_one_allowed admits
// nobody, not even Owners or administrators.
var variablesLevel = map[ci.VariablesRole]ci.AccessLevel{
	ci.VariablesDeveloper:  ci.AccessDeveloper,
	ci.VariablesMaintainer: ci.AccessMaintainer,
	ci.VariablesOwner:      ci.AccessOwner,
}

// SetPipelineVariables decides whether a caller whose effective level on a
// project is lvl may give variables when it runs a pipeline there, under
// the project's minimum role role ("" is GitLab's default, developer). A
// refusal is KindForbidden and names the setting.
func SetPipelineVariables(lvl ci.AccessLevel, role ci.VariablesRole) error {
	if role == "" {
		role = ci.VariablesDeveloper
	}
	if role == ci.VariablesNoOneAllowed {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: insufficient permissions to set pipeline variables: the project's ci_pipeline_variables_minimum_override_role is no_one_allowed")
	}
	need, ok := variablesLevel[role]
	if !ok || lvl < need {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: insufficient permissions to set pipeline variables: the project's ci_pipeline_variables_minimum_override_role is %s", role)
	}
	return nil
}

// PipelineVariables is SetPipelineVariables for who on proj, who being the
// user the pipeline runs for (a trigger token's owner, a job token's user).
func (p *Policy) PipelineVariables(ctx context.Context, who *auth.Principal, proj *ci.Project) error {
	lvl, err := p.Level(ctx, who, proj)
	if err != nil {
		return err
	}
	return SetPipelineVariables(lvl, proj.VariablesRole)
}
