package ciconfig

import (
	"strings"
	"testing"
)

func TestPlanValidationErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"empty file", "", "Please provide content of .gitlab-ci.yml"},
		{"not a hash", "- a\n- b\n", "Invalid configuration format"},
		{"bad yaml", "build:\n  script: [\n", "invalid YAML in .gitlab-ci.yml"},
		{"no script", "test:\n  stage: test\n", "jobs:test config should implement a script: or a trigger: keyword"},
		{"blank script", "test:\n  script: []\n", "jobs:test:script config can't be blank"},
		{"script of hashes", "test:\n  script: [{echo: hi}]\n", "jobs:test:script config should be a string or a nested array of strings"},
		{"unknown job key", "build:\n  script: make\n  scirpt: make\n", "jobs:build config contains unknown keys: scirpt"},
		{"unknown artifacts key", "build:\n  script: make\n  artifacts:\n    pathz: [bin/]\n", "jobs:build:artifacts config contains unknown keys: pathz"},
		{"unknown report", "build:\n  script: make\n  artifacts:\n    reports: {junitt: x.xml}\n", "jobs:build:artifacts:reports config contains unknown keys: junitt"},
		{"artifacts when", "build:\n  script: make\n  artifacts: {when: sometimes}\n", "jobs:build:artifacts:when config should be on_success, on_failure or always"},
		{"expire_in", "build:\n  script: make\n  artifacts: {expire_in: soon}\n", "jobs:build:artifacts:expire_in config should be a duration"},
		{"unknown stage", "build:\n  stage: compile\n  script: make\n", "jobs:build:stage parameter should be .pre, build, test, deploy, .post"},
		{"non-hash top-level key", "build: make\n", "root config contains unknown keys: build"},
		{"delayed without start_in", "j:\n  when: delayed\n  script: t\n", "jobs:j:start_in config can't be blank"},
		{"delayed over a week", "j:\n  when: delayed\n  start_in: 8 days\n  script: t\n", "jobs:j:start_in config should not exceed the limit"},
		{"start_in without delayed", "j:\n  start_in: 1 minute\n  script: t\n", "jobs:j:start_in config must be blank"},
		{"rule start_in without delayed", "j:\n  rules: [{start_in: 1 minute}]\n  script: t\n", "start_in must be blank when not delayed"},
		{"rule delayed bad duration", "j:\n  rules: [{when: delayed, start_in: soon}]\n  script: t\n", "start_in config should be a duration"},
		{"when unknown", "j:\n  when: sometimes\n  script: t\n", "jobs:j:when config should be one of"},
		{"allow_failure string", "j:\n  allow_failure: maybe\n  script: t\n", "jobs:j:allow_failure config should be a boolean value"},
		{"timeout garbage", "j:\n  timeout: forever\n  script: t\n", "jobs:j:timeout config should be a duration"},
		{"coverage not compiling", "j:\n  coverage: '/total: (\\d+%/'\n  script: t\n", "jobs:j:coverage config should be a regular expression"},
		{"coverage a list", "j:\n  coverage: [a]\n  script: t\n", "jobs:j:coverage config should be a regular expression"},
		{"retry too big", "j:\n  retry: 3\n  script: t\n", "jobs:j:retry config should be an integer between 0 and 2"},
		{"retry max too big", "j:\n  retry: {max: 5}\n  script: t\n", "jobs:j:retry config should be an integer between 0 and 2"},
		{"retry unknown reason", "j:\n  retry: {max: 1, when: [bad_luck]}\n  script: t\n", "jobs:j:retry:when contains unknown values: bad_luck"},
		{"retry unknown key", "j:\n  retry: {max: 1, whenn: always}\n  script: t\n", "jobs:j:retry config contains unknown keys: whenn"},
		{"tags not strings", "j:\n  tags: [{a: b}]\n  script: t\n", "jobs:j:tags config should be an array of strings"},
		{"image hash without name", "j:\n  image: {entrypoint: [sh]}\n  script: t\n", "jobs:j:image:name config should be a string"},
		{"image unknown key", "j:\n  image: {name: a, tag: b}\n  script: t\n", "jobs:j:image config contains unknown keys: tag"},
		{"variables list", "j:\n  variables: [A, B]\n  script: t\n", "jobs:j:variables config should be a hash of key value pairs"},
		{"global variables unknown hash key", "variables:\n  A: {value: x, secret: true}\nj:\n  script: t\n", "variables:A config contains unknown keys: secret"},
		{"rules with only", "j:\n  rules: [{when: always}]\n  only: [main]\n  script: t\n", "jobs:j config key may not be used with `rules`: only, except"},
		{"rule unknown key", "j:\n  rules: [{iff: $A}]\n  script: t\n", "jobs:j:rules:rule config contains unknown keys: iff"},
		{"rule bad expression", "j:\n  rules: [{if: '$A = \"x\"'}]\n  script: t\n", "jobs:j:rules:rule if invalid expression syntax"},
		{"rule bad when", "j:\n  rules: [{when: later}]\n  script: t\n", "jobs:j:rules:rule when unknown value: later"},
		{"rules not a list", "j:\n  rules: {if: $A}\n  script: t\n", "jobs:j:rules config should be an array of hashes"},
		{"only bad regex", "j:\n  only: ['/(/']\n  script: t\n", "jobs:j:only config should be an array of strings or regular expressions"},
		{"only unknown key", "j:\n  only: {ref: [main]}\n  script: t\n", "jobs:j:only config contains unknown keys: ref"},
		{"only bad variables expression", "j:\n  only: {variables: ['$A ==']}\n  script: t\n", "jobs:j:only:variables invalid expression syntax"},
		{"workflow bad when", "workflow:\n  rules: [{when: manual}]\nj:\n  script: t\n", "workflow:rules:rule when unknown value: manual"},
		{"workflow unknown key", "workflow:\n  rulez: []\nj:\n  script: t\n", "workflow config contains unknown keys: rulez"},
		{"default unknown key", "default:\n  stage: build\nj:\n  script: t\n", "default config contains unknown keys: stage"},
		{"trigger with script", "j:\n  script: t\n  trigger: other/project\n", "jobs:j config contains unknown keys: script"},
		{"dependencies not a list of strings", "j:\n  dependencies: [{a: b}]\n  script: t\n", "jobs:j:dependencies config should be an array of strings"},
		{"cache scalar", "j:\n  cache: vendor\n  script: t\n", "jobs:j:cache config should be a hash or an array of hashes"},
		{"interruptible string", "j:\n  interruptible: sure\n  script: t\n", "jobs:j:interruptible config should be a boolean value"},
		{"stages not strings", "stages: [{a: b}]\nj:\n  script: t\n", "stages config should be an array of strings"},
		{"inherit unknown key", "j:\n  inherit: {defaults: false}\n  script: t\n", "jobs:j:inherit config contains unknown keys: defaults"},
		{"pull policy", "j:\n  image: {name: a, pull_policy: sometimes}\n  script: t\n", "jobs:j:image:pull_policy config contains an invalid value: sometimes"},
		{"unknown anchor", "j:\n  script: *nope\n", "unknown anchor 'nope' referenced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}

func TestPlanLimits(t *testing.T) {
	laughs := `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
job:
  script: *i
`
	deep := strings.Repeat("[", 150) + strings.Repeat("]", 150)
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"file over 1 MiB", "j:\n  script: t\n# " + strings.Repeat("x", 1<<20), "is too big"},
		{"billion laughs", laughs, "too many nodes after expanding aliases"},
		{"deep nesting", "j:\n  script: " + deep + "\n", "nesting is too deep"},
		{"self-containing anchor", "a: &a\n  b: *a\nj:\n  script: t\n", "contains itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}
