package ciconfig

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// !reference is resolved after extends, and references of references are
// flattened wherever GitLab flattens (rules, needs, scripts).
func TestPlanReferenceAfterExtends(t *testing.T) {
	y := `.base-rules:
  rules:
    - if: $CI_COMMIT_TAG
      when: never
.mr-rules:
  rules:
    - !reference [.base-rules, rules]
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
.push-rules:
  rules:
    - !reference [.mr-rules, rules]
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
.setup:
  before_script:
    - echo setup
.go:
  extends: .setup
  image: golang:1.25
  script:
    - go build ./...
build:
  extends: .go
  rules: !reference [.push-rules, rules]
  script:
    - !reference [.go, before_script]
    - !reference [.go, script]
    - go vet ./...
test:
  image: !reference [.go, image]
  needs:
    - !reference [.needs-build]
  script: go test ./...
.needs-build:
  - [build]
`
	plan := mustPlan(t, y, nil)
	assertEqual(t, jobNames(plan), []string{"build", "test"})
	b := job(t, plan, "build")
	assertEqual(t, b.Script, []string{"echo setup", "go build ./...", "go vet ./..."})
	assertEqual(t, b.BeforeScript, []string{"echo setup"})
	assertEqual(t, job(t, plan, "test").Image.Name, "golang:1.25")
	assertEqual(t, job(t, plan, "test").Needs, []ci.Need{{Job: "build", Artifacts: true}})

	// The same file on a tag: the rule three references deep says never.
	_, err := Plan(Input{Content: []byte(y), Variables: tagPush("v1.0.0")})
	if err == nil {
		t.Fatal("planned on a tag; the nested never rule should drop build and fail test's need")
	}
}

func TestPlanEmptyVariableValues(t *testing.T) {
	y := "variables:\n  EMPTY:\n  SET: x\njob:\n  variables:\n    JOB_EMPTY:\n  script: env\n  rules:\n    - if: $EMPTY == \"\" && $JOB_EMPTY == \"\"\n"
	plan := mustPlan(t, y, nil)
	assertEqual(t, plan.Spec.Variables, []ci.Variable{{Key: "EMPTY"}, {Key: "SET", Value: "x"}})
	assertEqual(t, job(t, plan, "job").Variables, []ci.Variable{{Key: "JOB_EMPTY"}})
}

func TestPlanRetryWhenValues(t *testing.T) {
	for _, reason := range []string{"always", "unknown_failure", "script_failure", "api_failure",
		"stuck_or_timeout_failure", "runner_system_failure", "runner_unsupported", "stale_schedule",
		"job_execution_timeout", "archived_failure", "unmet_prerequisites", "scheduler_failure",
		"data_integrity_failure", "missing_dependency_failure", "stuck_pending_with_matching_runners",
		"stuck_pending_no_matching_runners", "no_updates_running", "no_updates_canceling",
		"server_timeout_running", "server_timeout_canceling", "runner_interrupted", "runner_external_dependency_failure"} {
		t.Run(reason, func(t *testing.T) {
			mustPlan(t, "job:\n  script: x\n  retry:\n    max: 2\n    when: ["+reason+"]\n", nil)
		})
	}
	_, err := Plan(Input{Content: []byte("job:\n  script: x\n  retry:\n    max: 1\n    when: cosmic_ray\n"), Variables: branchPush()})
	assertInvalid(t, err, "jobs:job:retry:when contains unknown values: cosmic_ray")
}

// The right side of =~ may be a variable: a /regex/ value is a pattern,
// any other value is scanned for the left side's text (GitLab 15+).
func TestPlanMatchVariablePattern(t *testing.T) {
	tests := []struct {
		pattern string
		want    bool
	}{
		{"/^ma/", true},
		{"/^MA/i", true},
		{"/^release/", false},
		{"main|develop", true},
		{"develop", false},
		{"/unterminated", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			y := "job:\n  script: x\n  rules:\n    - if: $CI_COMMIT_BRANCH =~ $PATTERN\nother:\n  script: y\n  rules:\n    - if: $CI_COMMIT_BRANCH !~ $PATTERN\n"
			vars := branchPush()
			vars["PATTERN"] = tt.pattern
			plan := mustPlan(t, y, vars)
			want := []string{"other"}
			if tt.want {
				want = []string{"job"}
			}
			assertEqual(t, jobNames(plan), want)
		})
	}
}

func TestPlanNeedsParallelMatrix(t *testing.T) {
	y := `stages: [build, deploy]
build:
  stage: build
  script: make
  parallel:
    matrix:
      - PROVIDER: [aws, gcp]
        STACK: [monitoring, app]
deploy:
  stage: deploy
  script: deploy
  needs:
    - job: build
      parallel:
        matrix:
          - PROVIDER: aws
            STACK: [monitoring, app]
    - job: build
      artifacts: false
      parallel:
        matrix:
          - PROVIDER: gcp
            STACK: app
`
	plan := mustPlan(t, y, nil)
	assertEqual(t, job(t, plan, "deploy").Needs, []ci.Need{
		{Job: "build: [aws, monitoring]", Artifacts: true},
		{Job: "build: [aws, app]", Artifacts: true},
		{Job: "build: [gcp, app]", Artifacts: false},
	})
	bad := "build:\n  script: x\n  parallel:\n    matrix:\n      - A: [x]\nd:\n  stage: deploy\n  script: d\n  needs:\n    - job: build\n      parallel:\n        matrix:\n          - A: y\n"
	_, err := Plan(Input{Content: []byte(bad), Variables: branchPush()})
	assertInvalid(t, err, "undefined need: build: [y]")
}

// A keyword Baton cannot run (run:) is refused only when the pipeline
// would run the job, as a tag-only job in GNOME's release-service
// component.
func TestPlanUnsupportedKeywordOnlyWhenSelected(t *testing.T) {
	y := "build:\n  script: make\npublish:\n  stage: deploy\n  run:\n    - name: hello\n      script: echo hi\n  rules:\n    - if: $CI_COMMIT_TAG\n"
	assertEqual(t, jobNames(mustPlan(t, y, nil)), []string{"build"})
	_, err := Plan(Input{Content: []byte(y), Variables: tagPush("v1.0.0")})
	assertInvalid(t, err, "jobs:publish:run is not supported by Baton")
}
