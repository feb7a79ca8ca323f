package ciconfig

import (
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
