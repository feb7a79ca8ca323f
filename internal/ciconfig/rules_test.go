package ciconfig

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/batonci/baton/internal/ci"
)

func TestPlanRules(t *testing.T) {
	const yaml = `variables:
  DEPLOY_TARGET: staging
build:
  stage: build
  script: make
  rules:
    - if: $CI_COMMIT_MESSAGE =~ /\[skip build\]/
      when: never
    - when: on_success
docs:
  script: mkdocs build
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      changes: [docs/**/*]
deploy:
  stage: deploy
  script: ./deploy $DEPLOY_TARGET
  rules:
    - if: $CI_COMMIT_TAG =~ /^v\d+/
      variables: {DEPLOY_TARGET: production}
    - if: $CI_COMMIT_BRANCH == "main" && $DEPLOY_TARGET == "staging"
      when: manual
    - if: $CI_PIPELINE_SOURCE == "web"
      when: manual
      allow_failure: true
flaky:
  script: ./flaky
  rules:
    - if: '$CI_PIPELINE_SOURCE == "schedule"'
      allow_failure: true
    - if: $CI_COMMIT_BRANCH
`
	tests := []struct {
		name string
		vars map[string]string
		want []ci.JobSpec
	}{
		{
			name: "push to main",
			vars: branchPush(),
			want: []ci.JobSpec{
				{Name: "build", Stage: "build", When: "on_success", Script: []string{"make"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
				{Name: "docs", Stage: "test", When: "on_success", Script: []string{"mkdocs build"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
				{Name: "deploy", Stage: "deploy", When: "manual", Script: []string{"./deploy $DEPLOY_TARGET"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
				{Name: "flaky", Stage: "test", When: "on_success", Script: []string{"./flaky"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
			},
		},
		{
			name: "tag with rule variables",
			vars: tagPush("v1.4.0"),
			want: []ci.JobSpec{
				{Name: "build", Stage: "build", When: "on_success", Script: []string{"make"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
				{Name: "deploy", Stage: "deploy", When: "on_success", Script: []string{"./deploy $DEPLOY_TARGET"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "production"}}},
			},
		},
		{
			name: "skip build by commit message, schedule on feature branch",
			vars: map[string]string{"CI_COMMIT_BRANCH": "feature/x", "CI_COMMIT_REF_NAME": "feature/x", "CI_DEFAULT_BRANCH": "main",
				"CI_PIPELINE_SOURCE": "schedule", "CI_COMMIT_MESSAGE": "wip [skip build]"},
			want: []ci.JobSpec{
				{Name: "flaky", Stage: "test", When: "on_success", AllowFailure: true, Script: []string{"./flaky"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
			},
		},
		{
			name: "pipeline variable wins over the file's variable in rules",
			vars: func() map[string]string { v := branchPush(); v["DEPLOY_TARGET"] = "qa"; return v }(),
			want: []ci.JobSpec{
				{Name: "build", Stage: "build", When: "on_success", Script: []string{"make"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
				{Name: "docs", Stage: "test", When: "on_success", Script: []string{"mkdocs build"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
				{Name: "flaky", Stage: "test", When: "on_success", Script: []string{"./flaky"}, Variables: []ci.Variable{{Key: "DEPLOY_TARGET", Value: "staging"}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertEqual(t, effective(mustPlan(t, yaml, tt.vars)), tt.want)
		})
	}
}

func TestPlanRulesUseJobVariablesAndExists(t *testing.T) {
	yaml := `a:
  variables: {FLAVOR: full}
  script: t
  rules:
    - if: $FLAVOR == "full"
b:
  script: t
  rules:
    - exists: [go.mod]
c:
  script: t
  rules:
    - exists: [Cargo.toml]
`
	plan, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(), ReadFile: repoFiles(map[string]string{"go.mod": "module x"})})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, jobNames(plan), []string{"a", "b"})
}

func TestPlanOnlyExcept(t *testing.T) {
	const yaml = `everywhere:
  script: t
main-only:
  only: [main]
  script: t
release:
  only: [/^release-.*$/, tags]
  script: t
not-main:
  except: [main]
  script: t
api:
  only: [api, web, triggers]
  script: t
mr:
  only: [merge_requests]
  script: t
branches:
  only:
    refs: [branches]
    variables: [$DEPLOY == "yes"]
  script: t
project:
  only: [main@group/project]
  script: t
other-project:
  only: [main@other/project]
  script: t
# GNOME/pango's macos job: a keyword scoped to projects.
upstream-branches:
  only: ["branches@group/project", "branches@someone/fork"]
  script: t
fork-branches:
  only: [branches@someone/fork]
  script: t
upstream-tags:
  only: [tags@group/project]
  script: t
not-upstream-tags:
  except: [tags@group/project]
  script: t
`
	feature := map[string]string{"CI_COMMIT_BRANCH": "release-1.0", "CI_COMMIT_REF_NAME": "release-1.0", "CI_PIPELINE_SOURCE": "push", "DEPLOY": "yes"}
	api := branchPush()
	api["CI_PIPELINE_SOURCE"] = "api"
	mr := map[string]string{"CI_COMMIT_REF_NAME": "feature", "CI_PIPELINE_SOURCE": "merge_request_event"}
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"push to main", branchPush(), []string{"everywhere", "main-only", "project", "upstream-branches", "not-upstream-tags"}},
		{"release branch", feature, []string{"everywhere", "release", "not-main", "branches", "not-upstream-tags"}},
		{"tag", tagPush("v1.0"), []string{"everywhere", "release", "not-main", "upstream-tags"}},
		{"api on main", api, []string{"everywhere", "main-only", "api", "project", "upstream-branches", "not-upstream-tags"}},
		{"merge request", mr, []string{"mr"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertEqual(t, jobNames(mustPlan(t, yaml, tt.vars)), tt.want)
		})
	}
}

func TestPlanWorkflow(t *testing.T) {
	const yaml = `variables:
  ENV: dev
workflow:
  rules:
    - if: $CI_COMMIT_TITLE =~ /-draft$/
      when: never
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      variables:
        ENV: prod
    - if: $CI_COMMIT_TAG
deploy:
  script: ./deploy
  rules:
    - if: $ENV == "prod"
test:
  script: ./test
`
	t.Run("main gets workflow variables in jobs and rules", func(t *testing.T) {
		plan := mustPlan(t, yaml, nil)
		assertEqual(t, effective(plan), []ci.JobSpec{
			{Name: "deploy", Stage: "test", When: "on_success", Script: []string{"./deploy"}, Variables: []ci.Variable{{Key: "ENV", Value: "prod"}}},
			{Name: "test", Stage: "test", When: "on_success", Script: []string{"./test"}, Variables: []ci.Variable{{Key: "ENV", Value: "prod"}}},
		})
	})
	t.Run("tag runs without workflow variables", func(t *testing.T) {
		plan := mustPlan(t, yaml, tagPush("v2"))
		assertEqual(t, jobNames(plan), []string{"test"})
	})
	for _, tt := range []struct {
		name string
		vars map[string]string
	}{
		{"feature branch matches no rule", map[string]string{"CI_COMMIT_BRANCH": "feature", "CI_DEFAULT_BRANCH": "main", "CI_PIPELINE_SOURCE": "push"}},
		{"draft title hits when never", map[string]string{"CI_COMMIT_BRANCH": "main", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_TITLE": "wip-draft"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(yaml), Variables: tt.vars})
			if !errors.Is(err, ErrFilteredByWorkflow) {
				t.Fatalf("err = %v, want ErrFilteredByWorkflow", err)
			}
			assertInvalid(t, err, "Pipeline filtered out by workflow rules.")
		})
	}
}

func TestPlanNoJobs(t *testing.T) {
	for _, tt := range []struct{ name, yaml string }{
		{"rules exclude every job", "a:\n  script: t\n  rules:\n    - if: $CI_COMMIT_TAG\n"},
		{"only tags on a branch", "a:\n  script: t\n  only: [tags]\n"},
		{"only .pre and .post jobs", "a:\n  stage: .pre\n  script: t\nb:\n  stage: .post\n  script: t\n"},
		{"only hidden jobs", ".a:\n  script: t\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			if !errors.Is(err, ErrNoJobs) {
				t.Fatalf("err = %v, want ErrNoJobs", err)
			}
			assertInvalid(t, err, "Pipeline will not run for the selected trigger.")
		})
	}
}

// TestPlanWorkflowName: workflow:name becomes the plan's Name, with
// variables expanded after workflow:rules set theirs.
func TestPlanWorkflowName(t *testing.T) {
	for _, tt := range []struct {
		name, yaml, want string
	}{
		{"plain", "workflow:\n  name: nightly\nj:\n  script: t\n", "nightly"},
		{"predefined variables", "workflow:\n  name: 'Build $CI_COMMIT_BRANCH (${CI_PIPELINE_SOURCE})'\nj:\n  script: t\n", "Build main (push)"},
		{"rule variables", "workflow:\n  name: '$KIND pipeline'\n  rules:\n    - if: $CI_COMMIT_BRANCH\n      variables:\n        KIND: branch\nj:\n  script: t\n", "branch pipeline"},
		{"unknown variable is empty", "workflow:\n  name: 'x${NOPE}y'\nj:\n  script: t\n", "xy"},
		{"none", "j:\n  script: t\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := mustPlan(t, tt.yaml, nil).Name; got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("not a string", func(t *testing.T) {
		_, err := Plan(Input{Content: []byte("workflow:\n  name: [a]\nj:\n  script: t\n"), Variables: branchPush()})
		assertInvalid(t, err, "workflow name should be a string")
	})
	t.Run("too long", func(t *testing.T) {
		_, err := Plan(Input{Content: []byte("workflow:\n  name: " + strings.Repeat("n", 256) + "\nj:\n  script: t\n"), Variables: branchPush()})
		assertInvalid(t, err, "maximum is 255")
	})
	t.Run("expansion is cut to the limit", func(t *testing.T) {
		vars := branchPush()
		vars["LONG"] = strings.Repeat("é", 200)
		plan, err := Plan(Input{Content: []byte("workflow:\n  name: $LONG\nj:\n  script: t\n"), Variables: vars})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Name) > 255 || !utf8.ValidString(plan.Name) {
			t.Errorf("Name has %d bytes (valid UTF-8: %v), want at most 255", len(plan.Name), utf8.ValidString(plan.Name))
		}
	})
}
