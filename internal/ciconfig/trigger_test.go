package ciconfig

import (
	"reflect"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// Trigger jobs as real projects write them: GNOME's and freedesktop's
// generated child pipelines, Kitware's per-platform local children, and
// multi-project deploy triggers.
func TestPlanTrigger(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		job  string
		want ci.TriggerSpec
	}{
		{"multi-project shorthand", `
build:
  script: make
deploy:
  stage: deploy
  trigger: my/deployment
`, "deploy", ci.TriggerSpec{Project: "my/deployment", ForwardYAMLVariables: true}},
		{"multi-project with branch and depend", `
build:
  script: make
downstream:
  stage: deploy
  variables:
    UPSTREAM_SHA: $CI_COMMIT_SHA
  trigger:
    project: group/docs-site
    branch: stable
    strategy: depend
`, "downstream", ci.TriggerSpec{Project: "group/docs-site", Branch: "stable", Depend: true, ForwardYAMLVariables: true}},
		{"local child as a string", `
stages: [build, test]
windows:
  stage: test
  trigger:
    include: .gitlab/ci/windows.yml
`, "windows", ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: ".gitlab/ci/windows.yml"}}, ForwardYAMLVariables: true}},
		{"several local children, strategy depend", `
linux:
  trigger:
    include:
      - local: .gitlab/ci/linux.yml
      - .gitlab/ci/common.yml
    strategy: depend
`, "linux", ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: ".gitlab/ci/linux.yml"}, {Local: ".gitlab/ci/common.yml"}}, Depend: true, ForwardYAMLVariables: true}},
		{"project file child", `
lint:
  trigger:
    include:
      - project: templates/ci
        ref: v2.1
        file: /child/lint.yml
`, "lint", ci.TriggerSpec{Include: []ci.TriggerInclude{{Project: "templates/ci", Ref: "v2.1", File: "/child/lint.yml"}}, ForwardYAMLVariables: true}},
		{"generated child from an artifact", `
stages: [generate, run]
generate-config:
  stage: generate
  script: ./gen.sh > generated-config.yml
  artifacts:
    paths: [generated-config.yml]
child-pipeline:
  stage: run
  trigger:
    include:
      - artifact: generated-config.yml
        job: generate-config
    strategy: depend
`, "child-pipeline", ci.TriggerSpec{Include: []ci.TriggerInclude{{Artifact: "generated-config.yml", Job: "generate-config"}}, Depend: true, ForwardYAMLVariables: true}},
		{"artifact job in the same stage through needs", `
gen:
  script: ./gen.sh
child:
  needs: [gen]
  trigger:
    include:
      - artifact: child.yml
        job: gen
`, "child", ci.TriggerSpec{Include: []ci.TriggerInclude{{Artifact: "child.yml", Job: "gen"}}, ForwardYAMLVariables: true}},
		{"forward", `
child:
  trigger:
    include: child.yml
    forward:
      yaml_variables: false
      pipeline_variables: true
`, "child", ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "child.yml"}}, ForwardPipelineVariables: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := job(t, mustPlan(t, tt.yaml, nil), tt.job)
			if j.Trigger == nil {
				t.Fatalf("job %s has no trigger", tt.job)
			}
			if !reflect.DeepEqual(*j.Trigger, tt.want) {
				t.Errorf("trigger = %+v, want %+v", *j.Trigger, tt.want)
			}
			if len(j.Script) != 0 || j.Image != nil {
				t.Errorf("bridge got script %v / image %v", j.Script, j.Image)
			}
		})
	}
}

// A trigger job takes its variables, needs and rules like any job, but not
// default: (image, before_script).
func TestPlanTriggerJobKeywords(t *testing.T) {
	y := `
default:
  image: alpine
  before_script: [echo hi]
variables:
  GLOBAL: g
build:
  script: make
child:
  stage: deploy
  needs: [build]
  variables:
    PARENT_PIPELINE_ID: $CI_PIPELINE_ID
  rules:
    - if: $CI_COMMIT_BRANCH == "main"
  trigger:
    include: child.yml
`
	j := job(t, mustPlan(t, y, nil), "child")
	if j.Image != nil || len(j.BeforeScript) != 0 {
		t.Errorf("default: applied to a bridge: image %v before_script %v", j.Image, j.BeforeScript)
	}
	assertEqual(t, j.Variables, []ci.Variable{{Key: "PARENT_PIPELINE_ID", Value: "$CI_PIPELINE_ID"}})
	assertEqual(t, j.Needs, []ci.Need{{Job: "build", Artifacts: true}})
	if got := jobNames(mustPlan(t, y, tagPush("v1"))); !reflect.DeepEqual(got, []string{"build"}) {
		t.Errorf("on a tag the rules leave %v, want [build]", got)
	}
}

func TestPlanTriggerInvalid(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"script and trigger", "j:\n  script: t\n  trigger: a/b\n", "jobs:j config contains unknown keys: script"},
		{"image on a bridge", "j:\n  image: alpine\n  trigger: a/b\n", "jobs:j config contains unknown keys: image"},
		{"blank", "j:\n  trigger: ''\n", "jobs:j:trigger config can't be blank"},
		{"list", "j:\n  trigger: [a/b]\n", "jobs:j:trigger config should be a hash or a string"},
		{"both project and include", "j:\n  trigger:\n    project: a/b\n    include: c.yml\n", "must specify either project or include, not both"},
		{"neither", "j:\n  trigger:\n    strategy: depend\n", "jobs:j:trigger config must specify project or include"},
		{"unknown key", "j:\n  trigger:\n    project: a/b\n    mirror: true\n", "jobs:j:trigger config contains unknown keys: mirror"},
		{"branch without project", "j:\n  trigger:\n    include: c.yml\n    branch: main\n", "jobs:j:trigger:branch config is only valid with project"},
		{"bad strategy", "j:\n  trigger:\n    project: a/b\n    strategy: wait\n", "jobs:j:trigger:strategy config should be depend"},
		{"forward not a hash", "j:\n  trigger:\n    project: a/b\n    forward: yes\n", "jobs:j:trigger:forward config should be a hash"},
		{"forward unknown", "j:\n  trigger:\n    project: a/b\n    forward: {secrets: true}\n", "jobs:j:trigger:forward config contains unknown keys: secrets"},
		{"forward not bool", "j:\n  trigger:\n    project: a/b\n    forward: {yaml_variables: maybe}\n", "jobs:j:trigger:forward:yaml_variables config should be a boolean value"},
		{"four includes", "j:\n  trigger:\n    include: [a.yml, b.yml, c.yml, d.yml]\n", "jobs:j:trigger:include config must include at most 3 files"},
		{"empty include", "j:\n  trigger:\n    include: []\n", "jobs:j:trigger:include config can't be blank"},
		{"not yaml", "j:\n  trigger:\n    include: child.txt\n", "should be a YAML file (.yml or .yaml): child.txt"},
		{"artifact without job", "j:\n  trigger:\n    include:\n      - artifact: c.yml\n", "must specify the job where to fetch the artifact from"},
		{"project without file", "j:\n  trigger:\n    include:\n      - project: a/b\n", "must specify the file where to fetch the config from"},
		{"remote include", "j:\n  trigger:\n    include:\n      - remote: https://example.com/c.yml\n", "only local, project and artifact includes are supported"},
		{"artifact job undefined", "j:\n  trigger:\n    include:\n      - artifact: c.yml\n        job: gen\n", "jobs:j:trigger:include: job 'gen' must be one job of a previous stage or in needs"},
		{"artifact job in a later stage", "j:\n  stage: build\n  trigger:\n    include:\n      - artifact: c.yml\n        job: gen\ngen:\n  stage: test\n  script: g\n", "job 'gen' must be one job of a previous stage or in needs"},
		{"artifact job in the same stage without needs", "gen:\n  script: g\nj:\n  trigger:\n    include:\n      - artifact: c.yml\n        job: gen\n", "job 'gen' must be one job of a previous stage or in needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}

// A child fetching its parent's artifacts (GitLab's needs:pipeline:job):
// not a scheduling need, so a job of the child with the same name as the
// parent's is neither waited for nor a cycle.
func TestPlanNeedsPipeline(t *testing.T) {
	y := `
build:
  script: make
test:
  needs:
    - pipeline: $PARENT_PIPELINE_ID
      job: build
    - job: build
      artifacts: false
  script: ./test.sh
lint:
  needs:
    - pipeline: $PARENT_PIPELINE_ID
      job: lint
      artifacts: true
  script: ./lint.sh
`
	plan := mustPlan(t, y, nil)
	assertEqual(t, job(t, plan, "test").Needs, []ci.Need{{Job: "build", Artifacts: true, Pipeline: "$PARENT_PIPELINE_ID"}, {Job: "build"}})
	assertEqual(t, job(t, plan, "lint").Needs, []ci.Need{{Job: "lint", Artifacts: true, Pipeline: "$PARENT_PIPELINE_ID"}})

	// needs:project as GitLab's docs write it, beside a local need.
	y = `
build:
  script: make
package:
  stage: deploy
  needs:
    - project: group/libfoo
      job: build-lib
      ref: $CI_COMMIT_REF_NAME
      artifacts: true
    - build
  script: ./package.sh
`
	assertEqual(t, job(t, mustPlan(t, y, nil), "package").Needs, []ci.Need{
		{Job: "build-lib", Artifacts: true, Project: "group/libfoo", Ref: "$CI_COMMIT_REF_NAME"}, {Job: "build", Artifacts: true}})

	for _, tt := range []struct{ name, yaml, want string }{
		{"pipeline without job", "t:\n  script: x\n  needs:\n    - pipeline: $PARENT_PIPELINE_ID\n", "jobs:t:needs:job config should be a string"},
		{"pipeline not a string", "t:\n  script: x\n  needs:\n    - pipeline: [1]\n      job: b\n", "jobs:t:needs:pipeline config should be a string"},
		{"pipeline with parallel", "t:\n  script: x\n  needs:\n    - pipeline: $P\n      job: b\n      parallel: {matrix: [{A: x}]}\n", "a needs:pipeline entry takes only job, pipeline and artifacts"},
		{"project without ref", "t:\n  script: x\n  needs:\n    - project: a/b\n      job: b\n", "jobs:t:needs:ref config should be a string"},
		{"project with pipeline", "t:\n  script: x\n  needs:\n    - project: a/b\n      job: b\n      ref: main\n      pipeline: $P\n", "a needs:project entry takes only project, job, ref and artifacts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}
