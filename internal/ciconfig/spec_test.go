package ciconfig

import (
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// Global variables belong to the pipeline, not to each job: a big global
// variable times parallel: 200 must not become 200 copies in the plan.
func TestPlanGlobalVariablesLiveInPipelineSpec(t *testing.T) {
	big := strings.Repeat("x", 4096)
	yaml := `variables:
  BIG: ` + big + `
  SHARED: global
workflow:
  rules:
    - if: $CI_COMMIT_BRANCH
      variables:
        FROM_WORKFLOW: "yes"
test:
  parallel: 200
  variables:
    SHARED: job
  script: ./test
only_shared:
  inherit:
    variables: [SHARED]
  script: ls
none:
  inherit:
    variables: false
  script: ls
`
	plan := mustPlan(t, yaml, nil)
	assertEqual(t, plan.Spec.Variables, []ci.Variable{
		{Key: "BIG", Value: big}, {Key: "SHARED", Value: "global"}, {Key: "FROM_WORKFLOW", Value: "yes"},
	})
	if len(plan.Jobs) != 202 {
		t.Fatalf("jobs = %d, want 202", len(plan.Jobs))
	}
	for _, s := range plan.Jobs {
		for _, v := range s.Variables {
			if v.Key == "BIG" {
				t.Fatalf("job %s carries the global variable BIG", s.Name)
			}
		}
	}
	test := job(t, plan, "test 7/200")
	assertEqual(t, test.Variables, []ci.Variable{{Key: "SHARED", Value: "job"}})
	assertEqual(t, test.EffectiveVariables(plan.Spec.Variables), []ci.Variable{
		{Key: "BIG", Value: big}, {Key: "SHARED", Value: "job"}, {Key: "FROM_WORKFLOW", Value: "yes"},
	})
	shared := job(t, plan, "only_shared")
	assertEqual(t, shared.EffectiveVariables(plan.Spec.Variables), []ci.Variable{{Key: "SHARED", Value: "global"}})
	none := job(t, plan, "none")
	assertEqual(t, len(none.EffectiveVariables(plan.Spec.Variables)), 0)
}
