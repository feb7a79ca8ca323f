package ciconfig

import (
	"fmt"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestPlanInclude(t *testing.T) {
	files := map[string]string{
		"ci/common.yml": `variables:
  GO_VERSION: "1.25"
  CGO_ENABLED: "0"
.go:
  image: golang:$GO_VERSION
  tags: [docker]
include: ci/nested.yml
`,
		"ci/nested.yml": "lint:\n  stage: .pre\n  script: golangci-lint run\n",
		"ci/build.yml": `build:
  extends: .go
  script: go build ./...
  artifacts:
    paths: [bin/]
    expire_in: 1 day
`,
	}
	tests := []struct {
		name string
		yaml string
	}{
		{"string list", "include:\n  - /ci/common.yml\n  - ci/build.yml\n"},
		{"local hashes", "include:\n  - local: ci/common.yml\n  - local: /ci/build.yml\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main := tt.yaml + `variables:
  GO_VERSION: "1.26"
build:
  artifacts:
    expire_in: 1 week
`
			plan, err := Plan(Input{Content: []byte(main), Variables: branchPush(), ReadFile: repoFiles(files)})
			if err != nil {
				t.Fatal(err)
			}
			vars := []ci.Variable{{Key: "GO_VERSION", Value: "1.26"}, {Key: "CGO_ENABLED", Value: "0"}}
			assertEqual(t, effective(plan), []ci.JobSpec{
				{Name: "lint", Stage: ".pre", When: "on_success", Script: []string{"golangci-lint run"}, Variables: vars},
				{Name: "build", Stage: "test", When: "on_success", Image: &ci.ImageSpec{Name: "golang:$GO_VERSION"},
					Tags: []string{"docker"}, Script: []string{"go build ./..."}, Variables: vars,
					Artifacts: &ci.ArtifactsSpec{Paths: []string{"bin/"}, ExpireIn: "1 week"}},
			})
		})
	}
}

func TestPlanIncludeSingleStringAndRules(t *testing.T) {
	files := map[string]string{"a.yml": "a:\n  script: a\n", "b.yml": "b:\n  script: b\n"}
	yaml := "include:\n  - local: a.yml\n    rules:\n      - if: $CI_COMMIT_TAG\n  - b.yml\nmain:\n  script: m\n"
	plan, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(), ReadFile: repoFiles(files)})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, jobNames(plan), []string{"b", "main"})
	plan, err = Plan(Input{Content: []byte("include: a.yml\n"), Variables: branchPush(), ReadFile: repoFiles(files)})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, jobNames(plan), []string{"a"})
}

func TestPlanIncludeErrors(t *testing.T) {
	deep := map[string]string{}
	for i := 0; i < 120; i++ {
		deep[fmt.Sprintf("f%d.yml", i)] = fmt.Sprintf("include: f%d.yml\nj%d:\n  script: t\n", i+1, i)
	}
	many := map[string]string{}
	var list []string
	for i := 0; i < 160; i++ {
		name := fmt.Sprintf("m%d.yml", i)
		many[name] = fmt.Sprintf("j%d:\n  script: t\n", i)
		list = append(list, name)
	}
	tests := []struct {
		name  string
		yaml  string
		files map[string]string
		want  string
	}{
		{"missing file", "include: ci/missing.yml\n", map[string]string{}, "Local file `ci/missing.yml` does not exist!"},
		{"no ReadFile", "include: a.yml\n", nil, "Local file `a.yml` could not be included"},
		{"remote", "include: https://example.com/ci.yml\n", map[string]string{}, "Remote file `https://example.com/ci.yml` is not allowed"},
		{"remote hash", "include:\n  - remote: https://example.com/ci.yml\n", map[string]string{}, "Remote file `https://example.com/ci.yml` is not allowed"},
		{"project", "include:\n  - project: group/other\n    file: ci.yml\n", map[string]string{}, "include:project is not available here"},
		{"template", "include:\n  - template: Auto-DevOps.gitlab-ci.yml\n", map[string]string{}, "include:template needs an instance templates project (--templates-project)"},
		{"component", "include:\n  - component: gitlab.com/x/y@1\n", map[string]string{}, "the component path must start with this instance's host name"},
		{"invalid yaml", "include: bad.yml\n", map[string]string{"bad.yml": "a: [\n"}, "Included file `bad.yml` does not have valid YAML syntax"},
		{"not a hash", "include: list.yml\n", map[string]string{"list.yml": "- a\n"}, "Included file `list.yml` does not have valid YAML syntax"},
		{"empty", "include: empty.yml\n", map[string]string{"empty.yml": "\n"}, "Local file `empty.yml` is empty!"},
		{"wildcard", "include: 'ci/*.yml'\n", map[string]string{}, "wildcard paths are not supported"},
		{"too deep", "include: f0.yml\n", deep, "Nested includes depth exceeded the maximum of 100 (include chain: .gitlab-ci.yml → f0.yml → f1.yml"},
		{"too many", "include:\n  - " + strings.Join(list, "\n  - ") + "\n", many, "Maximum of 150 nested includes are allowed!"},
		{"unknown key", "include:\n  - locl: a.yml\n", map[string]string{}, "include config contains unknown keys: locl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{Content: []byte(tt.yaml), Variables: branchPush()}
			if tt.files != nil {
				in.ReadFile = repoFiles(tt.files)
			}
			_, err := Plan(in)
			assertInvalid(t, err, tt.want)
		})
	}
}

func TestPlanIncludeCycleMergesOnce(t *testing.T) {
	files := map[string]string{"a.yml": "include: b.yml\na:\n  script: a\n", "b.yml": "include: a.yml\nb:\n  script: b\n"}
	plan, err := Plan(Input{Content: []byte("include: a.yml\n"), Variables: branchPush(), ReadFile: repoFiles(files)})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, jobNames(plan), []string{"b", "a"})
}
