package ciconfig

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// diffInput returns the Changes of a pipeline whose own diff is own (nil:
// no diff, as a new branch or a tag) and whose comparison with each ref
// of byRef is its paths; a ref not in byRef is KindNotFound. calls counts
// the lookups.
func diffInput(own []string, byRef map[string][]string, calls *int) func(string) ([]string, bool, error) {
	return func(compareTo string) ([]string, bool, error) {
		*calls++
		if compareTo == "" {
			return own, own != nil, nil
		}
		paths, ok := byRef[compareTo]
		if !ok {
			return nil, false, ci.Errorf(ci.KindNotFound, "ref %q not found", compareTo)
		}
		return paths, true, nil
	}
}

func TestPlanRulesChanges(t *testing.T) {
	// Shaped after GNOME's and Kitware's files: jobs gated on the parts of
	// the tree they build, docs deployed from docs/ changes.
	const yaml = `variables:
  DOCS_DIR: docs
stages: [build, test, deploy]
build:
  stage: build
  script: make
  rules:
    - changes: [src/**/*]
test:
  stage: test
  script: make check
  rules:
    - changes:
        - "{src,tests}/**/*.{c,h}"
        - meson.build
docs:
  stage: deploy
  script: mkdocs build
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      changes:
        paths: [$DOCS_DIR/**/*, mkdocs.yml]
    - when: never
release-notes:
  stage: deploy
  script: ./notes
  rules:
    - changes:
        paths: [CHANGELOG.md]
        compare_to: refs/heads/stable
legacy:
  stage: test
  script: ./legacy
  only:
    changes: [legacy/*]
not-for-ci-edits:
  stage: test
  script: ./lint
  except:
    changes: [.gitlab-ci.yml]
`
	tests := []struct {
		name  string
		own   []string
		vars  map[string]string
		want  []string
		calls int
	}{
		{name: "push changing only docs", own: []string{"docs/index.md", "docs/img/a.png"},
			want: []string{"docs", "not-for-ci-edits"}, calls: 2},
		{name: "push changing a nested source file", own: []string{"src/a/b.go"},
			want: []string{"build", "not-for-ci-edits"}, calls: 2},
		{name: "push changing a header and the CI file", own: []string{"src/lib/x.h", ".gitlab-ci.yml"},
			want: []string{"build", "test"}, calls: 2},
		{name: "push changing a legacy file, not a subdirectory one", own: []string{"legacy/run.sh", "legacy/sub/x"},
			want: []string{"legacy", "not-for-ci-edits"}, calls: 2},
		{name: "new branch: no diff, every changes matches", own: nil,
			want: []string{"build", "test", "docs", "legacy"}, calls: 2},
		{name: "docs on another branch is filtered by if first", own: []string{"docs/index.md"},
			vars: map[string]string{"CI_COMMIT_BRANCH": "feature", "CI_COMMIT_REF_NAME": "feature", "CI_DEFAULT_BRANCH": "main", "CI_PIPELINE_SOURCE": "push"},
			want: []string{"not-for-ci-edits"}, calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			vars := tt.vars
			if vars == nil {
				vars = branchPush()
			}
			plan, err := Plan(Input{Content: []byte(yaml), Variables: vars,
				Changes: diffInput(tt.own, map[string][]string{"refs/heads/stable": {"README.md"}}, &calls)})
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			assertEqual(t, jobNames(plan), tt.want)
			if calls != tt.calls {
				t.Errorf("Changes called %d times, want %d (once per compare_to)", calls, tt.calls)
			}
		})
	}
}

func TestPlanRulesChangesCompareTo(t *testing.T) {
	const yaml = `variables:
  BASE: main
lint:
  script: ./lint
  rules:
    - changes:
        paths: ["**/*.py"]
        compare_to: $BASE
`
	byRef := map[string][]string{"main": {"pkg/mod.py"}, "v1.0": {"README.md"}}
	tests := []struct {
		name string
		vars map[string]string
		want []string
		err  string
	}{
		// compare_to applies to tags and other pipelines without a diff too.
		{name: "tag compared with main", vars: tagPush("v2.0"), want: []string{"lint"}},
		{name: "variable expanded in compare_to", vars: func() map[string]string { v := tagPush("v2.0"); v["BASE"] = "v1.0"; return v }(), err: "no jobs"},
		{name: "unknown compare_to", vars: func() map[string]string { v := branchPush(); v["BASE"] = "nope"; return v }(),
			err: "rules:changes:compare_to is not a valid ref"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls int
			plan, err := Plan(Input{Content: []byte(yaml), Variables: tt.vars, Changes: diffInput(nil, byRef, &calls)})
			switch {
			case tt.err == "no jobs":
				if err != ErrNoJobs {
					t.Fatalf("Plan = %v, want ErrNoJobs", err)
				}
			case tt.err != "":
				assertInvalid(t, err, tt.err)
			case err != nil:
				t.Fatalf("Plan: %v", err)
			default:
				assertEqual(t, jobNames(plan), tt.want)
			}
		})
	}
}

func TestPlanWorkflowRulesChanges(t *testing.T) {
	const yaml = `workflow:
  rules:
    - changes: [.gitlab-ci.yml, "ci/**/*"]
      variables: {CI_ONLY: "yes"}
    - if: $CI_COMMIT_TAG
job:
  script: echo $CI_ONLY
`
	var calls int
	_, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(), Changes: diffInput([]string{"README.md"}, nil, &calls)})
	if err != ErrFilteredByWorkflow {
		t.Fatalf("a push changing only README.md: Plan = %v, want ErrFilteredByWorkflow", err)
	}
	plan, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(), Changes: diffInput([]string{"ci/jobs/build.yml"}, nil, &calls)})
	if err != nil {
		t.Fatalf("a push changing ci/jobs/build.yml: %v", err)
	}
	assertEqual(t, plan.Spec.Variables, []ci.Variable{{Key: "CI_ONLY", Value: "yes"}})
}

func TestPlanRulesChangesInvalid(t *testing.T) {
	many := "["
	for i := range 51 {
		many += fmt.Sprintf("f%d,", i)
	}
	many += "]"
	tests := []struct{ name, rules, want string }{
		{"paths missing", "- changes: {compare_to: main}", "changes config missing required keys: paths"},
		{"unknown key", "- changes: {paths: [a], base: main}", "changes config contains unknown keys: base"},
		{"not strings", "- changes: [{a: b}]", "changes should be an array of strings"},
		{"too many", "- changes: " + many, "changes has too many entries (maximum 50)"},
		{"exists ref without project", "- exists: {paths: [a], ref: main}", "exists ref requires project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte("job:\n  script: x\n  rules:\n    " + tt.rules + "\n"), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}

func TestPlanRulesExists(t *testing.T) {
	const yaml = `variables:
  PKG: web
docker:
  script: docker build .
  rules:
    - exists: [Dockerfile]
go:
  script: go test ./...
  rules:
    - exists: ["**/*.go"]
node:
  script: npm test
  rules:
    - exists:
        paths: [$PKG/package.json]
python:
  script: pytest
  rules:
    - exists: ["{setup.py,pyproject.toml}"]
docs:
  script: make -C docs
  rules:
    - exists: ["docs/**/*.rst"]
`
	repo := map[string]bool{"go.mod": true, "cmd/x/main.go": true, "web/package.json": true, "pyproject.toml": true, "docs/index.md": true}
	var listed int
	plan, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(),
		ReadFile: func(path string) ([]byte, error) {
			if repo[path] {
				return []byte("x"), nil
			}
			return nil, ci.Errorf(ci.KindNotFound, "no %s", path)
		},
		ListFiles: func(max int) ([]string, error) {
			listed++
			var out []string
			for p := range repo {
				out = append(out, p)
			}
			slices.Sort(out)
			return out, nil
		}})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	assertEqual(t, jobNames(plan), []string{"go", "node", "python"})
	if listed != 1 {
		t.Errorf("ListFiles called %d times, want once", listed)
	}
}

// TestPlanRulesExistsCheckBound follows GitLab: after MaxExistsChecks glob
// comparisons a rules:exists with globs matches, whatever the files.
func TestPlanRulesExistsCheckBound(t *testing.T) {
	const yaml = `job:
  script: x
  rules:
    - exists: ["**/*.nowhere"]
`
	for _, n := range []int{MaxExistsChecks, MaxExistsChecks + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var asked int
			_, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(),
				ListFiles: func(max int) ([]string, error) {
					asked = max
					out := make([]string, min(n, max))
					for i := range out {
						out[i] = fmt.Sprintf("d/f%d.txt", i)
					}
					return out, nil
				}})
			if asked != MaxExistsChecks+1 {
				t.Errorf("ListFiles asked for %d paths, want %d", asked, MaxExistsChecks+1)
			}
			if matched := err == nil; matched != (n > MaxExistsChecks) {
				t.Errorf("%d files: matched %v (err %v)", n, matched, err)
			}
		})
	}
}

func TestPlanDelayed(t *testing.T) {
	// A canary rolled out after a pause, as in GitLab's docs for
	// when: delayed; the production rule delays only on the default branch.
	const yaml = `stages: [deploy, rollout]
canary:
  stage: deploy
  script: ./deploy canary
  when: delayed
  start_in: 30 minutes
rollout:
  stage: rollout
  script: ./deploy all
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
      when: delayed
      start_in: 1 day
    - when: manual
`
	tests := []struct {
		name string
		vars map[string]string
		want map[string][2]any // name -> when, start_in
	}{
		{"default branch", branchPush(), map[string][2]any{"canary": {"delayed", 1800}, "rollout": {"delayed", 86400}}},
		{"tag", tagPush("v1"), map[string][2]any{"canary": {"delayed", 1800}, "rollout": {"manual", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := mustPlan(t, yaml, tt.vars)
			got := map[string][2]any{}
			for _, j := range plan.Jobs {
				got[j.Name] = [2]any{j.When, j.StartIn}
			}
			assertEqual(t, got, tt.want)
		})
	}
}

// TestPlanJobRuleVariables: each job's rules see its own predefined
// variables (GitLab's "Pipeline" availability), workflow:rules none of
// them; a parallel job's rules, run before its expansion, see its stage
// and node total but no name.
func TestPlanJobRuleVariables(t *testing.T) {
	const yaml = `workflow:
  rules:
    - if: $CI_JOB_NAME
      when: never
    - when: always
stages: [build, test]
build:
  stage: build
  script: make
  rules:
    - if: $CI_JOB_NAME == "build" && $CI_JOB_NAME_SLUG == "build" && $CI_JOB_STAGE == "build" && $CI_NODE_TOTAL == "1"
"Lint Docs":
  script: lint
  rules:
    - if: $CI_JOB_NAME_SLUG == "lint-docs"
not-me:
  script: x
  rules:
    - if: $CI_JOB_NAME == "build"
shard:
  parallel: 2
  script: x
  rules:
    - if: $CI_NODE_TOTAL == "2" && $CI_JOB_STAGE == "test" && $CI_JOB_NAME == null
`
	plan := mustPlan(t, yaml, nil)
	assertEqual(t, jobNames(plan), []string{"build", "Lint Docs", "shard 1/2", "shard 2/2"})
}

// TestPlanRulesExistsInProject: exists with project: and ref: looks at
// another project's files as the pipeline's user, exact paths and globs;
// a project the user may not read and an unknown ref fail the pipeline.
func TestPlanRulesExistsInProject(t *testing.T) {
	in := &instance{
		files: map[string]map[string]map[string]string{
			"infra/charts": {"main": {"charts/app/Chart.yaml": "x", "README.md": "x"}, "v2": {"charts/app/values.yaml": "x"}},
			"secret/repo":  {"main": {"Dockerfile": "x"}},
		},
		readable: map[string]bool{"infra/charts": true},
	}
	rule := func(exists string) string {
		return "deploy:\n  script: x\n  rules:\n    - exists: " + exists + "\nbuild:\n  script: y\n"
	}
	tests := []struct {
		name, exists string
		want         []string
		err          string
	}{
		{"glob on the default branch", `{paths: ["charts/**/Chart.yaml"], project: infra/charts}`, []string{"deploy", "build"}, ""},
		{"exact path at a tag", `{paths: [charts/app/values.yaml], project: infra/charts, ref: v2}`, []string{"deploy", "build"}, ""},
		{"glob absent at the tag", `{paths: ["**/Chart.yaml"], project: infra/charts, ref: v2}`, []string{"build"}, ""},
		{"variables in project and ref", `{paths: [README.md], project: $CHARTS, ref: $CHARTS_REF}`, []string{"deploy", "build"}, ""},
		{"unreadable project", `{paths: [Dockerfile], project: secret/repo}`, nil, "rules:exists:project `secret/repo` not found or access denied"},
		{"unknown ref", `{paths: [README.md], project: infra/charts, ref: v9}`, nil, "rules:exists:ref `v9` is not a valid ref in project `infra/charts`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := branchPush()
			vars["CHARTS"], vars["CHARTS_REF"] = "infra/charts", "main"
			plan, err := Plan(Input{Content: []byte(rule(tt.exists)), Variables: vars, Sources: in.sources()})
			if tt.err != "" {
				assertInvalid(t, err, tt.err)
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			assertEqual(t, jobNames(plan), tt.want)
		})
	}
}

// Problems in several keys of one keyword are listed in the same order
// on every run (they were read from a map).
func TestProblemOrderIsStable(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"exists project and ref", "j:\n  script: x\n  rules:\n    - exists: {paths: [a], project: [p], ref: [r]}\n",
			[]string{"jobs:j:rules:rule:exists project should be a string", "jobs:j:rules:rule:exists ref should be a string"}},
		{"trigger forward", "j:\n  trigger:\n    project: a/b\n    forward: {yaml_variables: maybe, pipeline_variables: perhaps}\n",
			[]string{"jobs:j:trigger:forward:yaml_variables config should be a boolean value",
				"jobs:j:trigger:forward:pipeline_variables config should be a boolean value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 20; i++ {
				_, err := Plan(Input{Content: []byte(tc.yaml), Variables: branchPush()})
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("Plan: %v, want a ConfigError", err)
				}
				var got []string
				for _, e := range ce.Errors {
					for _, w := range tc.want {
						if strings.Contains(e, w) {
							got = append(got, w)
						}
					}
				}
				assertEqual(t, got, tc.want)
			}
		})
	}
}
