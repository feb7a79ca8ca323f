package ciconfig

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// branchPush is the variables of a push to main, the default branch.
func branchPush() map[string]string {
	return map[string]string{
		"CI_COMMIT_BRANCH":   "main",
		"CI_COMMIT_REF_NAME": "main",
		"CI_DEFAULT_BRANCH":  "main",
		"CI_PIPELINE_SOURCE": "push",
		"CI_PROJECT_PATH":    "group/project",
		"CI_COMMIT_MESSAGE":  "Fix the build\n\nLonger text.",
		"CI_COMMIT_TITLE":    "Fix the build",
	}
}

func tagPush(tag string) map[string]string {
	return map[string]string{
		"CI_COMMIT_TAG":      tag,
		"CI_COMMIT_REF_NAME": tag,
		"CI_DEFAULT_BRANCH":  "main",
		"CI_PIPELINE_SOURCE": "push",
		"CI_PROJECT_PATH":    "group/project",
	}
}

// mustPlan plans yaml for a push to main and fails the test on error.
func mustPlan(tb testing.TB, yaml string, vars map[string]string) *ci.PipelinePlan {
	tb.Helper()
	if vars == nil {
		vars = branchPush()
	}
	plan, err := Plan(Input{Content: []byte(yaml), Variables: vars})
	if err != nil {
		tb.Fatalf("Plan: %v", err)
	}
	return plan
}

// job returns the spec named name from plan.
func job(tb testing.TB, plan *ci.PipelinePlan, name string) ci.JobSpec {
	tb.Helper()
	for _, j := range plan.Jobs {
		if j.Name == name {
			return j
		}
	}
	tb.Fatalf("no job %q in plan; jobs: %v", name, jobNames(plan))
	return ci.JobSpec{}
}

func jobNames(plan *ci.PipelinePlan) []string {
	var out []string
	for _, j := range plan.Jobs {
		out = append(out, j.Name)
	}
	return out
}

// assertEqual fails with both values as JSON when they differ.
func assertEqual(tb testing.TB, got, want any) {
	tb.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		tb.Errorf("mismatch\n got: %s\nwant: %s", g, w)
	}
}

// assertInvalid checks that err is a KindInvalid error whose message
// contains every fragment.
func assertInvalid(tb testing.TB, err error, fragments ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("Plan succeeded, want an error containing %q", fragments)
	}
	if k := ci.KindOf(err); k != ci.KindInvalid {
		tb.Errorf("KindOf = %q, want invalid (err %v)", k, err)
	}
	msg := ci.MessageOf(err)
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			tb.Errorf("message %q does not contain %q", msg, f)
		}
	}
}

// repoFiles is a ReadFile over an in-memory repository.
func repoFiles(files map[string]string) func(string) ([]byte, error) {
	return func(path string) ([]byte, error) {
		if s, ok := files[path]; ok {
			return []byte(s), nil
		}
		return nil, os.ErrNotExist
	}
}

func TestErrorShapes(t *testing.T) {
	_, err := Plan(Input{Content: []byte("build:\n  script: [make]\n  artifacts: {pathz: [x]}\ntest:\n  stage: test\n"), Variables: branchPush()})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %T %v, want *ConfigError", err, err)
	}
	assertEqual(t, ce.Errors, []string{
		"jobs:build:artifacts config contains unknown keys: pathz",
		"jobs:test config should implement a script: or a trigger: keyword",
	})
	assertInvalid(t, err, "jobs:build:artifacts config contains unknown keys: pathz; jobs:test config should implement")
}

// effective returns plan's jobs with the variables each one sees (the
// inherited globals of plan.Spec overlaid with its own) in Variables, as a
// runner receives them.
func effective(plan *ci.PipelinePlan) []ci.JobSpec {
	out := make([]ci.JobSpec, len(plan.Jobs))
	for i, s := range plan.Jobs {
		s.Variables = s.EffectiveVariables(plan.Spec.Variables)
		if len(s.Variables) == 0 {
			s.Variables = nil
		}
		s.LimitInherit, s.InheritVariables = false, nil
		out[i] = s
	}
	return out
}
