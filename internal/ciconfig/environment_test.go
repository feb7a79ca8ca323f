package ciconfig

import (
	"errors"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestPlanEnvironment(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		job  string
		want *ci.EnvironmentSpec
	}{
		{"string form", "deploy:\n  script: [make]\n  environment: production\n", "deploy",
			&ci.EnvironmentSpec{Name: "production"}},
		{"every key", `deploy:
  script: [make]
  environment:
    name: staging
    url: https://staging.example.com
    action: start
    on_stop: stop
    auto_stop_in: 1 day
    deployment_tier: staging
stop:
  script: [make stop]
  when: manual
  environment: {name: staging, action: stop}
`, "deploy", &ci.EnvironmentSpec{Name: "staging", URL: "https://staging.example.com", Action: "start",
			OnStop: "stop", AutoStopIn: "1 day", Tier: "staging"}},
		{"name and url expanded with predefined, global and job variables", `variables:
  DOMAIN: example.com
review:
  script: [make]
  variables: {APP: shop}
  environment:
    name: review/$CI_COMMIT_REF_NAME
    url: https://${APP}-$CI_COMMIT_REF_NAME.$DOMAIN$UNKNOWN
`, "review", &ci.EnvironmentSpec{Name: "review/main", URL: "https://shop-main.example.com"}},
		{"rules variables are seen", `deploy:
  script: [make]
  rules:
    - variables: {TARGET: blue}
  environment: prod-$TARGET
`, "deploy", &ci.EnvironmentSpec{Name: "prod-blue"}},
		{"stop action", `stop:
  script: [make]
  when: manual
  environment: {name: production, action: stop}
`, "stop", &ci.EnvironmentSpec{Name: "production", Action: "stop"}},
		{"never stops", "d:\n  script: [x]\n  environment: {name: p, auto_stop_in: never}\n", "d",
			&ci.EnvironmentSpec{Name: "p", AutoStopIn: "never"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := job(t, mustPlan(t, tc.yaml, nil), tc.job)
			assertEqual(t, s.Deploy, tc.want)
			if s.Environment != tc.want.Name {
				t.Errorf("Environment = %q, want %q (variable scopes match the expanded name)", s.Environment, tc.want.Name)
			}
		})
	}
}

func TestPlanEnvironmentInvalid(t *testing.T) {
	cases := []struct {
		name, env, want string
	}{
		{"unknown action", "{name: p, action: deploy}", "jobs:d:environment:action config should be start, prepare, stop, verify, access"},
		{"unknown tier", "{name: p, deployment_tier: prod}", "jobs:d:environment:deployment_tier config must be one of"},
		{"bad duration", "{name: p, auto_stop_in: soon}", "jobs:d:environment:auto_stop_in config should be a duration"},
		{"no name", "{url: https://x}", "jobs:d:environment:name can't be blank"},
		{"unknown key", "{name: p, when: now}", "jobs:d:environment config contains unknown keys: when"},
		{"a list", "[a, b]", "jobs:d:environment config should be a hash or a string"},
		{"name a hash", "{name: {a: b}}", "jobs:d:environment:name config should be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte("d:\n  script: [x]\n  environment: " + tc.env + "\n"), Variables: branchPush()})
			assertInvalid(t, err, tc.want)
		})
	}
}

func TestPlanResourceGroup(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"plain", "d:\n  script: [x]\n  resource_group: production\n", "production"},
		{"expanded", "variables: {REGION: eu}\nd:\n  script: [x]\n  resource_group: deploy-$REGION-$CI_COMMIT_REF_NAME\n", "deploy-eu-main"},
		{"the environment's name", "d:\n  script: [x]\n  environment: review/$CI_COMMIT_REF_NAME\n  resource_group: $CI_ENVIRONMENT_NAME\n", "review/main"},
		{"none", "d:\n  script: [x]\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := job(t, mustPlan(t, tc.yaml, nil), "d").ResourceGroup; got != tc.want {
				t.Errorf("ResourceGroup = %q, want %q", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"''", "[a]", "{a: b}", strings.Repeat("x", 256)} {
		_, err := Plan(Input{Content: []byte("d:\n  script: [x]\n  resource_group: " + bad + "\n"), Variables: branchPush()})
		assertInvalid(t, err, "jobs:d:resource_group config should be")
	}
}

func TestPlanRelease(t *testing.T) {
	y := `release:
  stage: deploy
  script: [echo releasing]
  rules:
    - if: $CI_COMMIT_TAG
  release:
    tag_name: $CI_COMMIT_TAG
    name: Release $CI_COMMIT_TAG
    description: notes
    ref: $CI_COMMIT_SHA
    released_at: '2030-01-02T03:04:05Z'
    tag_message: annotated
    milestones: [m1]
    assets:
      links:
        - name: app.tar.gz
          url: $CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/artifacts/raw/dist/app.tar.gz?job=build
          link_type: package
          filepath: /binaries/app.tar.gz
        - name: docs
          url: https://docs.example.com
          direct_asset_path: /docs
`
	s := job(t, mustPlan(t, y, tagPush("v1.0.0")), "release")
	// Kept as written: the job's variables expand them when it succeeds.
	assertEqual(t, s.Release, &ci.ReleaseSpec{TagName: "$CI_COMMIT_TAG", Name: "Release $CI_COMMIT_TAG", Description: "notes",
		Ref: "$CI_COMMIT_SHA", ReleasedAt: "2030-01-02T03:04:05Z", Links: []ci.ReleaseLinkSpec{
			{Name: "app.tar.gz", URL: "$CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/artifacts/raw/dist/app.tar.gz?job=build",
				LinkType: "package", Filepath: "/binaries/app.tar.gz"},
			{Name: "docs", URL: "https://docs.example.com", Filepath: "/docs"}}})
	for _, tc := range []struct{ release, want string }{
		{"{name: x}", "jobs:r:release:tag_name config can't be blank"},
		{"v1", "jobs:r:release config should be a hash"},
		{"{tag_name: v1, colour: red}", "jobs:r:release config contains unknown keys: colour"},
		{"{tag_name: v1, assets: {links: [{name: a}]}}", "jobs:r:release:assets:links:link config requires name and url"},
		{"{tag_name: v1, assets: {links: [{name: a, url: 'https://x', link_type: video}]}}", "link_type config should be one of other, runbook, image, package"},
		{"{tag_name: v1, assets: {files: []}}", "jobs:r:release:assets config contains unknown keys: files"},
	} {
		_, err := Plan(Input{Content: []byte("r:\n  script: [x]\n  release: " + tc.release + "\n"), Variables: branchPush()})
		assertInvalid(t, err, tc.want)
	}
}

func TestPlanOnStopChecks(t *testing.T) {
	deploy := "deploy:\n  script: [x]\n  environment: {name: review/$CI_COMMIT_REF_NAME, on_stop: stop}\n"
	for _, tc := range []struct{ stop, want string }{
		{"", "deploy job: on_stop job stop is not defined"},
		{"stop:\n  script: [x]\n  when: manual\n", "deploy job: on_stop job stop does not have environment defined"},
		{"stop:\n  script: [x]\n  environment: {name: review/main, action: stop}\n", "deploy job: on_stop job stop have different environment name"},
		{"stop:\n  script: [x]\n  environment: {name: review/$CI_COMMIT_REF_NAME}\n", "deploy job: on_stop job stop needs to have action stop defined"},
	} {
		_, err := Plan(Input{Content: []byte(deploy + tc.stop), Variables: branchPush()})
		assertInvalid(t, err, tc.want)
	}
	mustPlan(t, deploy+"stop:\n  script: [x]\n  when: manual\n  environment: {name: review/$CI_COMMIT_REF_NAME, action: stop}\n", nil)
}

// environment:, release: and release:assets:links name every key that is
// not a string, in the order the keywords are read.
func TestPlanStringFields(t *testing.T) {
	cases := []struct {
		name, job string
		want      []string
	}{
		{"environment", "environment: {name: p, url: [a], on_stop: {x: y}}",
			[]string{"jobs:d:environment:url config should be a string", "jobs:d:environment:on_stop config should be a string"}},
		{"release", "release: {tag_name: [v1], description: d, ref: {a: b}}",
			[]string{"jobs:d:release:tag_name config should be a string", "jobs:d:release:ref config should be a string",
				"jobs:d:release:tag_name config can't be blank"}},
		{"release link", "release: {tag_name: v1, assets: {links: [{name: [a], url: https://x, link_type: {a: b}}]}}",
			[]string{"jobs:d:release:assets:links:link:name config should be a string", "jobs:d:release:assets:links:link:link_type config should be a string"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte("d:\n  script: [x]\n  " + tc.job + "\n"), Variables: branchPush()})
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Plan: %v, want a ConfigError", err)
			}
			assertEqual(t, ce.Errors, tc.want)
		})
	}
}
