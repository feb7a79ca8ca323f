package downstream

import (
	"context"
	"fmt"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// forwarded are the variables bridge b passes to its downstream pipeline
// (as its pipeline variables): with forward:yaml_variables (the default)
// the bridge's YAML variables, global ones it inherits and its own, their
// references to the parent's variables expanded ($CI_PIPELINE_ID becomes
// the parent's id, as GitLab does); with forward:pipeline_variables the
// parent pipeline's own variables.
func (s *Service) forwarded(ctx context.Context, b *ci.Job, parent *ci.Pipeline, proj *ci.Project) ([]ci.Variable, error) {
	t := b.Spec.Trigger
	var out []ci.Variable
	if t.ForwardYAMLVariables {
		spec, err := s.Store.PipelineSpec(ctx, parent.ID)
		if err != nil && !ci.IsNotFound(err) {
			return nil, fmt.Errorf("reading the spec of pipeline %d: %w", parent.ID, err)
		}
		var global []ci.Variable
		var commit *ci.Commit
		if spec != nil {
			global, commit = spec.Variables, spec.Commit
		}
		yaml := b.Spec.EffectiveVariables(global)
		env := s.env(parent, proj, b, commit, yaml)
		for _, v := range yaml {
			if ci.Reserved(v.Key) {
				continue
			}
			if !v.Raw {
				v.Value = ci.ExpandExisting(v.Value, env)
			}
			out = append(out, v)
		}
	}
	if t.ForwardPipelineVariables {
		out = append(out, parent.Variables...)
	}
	return out, nil
}

// env is what a bridge's variables may refer to: the predefined variables
// of bridge b in its pipeline parent (as a job sees them; no runner and no
// job token), the pipeline's variables, then vars.
func (s *Service) env(parent *ci.Pipeline, proj *ci.Project, b *ci.Job, commit *ci.Commit, vars []ci.Variable) map[string]string {
	m := map[string]string{}
	in := ci.Predefined{ServerURL: s.ExternalURL, Project: proj, Pipeline: parent, Commit: commit,
		Job: &ci.JobRun{Job: b, Runner: &ci.Runner{}}}
	for _, v := range ci.PredefinedVariables(in) {
		if v.Key == "CI_JOB_TOKEN" || v.Key == "CI_REPOSITORY_URL" || strings.HasPrefix(v.Key, "CI_RUNNER_") {
			continue
		}
		m[v.Key] = v.Value
	}
	for _, vs := range [][]ci.Variable{vars, parent.Variables} {
		for _, v := range vs {
			if !ci.Reserved(v.Key) {
				m[v.Key] = v.Value
			}
		}
	}
	return m
}
