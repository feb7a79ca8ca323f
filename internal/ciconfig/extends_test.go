package ciconfig

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestPlanExtends(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want ci.JobSpec
	}{
		{
			name: "multi-level with deep merge of hashes and arrays replaced",
			yaml: `.base:
  image: alpine
  tags: [docker, linux]
  variables: {A: base, B: base}
  retry: {max: 2, when: [script_failure]}
.go:
  extends: .base
  image: golang
  variables: {B: go, C: go}
build:
  extends: .go
  tags: [big]
  variables: {C: build}
  retry: {max: 1}
  script: go build
`,
			want: ci.JobSpec{Name: "build", Stage: "test", When: "on_success", Image: &ci.ImageSpec{Name: "golang"},
				Tags:      []string{"big"},
				Variables: []ci.Variable{{Key: "A", Value: "base"}, {Key: "B", Value: "go"}, {Key: "C", Value: "build"}},
				Retry:     ci.RetrySpec{Max: 1, When: []string{"script_failure"}}, Script: []string{"go build"}},
		},
		{
			name: "list of targets, later wins",
			yaml: `.a:
  image: a
  stage: build
.b:
  image: b
job:
  extends: [.a, .b]
  script: x
`,
			want: ci.JobSpec{Name: "job", Stage: "build", When: "on_success", Image: &ci.ImageSpec{Name: "b"}, Script: []string{"x"}},
		},
		{
			name: "extends a visible job",
			yaml: "build:\n  stage: build\n  tags: [x]\n  script: make\ncheck:\n  extends: build\n  script: check\n",
			want: ci.JobSpec{Name: "check", Stage: "build", When: "on_success", Tags: []string{"x"}, Script: []string{"check"}},
		},
		{
			name: "!reference tags",
			yaml: `.setup:
  script:
    - echo setup
  variables: {X: "1"}
job:
  script:
    - !reference [.setup, script]
    - make
  variables:
    X: !reference [.setup, variables, X]
`,
			want: ci.JobSpec{Name: "job", Stage: "test", When: "on_success", Script: []string{"echo setup", "make"},
				Variables: []ci.Variable{{Key: "X", Value: "1"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := mustPlan(t, tt.yaml, nil)
			assertEqual(t, job(t, plan, tt.want.Name), tt.want)
		})
	}
}

func TestPlanExtendsErrors(t *testing.T) {
	var chain strings.Builder
	for i := 0; i < 13; i++ {
		fmt.Fprintf(&chain, ".l%d:\n  extends: .l%d\n", i, i+1)
	}
	chain.WriteString(".l13:\n  script: t\njob:\n  extends: .l0\n")
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"cycle", ".a:\n  extends: .b\n.b:\n  extends: .a\njob:\n  extends: .a\n  script: t\n", []string{"jobs:", ":extends", "circular dependency detected in `extends`"}},
		{"self", "job:\n  extends: job\n  script: t\n", []string{"jobs:job:extends", "circular dependency"}},
		{"unknown target", "job:\n  extends: .nope\n  script: t\n", []string{"jobs:job:extends", "unknown key in `extends` (.nope)"}},
		{"too deep", chain.String(), []string{":extends", "nesting too deep in `extends`"}},
		{"not strings", "job:\n  extends: {a: b}\n  script: t\n", []string{"jobs:job:extends config should be a string or an array of strings"}},
		{"reference not found", "job:\n  script: !reference [.nope, script]\n", []string{"!reference [.nope, script] could not be found"}},
		{"reference cycle", ".a:\n  script: [!reference [.a, script]]\njob:\n  script: t\n", []string{"!reference tags are nested more than 10 levels"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush()})
			assertInvalid(t, err, tt.want...)
		})
	}
}
