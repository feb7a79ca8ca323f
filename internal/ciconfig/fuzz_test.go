package ciconfig

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// FuzzPlan checks that Plan never panics or hangs and that every failure is
// a KindInvalid error.
func FuzzPlan(f *testing.F) {
	seeds := []string{
		"build:\n  script: make\n",
		"stages: [a, b]\nx:\n  stage: a\n  script: [echo]\ny:\n  stage: b\n  needs: [x]\n  script: t\n",
		".t: &t\n  image: alpine\nj:\n  <<: *t\n  extends: .t\n  parallel: 3\n  script: t\n",
		"workflow:\n  rules:\n    - if: '$CI_COMMIT_BRANCH == \"main\" && ($A =~ /x/i || $B != null)'\nj:\n  script: t\n",
		"j:\n  only: [/^rel/, tags]\n  except: {variables: [$X]}\n  script: t\n",
		"include: a.yml\nj:\n  script: !reference [.x, script]\n",
		"a: &a [x, x]\nb: &b [*a, *a]\nj:\n  script: *b\n",
		"j:\n  parallel: {matrix: [{A: [1, 2], B: x}]}\n  artifacts: {reports: {junit: r.xml}}\n  retry: {max: 2, when: always}\n  timeout: 1h 5m\n  script: t\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	files := repoFiles(map[string]string{"a.yml": ".x:\n  script: [a]\ninclude: a.yml\n"})
	f.Fuzz(func(t *testing.T, content []byte) {
		plan, err := Plan(Input{Content: content, Variables: branchPush(), ReadFile: files})
		if err != nil {
			if ci.KindOf(err) != ci.KindInvalid {
				t.Fatalf("error of kind %q: %v", ci.KindOf(err), err)
			}
			if ci.MessageOf(err) == "" {
				t.Fatalf("error without message: %v", err)
			}
			return
		}
		if len(plan.Jobs) == 0 {
			t.Fatalf("plan without jobs and without ErrNoJobs")
		}
		if plan.Stages[0] != ".pre" || plan.Stages[len(plan.Stages)-1] != ".post" {
			t.Fatalf("stages %v", plan.Stages)
		}
		stages, names := map[string]bool{}, map[string]bool{}
		for _, st := range plan.Stages {
			stages[st] = true
		}
		for _, j := range plan.Jobs {
			if j.When == "" || j.Name == "" || len(j.Script) == 0 {
				t.Fatalf("incomplete job %+v", j)
			}
			if !stages[j.Stage] {
				t.Fatalf("job %q in stage %q, which is not among %v", j.Name, j.Stage, plan.Stages)
			}
			if names[j.Name] {
				t.Fatalf("job %q planned twice", j.Name)
			}
			names[j.Name] = true
		}
		for _, j := range plan.Jobs {
			for _, n := range j.Needs {
				if !names[n.Job] {
					t.Fatalf("job %q needs %q, which is not in the plan", j.Name, n.Job)
				}
			}
			for _, d := range j.Dependencies {
				if !names[d] {
					t.Fatalf("job %q depends on %q, which is not in the plan", j.Name, d)
				}
			}
		}
	})
}
