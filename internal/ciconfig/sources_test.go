package ciconfig

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
)

// instance is an in-memory set of projects: project -> ref -> path ->
// content, with the projects the pipeline's user may read.
type instance struct {
	files    map[string]map[string]map[string]string
	readable map[string]bool
	reads    []string
}

func (in *instance) sources() Sources {
	return Sources{
		ServerFQDN:       "ci.example.com",
		TemplatesProject: "baton/templates",
		ProjectFile: func(project, ref, path string) ([]byte, error) {
			refs, ok := in.files[project]
			if !ok || !in.readable[project] {
				return nil, ErrProjectNotFound
			}
			if ref == "" {
				ref = "main"
			}
			in.reads = append(in.reads, project+"@"+ref+":"+path)
			if s, ok := refs[ref][path]; ok {
				return []byte(s), nil
			}
			return nil, os.ErrNotExist
		},
		ProjectTags: func(project string) ([]string, error) {
			refs, ok := in.files[project]
			if !ok || !in.readable[project] {
				return nil, ErrProjectNotFound
			}
			var tags []string
			for r := range refs {
				if r != "main" {
					tags = append(tags, r)
				}
			}
			sort.Strings(tags)
			return tags, nil
		},
		ProjectPaths: func(project, ref string, max int) ([]string, error) {
			refs, ok := in.files[project]
			if !ok || !in.readable[project] {
				return nil, ErrProjectNotFound
			}
			if ref == "" {
				ref = "main"
			}
			files, ok := refs[ref]
			if !ok {
				return nil, errors.New("reference not found")
			}
			var paths []string
			for p := range files {
				paths = append(paths, p)
			}
			sort.Strings(paths)
			return paths[:min(max, len(paths))], nil
		},
	}
}

const scanComponent = `spec:
  inputs:
    stage:
      default: test
    image:
      description: The scanner image
      default: alpine:3.20
    level:
      type: number
      default: 2
    strict:
      type: boolean
      default: false
    targets:
      type: array
      default: [src]
    env:
      options: [staging, production]
      default: staging
    version:
      regex: ^v\d+\.\d+$
      default: v1.0
    name:
---
"scan-$[[ inputs.name ]]":
  stage: $[[ inputs.stage ]]
  image: $[[ inputs.image ]]
  variables:
    LEVEL: $[[ inputs.level ]]
    STRICT: $[[ inputs.strict ]]
    ENV: $[[ inputs.env ]]
    VERSION: $[[ inputs.version ]]
  parallel:
    matrix:
      - TARGET: $[[ inputs.targets ]]
  script:
    - scan --level $[[ inputs.level ]] $[[ inputs.name | posix_escape ]]
`

func testInstance() *instance {
	return &instance{
		files: map[string]map[string]map[string]string{
			"sec/scanners": {
				"1.0.0": {"templates/scan.yml": strings.Replace(scanComponent, "scan --level", "scan-v1 --level", 1)},
				"1.2.0": {"templates/scan/template.yml": scanComponent,
					"templates/scan/helper.yml": "scan-helper:\n  script: help\n"},
				"1.10.0-rc1": {"templates/scan.yml": "rc:\n  script: rc\n"},
				"main":       {"templates/scan.yml": "head:\n  script: head\n"},
			},
			"shared/ci": {
				"main": {"go.yml": "go-test:\n  stage: test\n  script: go test ./...\n",
					"lint.yml":   "include: nested.yml\ngo-lint:\n  script: golangci-lint run\n",
					"nested.yml": "nested:\n  script: nested\n"},
				"v2": {"go.yml": "go-test-v2:\n  script: go test ./...\n"},
			},
			"secret/ci":       {"main": {"x.yml": "secret:\n  script: s\n"}},
			"baton/templates": {"main": {"Jobs/Lint.gitlab-ci.yml": "template-lint:\n  script: lint\n"}},
		},
		readable: map[string]bool{"sec/scanners": true, "shared/ci": true, "baton/templates": true},
	}
}

func TestPlanIncludeProjectComponentTemplate(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		jobs  []string
		reads []string
	}{
		{"project file list at default branch", "include:\n  - project: shared/ci\n    file: [go.yml, /lint.yml]\n",
			[]string{"go-test", "nested", "go-lint"},
			[]string{"shared/ci@main:go.yml", "shared/ci@main:lint.yml", "shared/ci@main:nested.yml"}},
		{"project file string at ref", "include:\n  project: shared/ci\n  ref: v2\n  file: go.yml\n",
			[]string{"go-test-v2"}, []string{"shared/ci@v2:go.yml"}},
		{"component at tag, templates/<name>/template.yml", "include:\n  - component: $CI_SERVER_FQDN/sec/scanners/scan@1.2.0\n    inputs: {name: app}\n",
			[]string{"scan-app: [src]"}, []string{"sec/scanners@1.2.0:templates/scan.yml", "sec/scanners@1.2.0:templates/scan/template.yml"}},
		{"component at tag, templates/<name>.yml", "include:\n  - component: ci.example.com/sec/scanners/scan@1.0.0\n    inputs: {name: app}\n",
			[]string{"scan-app: [src]"}, []string{"sec/scanners@1.0.0:templates/scan.yml"}},
		{"component ~latest is the highest release tag", "include:\n  - component: ci.example.com/sec/scanners/scan@~latest\n    inputs: {name: x, targets: [a, b]}\n",
			[]string{"scan-x: [a]", "scan-x: [b]"}, nil},
		{"template", "include:\n  - template: Jobs/Lint.gitlab-ci.yml\n", []string{"template-lint"},
			[]string{"baton/templates@main:Jobs/Lint.gitlab-ci.yml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := testInstance()
			plan, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush(), Sources: inst.sources()})
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, jobNames(plan), tt.jobs)
			if tt.reads != nil {
				assertEqual(t, inst.reads, tt.reads)
			}
		})
	}
}

func TestPlanComponentInputs(t *testing.T) {
	yaml := `include:
  - component: ci.example.com/sec/scanners/scan@1.2.0
    inputs:
      name: "my app"
      stage: build
      level: 3
      strict: true
      env: production
      version: v2.7
`
	plan, err := Plan(Input{Content: []byte(yaml), Variables: branchPush(), Sources: testInstance().sources()})
	if err != nil {
		t.Fatal(err)
	}
	j := job(t, plan, "scan-my app: [src]")
	assertEqual(t, j.Stage, "build")
	assertEqual(t, j.Image.Name, "alpine:3.20")
	assertEqual(t, j.Script, []string{`scan --level 3 my\ app`})
	got := map[string]string{}
	for _, v := range j.Variables {
		got[v.Key] = v.Value
	}
	assertEqual(t, got, map[string]string{"LEVEL": "3", "STRICT": "true", "ENV": "production", "VERSION": "v2.7", "TARGET": "src"})

	bad := []struct{ name, inputs, want string }{
		{"required missing", "{}", "`name` input: required value has not been provided"},
		{"not a number", "{name: a, level: high}", "`level` input: provided value is not a number"},
		{"not a boolean", "{name: a, strict: 'yes'}", "`strict` input: provided value is not a boolean"},
		{"not an array", "{name: a, targets: src}", "`targets` input: provided value is not an array"},
		{"not a string", "{name: [a]}", "`name` input: provided value is not a string"},
		{"option", "{name: a, env: dev}", "`env` input: `dev` cannot be used because it is not in the list of allowed options"},
		{"regex", "{name: a, version: '2.7'}", "`version` input: provided value does not match required RegEx pattern"},
		{"unknown", "{name: a, colour: red}", "unknown input arguments: colour"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			y := "include:\n  - component: ci.example.com/sec/scanners/scan@1.2.0\n    inputs: " + tt.inputs + "\n"
			_, err := Plan(Input{Content: []byte(y), Variables: branchPush(), Sources: testInstance().sources()})
			assertInvalid(t, err, tt.want, "include chain: .gitlab-ci.yml → ci.example.com/sec/scanners/scan@1.2.0")
		})
	}
}

func TestPlanIncludeSourceErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"project the user cannot read", "include:\n  - project: secret/ci\n    file: x.yml\n",
			"Project `secret/ci` not found or access denied! Make sure any includes in the pipeline configuration are correctly defined. (include chain: .gitlab-ci.yml → secret/ci:x.yml)"},
		{"project that does not exist", "include:\n  - project: nope/ci\n    file: x.yml\n",
			"Project `nope/ci` not found or access denied! Make sure any includes in the pipeline configuration are correctly defined."},
		{"missing file", "include:\n  - project: shared/ci\n    ref: v2\n    file: lint.yml\n",
			"Project `shared/ci` reference `v2` file `lint.yml` does not exist!"},
		{"project without file", "include:\n  - project: shared/ci\n", "include:project `shared/ci` needs a file:"},
		{"component the user cannot read", "include:\n  - component: ci.example.com/secret/ci/x@1.0.0\n",
			"Component `ci.example.com/secret/ci/x@1.0.0`: project `secret/ci` not found or access denied!"},
		{"component version absent", "include:\n  - component: ci.example.com/sec/scanners/scan@9.9.9\n",
			"Component `ci.example.com/sec/scanners/scan@9.9.9` - content not found"},
		{"component of another host", "include:\n  - component: gitlab.com/sec/scanners/scan@1.2.0\n",
			"the component path must start with this instance's host name (ci.example.com)"},
		{"component without version", "include:\n  - component: ci.example.com/sec/scanners/scan\n", "the address needs a version after @"},
		{"template absent", "include:\n  - template: Nope.gitlab-ci.yml\n", "Included file `Nope.gitlab-ci.yml` does not exist"},
		{"two kinds", "include:\n  - local: a.yml\n    project: shared/ci\n", "include config must have exactly one of"},
		{"inputs to a file without spec", "include:\n  - project: shared/ci\n    file: go.yml\n    inputs: {a: 1}\n",
			"Given inputs not defined in the `spec` section of the included configuration file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush(), Sources: testInstance().sources()})
			assertInvalid(t, err, tt.want)
		})
	}
}

// A file included from another project includes its local files from that
// project at the same ref, and the chain names every step.
func TestPlanIncludeChainAcrossProjects(t *testing.T) {
	inst := testInstance()
	inst.files["shared/ci"]["v3"] = map[string]string{"a.yml": "include: b.yml\n", "b.yml": "include:\n  - project: secret/ci\n    file: x.yml\n"}
	y := "include:\n  - project: shared/ci\n    ref: v3\n    file: a.yml\n"
	_, err := Plan(Input{Content: []byte(y), Variables: branchPush(), Sources: inst.sources()})
	assertInvalid(t, err, "Project `secret/ci` not found or access denied!",
		"include chain: .gitlab-ci.yml → shared/ci@v3:a.yml → shared/ci:b.yml → secret/ci:x.yml")
}

func TestPlanInterpolationFunctions(t *testing.T) {
	tests := []struct{ name, expr, value, want string }{
		{"plain", "$[[ inputs.v ]]", "a b", "a b"},
		{"truncate", "$[[ inputs.v | truncate(2,3) ]]", "0123456", "234"},
		{"truncate past end", "$[[ inputs.v | truncate(5,10) ]]", "0123456", "56"},
		{"expand_vars", "$[[ inputs.v | expand_vars ]]", "$CI_COMMIT_BRANCH-${CI_DEFAULT_BRANCH}-$UNKNOWN", "main-main-$UNKNOWN"},
		{"no expansion without expand_vars", "$[[ inputs.v ]]", "$CI_COMMIT_BRANCH", "$CI_COMMIT_BRANCH"},
		{"posix_escape", "$[[ inputs.v | posix_escape ]]", "it's a \"test\"; rm -rf /", `it\'s\ a\ \"test\"\;\ rm\ -rf\ /`},
		{"posix_escape empty", "$[[ inputs.v | posix_escape ]]", "", "''"},
		{"chained", "$[[ inputs.v | expand_vars | truncate(0,4) ]]", "$CI_PROJECT_PATH", "grou"},
		{"inside text", "x-$[[ inputs.v ]]-$[[ inputs.v | truncate(0,1) ]]", "ab", "x-ab-a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "spec:\n  inputs:\n    v:\n---\njob:\n  script:\n    - " + quoteYAML(tt.expr) + "\n"
			plan, err := Plan(Input{Content: []byte(y), Variables: branchPush(), Inputs: map[string]any{"v": tt.value}})
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, job(t, plan, "job").Script, []string{tt.want})
		})
	}
	bad := []struct{ name, expr, want string }{
		{"unknown input", "$[[ inputs.nope ]]", "unknown interpolation key: `nope`"},
		{"unknown function", "$[[ inputs.v | upcase ]]", "no function matching `upcase`"},
		{"too many functions", "$[[ inputs.v | expand_vars | expand_vars | expand_vars | expand_vars ]]", "too many functions"},
		{"bad access", "$[[ vars.X ]]", "invalid interpolation access pattern"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			y := "spec:\n  inputs:\n    v:\n      default: x\n---\njob:\n  script:\n    - " + quoteYAML(tt.expr) + "\n"
			_, err := Plan(Input{Content: []byte(y), Variables: branchPush()})
			assertInvalid(t, err, tt.want)
		})
	}
}

func quoteYAML(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// A main configuration with a spec header plans its body with the
// defaults; a required input without a value is an error, not an empty
// pipeline.
func TestPlanMainSpecHeader(t *testing.T) {
	y := "spec:\n  inputs:\n    stage:\n      default: deploy\n---\nstages: [build, deploy]\nrelease:\n  stage: $[[ inputs.stage ]]\n  script: make release\n"
	plan := mustPlan(t, y, nil)
	assertEqual(t, jobNames(plan), []string{"release"})
	assertEqual(t, job(t, plan, "release").Stage, "deploy")

	_, err := Plan(Input{Content: []byte("spec:\n  inputs:\n    env:\n---\njob:\n  script: deploy $[[ inputs.env ]]\n"), Variables: branchPush()})
	assertInvalid(t, err, "`env` input: required value has not been provided")

	// A first document with more than spec: is not a header: it is the
	// configuration, and later documents are ignored.
	plan = mustPlan(t, "spec: {}\njob:\n  script: x\n---\nother:\n  script: y\n", nil)
	assertEqual(t, jobNames(plan), []string{"job"})
}

func TestPlanIncludeRemote(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch r.URL.Path {
		case "/ci.yml":
			w.Write([]byte("remote-job:\n  script: r\n"))
		case "/big.yml":
			w.Write([]byte("big:\n  script: " + strings.Repeat("x", 2000) + "\n"))
		case "/away":
			http.Redirect(w, r, "http://elsewhere.invalid/ci.yml", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	allowed := &RemoteFetcher{Allow: []string{u.Host}, MaxBytes: 1000}
	tests := []struct {
		name    string
		fetcher *RemoteFetcher
		yaml    string
		want    string // an error fragment, "" for success
	}{
		{"allowed", allowed, "include: " + srv.URL + "/ci.yml\n", ""},
		{"allowed by host name", &RemoteFetcher{Allow: []string{u.Hostname()}}, "include:\n  - remote: " + srv.URL + "/ci.yml\n", ""},
		{"host not allowed", &RemoteFetcher{Allow: []string{"ci.example.com"}}, "include: " + srv.URL + "/ci.yml\n",
			"host 127.0.0.1 is not allowed (--include-remote-allow)"},
		{"too big", allowed, "include: " + srv.URL + "/big.yml\n", "the file is larger than 1000 bytes"},
		{"404", allowed, "include: " + srv.URL + "/none.yml\n", "HTTP code `404` error"},
		{"redirect to a host not allowed", allowed, "include: " + srv.URL + "/away\n", "host elsewhere.invalid is not allowed"},
		{"not http", allowed, "include:\n  - remote: file:///etc/passwd\n", "must be an http:// or https:// URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetch := func(url string) ([]byte, error) { return tt.fetcher.Fetch(context.Background(), url) }
			plan, err := Plan(Input{Content: []byte(tt.yaml), Variables: branchPush(), Sources: Sources{Remote: fetch}})
			if tt.want != "" {
				assertInvalid(t, err, tt.want, "Remote file `")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertEqual(t, jobNames(plan), []string{"remote-job"})
		})
	}
	// A fetch belongs to the pipeline being created: once that is
	// cancelled (the push or request went away) nothing is fetched.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := requests.Load()
	_, err := Plan(Input{Content: []byte("include: " + srv.URL + "/ci.yml\n"), Variables: branchPush(),
		Sources: Sources{Remote: func(url string) ([]byte, error) { return allowed.Fetch(ctx, url) }}})
	assertInvalid(t, err, "Remote file `"+srv.URL+"/ci.yml` could not be fetched")
	if n := requests.Load() - before; n != 0 {
		t.Errorf("%d requests made for a cancelled pipeline creation, want none", n)
	}
}

func TestLatestSemver(t *testing.T) {
	tests := []struct {
		tags []string
		want string
	}{
		{[]string{"1.2.0", "1.10.0", "1.9.9", "v2.0.0", "2.0.0-rc1", "main"}, "1.10.0"},
		{[]string{"0.0.1", "0.0.10", "0.0.2"}, "0.0.10"},
		{[]string{"v1.0.0", "latest", "01.0.0"}, ""},
	}
	for _, tt := range tests {
		assertEqual(t, latestSemver(tt.tags), tt.want)
	}
}

// include:local takes inputs too, each include of the same file with other
// inputs is merged on its own, and include:rules pick which entries apply.
func TestPlanIncludeLocalInputsAndRules(t *testing.T) {
	files := map[string]string{"ci/deploy.yml": "spec:\n  inputs:\n    env:\n---\n\"deploy-$[[ inputs.env ]]\":\n  stage: deploy\n  script: ./deploy $[[ inputs.env ]]\n"}
	y := `include:
  - local: ci/deploy.yml
    inputs: {env: staging}
  - local: ci/deploy.yml
    inputs: {env: production}
    rules:
      - if: $CI_COMMIT_TAG
build:
  script: make
`
	plan, err := Plan(Input{Content: []byte(y), Variables: branchPush(), ReadFile: repoFiles(files)})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, jobNames(plan), []string{"deploy-staging", "build"})
	plan, err = Plan(Input{Content: []byte(y), Variables: tagPush("v1.0.0"), ReadFile: repoFiles(files)})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, jobNames(plan), []string{"deploy-staging", "deploy-production", "build"})
}

// One large input referenced by many blocks, in one file or across
// included ones, is stopped once the interpolated text passes
// maxInterpolatedBytes, before it is built: the file limit alone let a
// 1 MiB file build gigabytes.
func TestPlanInterpolationSizeBound(t *testing.T) {
	big := strings.Repeat("x", 8<<10)
	jobs := func(prefix, expr string, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%s%d:\n  script:\n    - %s\n", prefix, i, quoteYAML(expr))
		}
		return b.String()
	}
	header := "spec:\n  inputs:\n    v:\n      default: " + big + "\n    list:\n      type: array\n      default: [" +
		strings.TrimSuffix(strings.Repeat(big+", ", 4), ", ") + "]\n---\n"
	over := maxInterpolatedBytes/len(big) + 1
	tests := []struct {
		name    string
		content string
		files   map[string]string
	}{
		{"string blocks in one file", header + jobs("j", "$[[ inputs.v ]]", over), nil},
		{"whole-node array blocks", header + strings.ReplaceAll(jobs("j", "X", over/4+1), "\n    - 'X'", " $[[ inputs.list ]]"), nil},
		{"across included files", "include:\n  - local: a.yml\n  - local: b.yml\n",
			map[string]string{"a.yml": header + jobs("a", "$[[ inputs.v ]]", over/2+1), "b.yml": header + jobs("b", "$[[ inputs.v ]]", over/2+1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.content) > maxFileSize {
				t.Fatalf("test file is %d bytes, over the file limit", len(tt.content))
			}
			_, err := Plan(Input{Content: []byte(tt.content), Variables: branchPush(), ReadFile: repoFiles(tt.files)})
			assertInvalid(t, err, "interpolated config is too large")
		})
	}
	// Under the bound the same file plans.
	plan, err := Plan(Input{Content: []byte(header + jobs("j", "$[[ inputs.v ]]", over/2)), Variables: branchPush()})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, job(t, plan, "j0").Script, []string{big})
}
