package ciconfig

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestPlanNeedsAndDependencies(t *testing.T) {
	const pipeline = `stages: [build, test, deploy]
build:
  stage: build
  parallel: 3
  script: make
lint:
  stage: build
  script: lint
`
	tests := []struct {
		name      string
		extra     string
		job       string
		wantNeeds []ci.Need
		hasNeeds  bool
		wantDeps  []string
		hasDeps   bool
	}{
		{
			name:      "needs strings expand a parallel job to all instances",
			extra:     "test:\n  needs: [build, lint]\n  script: t\n",
			job:       "test",
			wantNeeds: []ci.Need{{Job: "build 1/3", Artifacts: true}, {Job: "build 2/3", Artifacts: true}, {Job: "build 3/3", Artifacts: true}, {Job: "lint", Artifacts: true}},
			hasNeeds:  true,
		},
		{
			name:      "needs hash with artifacts false and a missing optional job dropped",
			extra:     "test:\n  needs:\n    - job: lint\n      artifacts: false\n    - job: docs\n      optional: true\n  script: t\n",
			job:       "test",
			wantNeeds: []ci.Need{{Job: "lint", Artifacts: false}},
			hasNeeds:  true,
		},
		{
			name:      "empty needs starts at once",
			extra:     "test:\n  needs: []\n  script: t\n",
			job:       "test",
			wantNeeds: []ci.Need{},
			hasNeeds:  true,
		},
		{
			name:     "dependencies expand parallel jobs",
			extra:    "deploy:\n  stage: deploy\n  dependencies: [build]\n  script: d\n",
			job:      "deploy",
			wantDeps: []string{"build 1/3", "build 2/3", "build 3/3"},
			hasDeps:  true,
		},
		{
			name:     "empty dependencies fetch nothing",
			extra:    "deploy:\n  stage: deploy\n  dependencies: []\n  script: d\n",
			job:      "deploy",
			wantDeps: []string{},
			hasDeps:  true,
		},
		{
			// fdroidserver's docker job: dependencies: [fdroid build],
			// both in the default stage; GitLab plans it.
			name:     "dependencies on a job in the same stage",
			extra:    "docker:\n  stage: build\n  dependencies: [lint]\n  script: d\n",
			job:      "docker",
			wantDeps: []string{"lint"},
			hasDeps:  true,
		},
		{
			name:      "needs on a job in the same stage",
			extra:     "lint2:\n  stage: build\n  needs: [lint]\n  script: l\n",
			job:       "lint2",
			wantNeeds: []ci.Need{{Job: "lint", Artifacts: true}},
			hasNeeds:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := job(t, mustPlan(t, pipeline+tt.extra, nil), tt.job)
			assertEqual(t, j.Needs, tt.wantNeeds)
			assertEqual(t, j.Dependencies, tt.wantDeps)
			if j.HasNeeds != tt.hasNeeds || j.HasDependencies != tt.hasDeps {
				t.Errorf("HasNeeds=%v HasDependencies=%v, want %v %v", j.HasNeeds, j.HasDependencies, tt.hasNeeds, tt.hasDeps)
			}
		})
	}
}

func TestPlanNeedsErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"undefined need", "test:\n  needs: [biuld]\n  script: t\n", []string{"jobs:test:needs", "undefined need: biuld"}},
		{"need on a later stage", "a:\n  stage: build\n  needs: [b]\n  script: t\nb:\n  stage: deploy\n  script: t\n",
			[]string{"jobs:a:needs", "'a' job needs 'b' job, but 'b' is not in any previous stage"}},
		{"need on a job excluded by rules", "a:\n  script: t\n  needs: [b]\nb:\n  script: t\n  rules: [{when: never}]\n",
			[]string{"jobs:a:needs", "'b' is not in any previous stage"}},
		{"needs cycle in one stage", "a:\n  needs: [b]\n  script: t\nb:\n  needs: [a]\n  script: t\n",
			[]string{"circular dependency detected in `needs`"}},
		{"undefined dependency", "test:\n  dependencies: [nope]\n  script: t\n", []string{"jobs:test:dependencies", "undefined dependency: nope"}},
		{"dependency in a later stage", "a:\n  stage: deploy\n  script: t\nb:\n  dependencies: [a]\n  script: t\n",
			[]string{"jobs:b:dependencies", "a is not defined in current or prior stages"}},
		{"dependency not in needs", "a:\n  stage: build\n  script: t\nc:\n  stage: build\n  script: t\nb:\n  needs: [c]\n  dependencies: [a]\n  script: t\n",
			[]string{"jobs:b:dependencies", "the a should be part of needs"}},
		{"needs hash without job", "a:\n  needs: [{artifacts: false}]\n  script: t\n", []string{"jobs:a:needs:job config should be a string"}},
		{"needs from another project without ref", "a:\n  needs: [{job: b, project: other/p}]\n  script: t\n", []string{"jobs:a:needs:ref config should be a string"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want...)
		})
	}
}

func TestPlanParallel(t *testing.T) {
	t.Run("parallel N names and node indexes", func(t *testing.T) {
		plan := mustPlan(t, "rspec:\n  parallel: 3\n  script: rspec\n", nil)
		assertEqual(t, jobNames(plan), []string{"rspec 1/3", "rspec 2/3", "rspec 3/3"})
		j := job(t, plan, "rspec 2/3")
		if j.NodeIndex != 2 || j.NodeTotal != 3 {
			t.Errorf("node %d/%d, want 2/3", j.NodeIndex, j.NodeTotal)
		}
	})
	t.Run("parallel matrix", func(t *testing.T) {
		plan := mustPlan(t, `deploy:
  variables: {REGION: none}
  parallel:
    matrix:
      - PROVIDER: aws
        REGION: [us-east-1, eu-west-1]
      - PROVIDER: gcp
  script: ./deploy
`, nil)
		assertEqual(t, jobNames(plan), []string{"deploy: [aws, us-east-1]", "deploy: [aws, eu-west-1]", "deploy: [gcp]"})
		j := job(t, plan, "deploy: [aws, eu-west-1]")
		assertEqual(t, j.Variables, []ci.Variable{{Key: "REGION", Value: "eu-west-1"}, {Key: "PROVIDER", Value: "aws"}})
		if j.NodeIndex != 2 || j.NodeTotal != 3 {
			t.Errorf("node %d/%d, want 2/3", j.NodeIndex, j.NodeTotal)
		}
	})
	for _, tt := range []struct{ name, yaml, want string }{
		{"zero", "j:\n  parallel: 0\n  script: t\n", "jobs:j:parallel config must be greater than or equal to 1"},
		{"too many", "j:\n  parallel: 201\n  script: t\n", "jobs:j:parallel config must be greater than or equal to 1 and less than or equal to 200"},
		{"string", "j:\n  parallel: many\n  script: t\n", "jobs:j:parallel config should be an integer or a hash"},
		{"matrix too big", "j:\n  parallel:\n    matrix:\n      - A: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]\n        B: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]\n  script: t\n",
			"jobs:j:parallel:matrix config generates too many jobs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}
