package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

const deployComponent = `spec:
  inputs:
    env:
      options: [staging, production]
    stage:
      default: deploy
---
"deploy-$[[ inputs.env ]]":
  stage: $[[ inputs.stage ]]
  script: ./deploy $[[ inputs.env | posix_escape ]]
`

// TestIncludesAcrossProjects: a pipeline includes a component with inputs
// from another Baton project at a tag (not the branch head) and a file of a
// third project with include:project. A user who may not read the
// component's project gets "not found or access denied" and no pipeline.
func TestIncludesAcrossProjects(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		_, comp := in.project("components", map[string]string{"templates/deploy/template.yml": deployComponent})
		comp.git("tag", "1.0.0")
		comp.commit("main moves on", map[string]string{"templates/deploy/template.yml": "head-of-main:\n  script: x\n"})
		comp.git("push", "-q", in.pushURL("root/components"), "main", "--tags")
		in.project("shared", map[string]string{"ci/lint.yml": "lint:\n  stage: .pre\n  script: lint\n"})
		appYAML := `stages: [build, deploy]
include:
  - component: $CI_SERVER_FQDN/root/components/deploy@1.0.0
    inputs:
      env: production
  - project: root/shared
    file: [ci/lint.yml]
build:
  stage: build
  script: make
`
		pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": appYAML})
		pl := in.latestPipeline(pid)
		var jobs []struct {
			Name  string `json:"name"`
			Stage string `json:"stage"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs", pid, pl.ID), nil, http.StatusOK, &jobs)
		got := map[string]string{}
		for _, j := range jobs {
			got[j.Name] = j.Stage
		}
		want := map[string]string{"lint": ".pre", "build": "build", "deploy-production": "deploy"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pushed pipeline %d (%s) has jobs %v, want %v", pl.ID, pl.Status, got, want)
		}

		devID, devToken := in.user("dev")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]string{"PRIVATE-TOKEN": devToken}, map[string]string{"ref": "main"})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "project `root/components` not found or access denied!") {
			t.Errorf("dev's pipeline: %d %s, want 400 saying the component's project is not found or not accessible", status, body)
		}
		// Once dev may read the component's project, the same request plans.
		in.api("POST", "/api/v4/projects/root%2Fcomponents/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		in.api("POST", "/api/v4/projects/root%2Fshared/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		status, body, _ = in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]string{"PRIVATE-TOKEN": devToken}, map[string]string{"ref": "main"})
		if status != http.StatusCreated {
			t.Errorf("dev's pipeline with access: %d %s, want 201", status, body)
		}
	})
}

// TestCILint drives GET and POST /projects/:id/ci/lint through client-go's
// Validate service: values in GitLab's shape (valid, errors, warnings,
// merged_yaml, includes, jobs), and the policy: POST needs CreatePipeline,
// GET ReadCode, and a private project answers a stranger like a missing one.
func TestCILint(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.project("shared", map[string]string{"ci/lint.yml": "lint:\n  stage: .pre\n  script: lint\n"})
		cfg := "include:\n  - project: root/shared\n    file: ci/lint.yml\n  - local: ci/build.yml\nworkflow:\n  rules:\n    - if: $CI_COMMIT_TAG\n"
		pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": cfg,
			"ci/build.yml": ".base:\n  image: alpine\nbuild:\n  extends: .base\n  script: [make]\n  tags: [docker]\n"})
		gl, err := gitlab.NewClient(in.token, gitlab.WithBaseURL(in.url+"/api/v4"))
		if err != nil {
			t.Fatal(err)
		}
		// The push (whose pipeline workflow filters out) sets the default branch.
		eventually(t, 10*time.Second, "the default branch", func() bool {
			p, _, err := gl.Projects.GetProject(pid, nil)
			return err == nil && p.DefaultBranch == "main"
		})
		res, _, err := gl.Validate.ProjectNamespaceLint(pid, &gitlab.ProjectNamespaceLintOptions{Content: gitlab.Ptr(cfg)})
		if err != nil {
			t.Fatalf("ProjectNamespaceLint: %v", err)
		}
		if !res.Valid || len(res.Errors) != 0 || !strings.Contains(res.MergedYaml, "build:\n  image: alpine\n") {
			t.Errorf("static lint = %+v, want valid with build's extends merged", res)
		}
		var locs []string
		for _, inc := range res.Includes {
			locs = append(locs, inc.Type+" "+inc.Location)
		}
		if fmt.Sprint(locs) != "[file root/shared:ci/lint.yml local ci/build.yml]" {
			t.Errorf("includes = %q", locs)
		}
		// A dry run for the default branch is filtered by workflow.
		res, _, err = gl.Validate.ProjectNamespaceLint(pid, &gitlab.ProjectNamespaceLintOptions{Content: gitlab.Ptr(cfg), DryRun: gitlab.Ptr(true)})
		if err != nil || res.Valid || fmt.Sprint(res.Errors) != "[Pipeline filtered out by workflow rules.]" {
			t.Errorf("dry run = %+v, %v; want invalid, filtered out by workflow rules", res, err)
		}
		// The dry run's rules see the predefined variables a push to the
		// default branch gets (ci.PredefinedVariables, as Create's do).
		onMain := "workflow:\n  rules:\n    - if: $CI_COMMIT_BRANCH == \"main\" && $CI_PIPELINE_SOURCE == \"push\" && $CI_PROJECT_PATH == \"root/app\"\nbuild:\n  script: [make]\n"
		res, _, err = gl.Validate.ProjectNamespaceLint(pid, &gitlab.ProjectNamespaceLintOptions{Content: gitlab.Ptr(onMain), DryRun: gitlab.Ptr(true)})
		if err != nil || !res.Valid || len(res.Errors) != 0 {
			t.Errorf("dry run on main = %+v, %v; want valid, workflow rules seeing the predefined variables", res, err)
		}
		res, _, err = gl.Validate.ProjectNamespaceLint(pid, &gitlab.ProjectNamespaceLintOptions{Content: gitlab.Ptr("build:\n  script: x\n  when: sometimes\n")})
		if err != nil || res.Valid || len(res.Errors) != 1 || !strings.Contains(res.Errors[0], "jobs:build:when config should be one of") {
			t.Errorf("invalid content = %+v, %v", res, err)
		}
		got, _, err := gl.Validate.ProjectLint(pid, &gitlab.ProjectLintOptions{ContentRef: gitlab.Ptr("main")})
		if err != nil || !got.Valid {
			t.Errorf("ProjectLint at main = %+v, %v", got, err)
		}
		// Jobs are listed with include_jobs (client-go's result has no jobs field).
		var withJobs struct {
			Jobs []struct {
				Name    string   `json:"name"`
				Stage   string   `json:"stage"`
				Script  []string `json:"script"`
				TagList []string `json:"tag_list"`
			} `json:"jobs"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/ci/lint", pid), map[string]any{"content": cfg, "include_jobs": true}, http.StatusOK, &withJobs)
		if fmt.Sprint(withJobs.Jobs) != "[{lint .pre [lint] []} {build test [make] [docker]}]" {
			t.Errorf("jobs = %+v", withJobs.Jobs)
		}

		// Policy: a reporter may GET (ReadCode) but not POST (CreatePipeline);
		// a stranger gets the 404 of a missing project.
		repID, reporter := in.user("rep")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(repID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		_, stranger := in.user("stranger")
		L := fmt.Sprintf("/api/v4/projects/%d/ci/lint", pid)
		as := func(tok string) map[string]string { return map[string]string{"PRIVATE-TOKEN": tok} }
		if st, body, _ := in.do("GET", L, as(reporter), nil); st != http.StatusOK {
			t.Errorf("reporter GET: %d %s", st, body)
		}
		if st, body, _ := in.do("POST", L, as(reporter), map[string]string{"content": cfg}); st != http.StatusForbidden {
			t.Errorf("reporter POST: %d %s, want 403", st, body)
		}
		st, priv, _ := in.do("POST", L, as(stranger), map[string]string{"content": cfg})
		ms, miss, _ := in.do("POST", "/api/v4/projects/999999/ci/lint", as(stranger), map[string]string{"content": cfg})
		if st != http.StatusNotFound || st != ms || string(priv) != string(miss) {
			t.Errorf("stranger: private %d %s, missing %d %s; want the same 404", st, priv, ms, miss)
		}
		if st, body, _ := in.do("POST", L, nil, map[string]string{}); st != http.StatusNotFound && st != http.StatusUnauthorized {
			t.Errorf("anonymous POST: %d %s", st, body)
		}
		if st, body, _ := in.do("POST", L, as(in.token), map[string]string{}); st != http.StatusBadRequest || !strings.Contains(string(body), "content is missing") {
			t.Errorf("POST without content: %d %s, want 400", st, body)
		}

		// The CI lint page: developers and up, a textarea form with CSRF.
		W := "/root/app/-/ci/lint"
		b := newBrowser(t, in.url)
		b.signIn(in.token)
		form := url.Values{"_csrf": {b.csrf(W)}, "content": {cfg}}
		status, page, _ := b.post(W, form)
		if status != http.StatusOK || !strings.Contains(page, "Syntax is correct.") || !strings.Contains(page, "<td>build</td><td>test</td>") ||
			!strings.Contains(page, "root/shared:ci/lint.yml") {
			t.Errorf("lint page: %d %s", status, page)
		}
		form.Set("content", "build:\n  script: x\n  when: sometimes\n")
		if status, page, _ := b.post(W, form); status != http.StatusOK || !strings.Contains(page, "This configuration is invalid.") ||
			!strings.Contains(page, "jobs:build:when config should be one of") {
			t.Errorf("lint page with invalid content: %d %s", status, page)
		}
		if status, _, _ := b.post(W, url.Values{"content": {cfg}}); status != http.StatusForbidden {
			t.Errorf("lint page without CSRF: %d, want 403", status)
		}
		r := newBrowser(t, in.url)
		r.signIn(reporter)
		if status, _, _ := r.get(W); status != http.StatusForbidden {
			t.Errorf("lint page as reporter: %d, want 403", status)
		}
		sb := newBrowser(t, in.url)
		sb.signIn(stranger)
		if status, _, _ := sb.get(W); status != http.StatusNotFound {
			t.Errorf("lint page of a private project as a stranger: %d, want 404", status)
		}
	})
}

// TestIncludeRemoteAndTemplate: include:remote reads only from the hosts
// --include-remote-allow names (here a local server), and include:template
// reads the --templates-project project.
func TestIncludeRemoteAndTemplate(t *testing.T) {
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ci/remote.yml" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("remote-job:\n  script: echo remote\n"))
	}))
	defer remote.Close()
	ru, _ := url.Parse(remote.URL)
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, func(c *Config) {
			c.Includes.RemoteAllow = "ci.example.com, " + ru.Host
			c.Includes.TemplatesProject = "root/templates"
		})
		in.project("templates", map[string]string{"Jobs/Lint.gitlab-ci.yml": "template-lint:\n  stage: .pre\n  script: lint\n"})
		cfg := "include:\n  - remote: " + remote.URL + "/ci/remote.yml\n  - template: Jobs/Lint.gitlab-ci.yml\nbuild:\n  script: make\n"
		pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": cfg})
		pl := in.latestPipeline(pid)
		var jobs []struct {
			Name string `json:"name"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs", pid, pl.ID), nil, http.StatusOK, &jobs)
		var names []string
		for _, j := range jobs {
			names = append(names, j.Name)
		}
		sort.Strings(names)
		if fmt.Sprint(names) != "[build remote-job template-lint]" {
			t.Fatalf("pipeline %d (%s) jobs = %v", pl.ID, pl.Status, names)
		}
		// A host the flag does not name is refused, with the include chain.
		other := strings.Replace(remote.URL, "127.0.0.1", "localhost", 1)
		status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/ci/lint", pid), map[string]string{"PRIVATE-TOKEN": in.token},
			map[string]string{"content": "include:\n  - remote: " + other + "/ci/remote.yml\nbuild:\n  script: make\n"})
		if status != http.StatusOK || !strings.Contains(string(body), "is not allowed (--include-remote-allow)") || !strings.Contains(string(body), `"valid":false`) {
			t.Errorf("lint of a remote include from a host not allowed: %d %s", status, body)
		}
	})
}
