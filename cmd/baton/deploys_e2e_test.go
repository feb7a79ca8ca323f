package main

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const environmentConfig = `
stages: [deploy, cleanup]
deploy:
  stage: deploy
  script:
    - echo "env=$CI_ENVIRONMENT_NAME slug=$CI_ENVIRONMENT_SLUG url=$CI_ENVIRONMENT_URL action=$CI_ENVIRONMENT_ACTION tier=$CI_ENVIRONMENT_TIER"
  environment:
    name: review/$CI_COMMIT_REF_NAME
    url: https://$CI_COMMIT_REF_SLUG.example.com
    on_stop: stop
    auto_stop_in: 1 week
stop:
  stage: deploy
  script: ['echo "stopping $CI_ENVIRONMENT_NAME ($CI_ENVIRONMENT_ACTION)"']
  when: manual
  environment:
    name: review/$CI_COMMIT_REF_NAME
    action: stop
`

type apiEnvironment struct {
	ID             int64          `json:"id"`
	Name           string         `json:"name"`
	Slug           string         `json:"slug"`
	ExternalURL    string         `json:"external_url"`
	State          string         `json:"state"`
	Tier           string         `json:"tier"`
	AutoStopAt     *time.Time     `json:"auto_stop_at"`
	LastDeployment *apiDeployment `json:"last_deployment"`
}

type apiDeployment struct {
	ID          int64  `json:"id"`
	IID         int64  `json:"iid"`
	Ref         string `json:"ref"`
	SHA         string `json:"sha"`
	Status      string `json:"status"`
	Environment *struct {
		Name string `json:"name"`
	} `json:"environment"`
	Deployable *struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		Status   string `json:"status"`
		Pipeline struct {
			ID int64 `json:"id"`
		} `json:"pipeline"`
	} `json:"deployable"`
	User *struct {
		Username string `json:"username"`
	} `json:"user"`
}

// TestEnvironmentsE2E: a job with environment: (expanded name and url,
// on_stop) run by Baton's runner creates the environment and a deployment
// visible in the API, sees CI_ENVIRONMENT_*; stopping it through the API
// runs the on_stop job and stops it; only a stopped environment is
// deleted; Reporters read, Developers stop, strangers see nothing.
func TestEnvironmentsE2E(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": environmentConfig})
		pl := in.latestPipeline(pid)
		eventually(t, 30*time.Second, "deploy succeeded", func() bool {
			js := in.jobs(pid, pl.ID, false)
			return len(js["deploy"]) > 0 && js["deploy"][0].Status == "success"
		})
		deployJob := in.jobs(pid, pl.ID, false)["deploy"][0]
		// The deployment follows the job's finish (the runner's report
		// comes first): wait for it to show.
		var envs []apiEnvironment
		eventually(t, 10*time.Second, "the deployment recorded", func() bool {
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/environments", pid), nil, http.StatusOK, &envs)
			return len(envs) == 1 && envs[0].AutoStopAt != nil
		})
		if len(envs) != 1 || envs[0].Name != "review/main" || envs[0].ExternalURL != "https://main.example.com" ||
			envs[0].State != "available" || envs[0].Tier != "development" || envs[0].AutoStopAt == nil {
			t.Fatalf("environments = %+v", envs)
		}
		env := envs[0]
		trace := in.trace(pid, deployJob.ID)
		want := fmt.Sprintf("env=review/main slug=%s url=https://main.example.com action=start tier=development", env.Slug)
		if !strings.Contains(trace, want) || !strings.HasPrefix(env.Slug, "review-main-") {
			t.Errorf("deploy log lacks %q:\n%s", want, trace)
		}
		var got apiEnvironment
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/environments/%d", pid, env.ID), nil, http.StatusOK, &got)
		ld := got.LastDeployment
		if ld == nil || ld.Status != "success" || ld.Ref != "main" || ld.Deployable == nil || ld.Deployable.ID != deployJob.ID ||
			ld.Deployable.Pipeline.ID != pl.ID || ld.User == nil || ld.User.Username != "root" {
			t.Fatalf("last_deployment = %+v", ld)
		}
		var deps []apiDeployment
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/deployments", pid), nil, http.StatusOK, &deps)
		if len(deps) != 1 || deps[0].ID != ld.ID || deps[0].IID != 1 || deps[0].Environment == nil || deps[0].Environment.Name != "review/main" {
			t.Fatalf("deployments = %+v", deps)
		}
		var one apiDeployment
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/deployments/%d", pid, ld.ID), nil, http.StatusOK, &one)
		if one.Status != "success" || one.SHA != pl.SHA {
			t.Errorf("deployment = %+v", one)
		}

		// Who may do what: a Reporter reads but cannot stop; a stranger
		// sees a private project's environment as absent.
		reporterID, reporter := in.user("rita")
		_, stranger := in.user("sam")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(reporterID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		envPath := fmt.Sprintf("/api/v4/projects/%d/environments/%d", pid, env.ID)
		for _, c := range []struct {
			token, method, path string
			want                int
		}{
			{reporter, "GET", envPath, http.StatusOK},
			{reporter, "GET", fmt.Sprintf("/api/v4/projects/%d/deployments", pid), http.StatusOK},
			{reporter, "POST", envPath + "/stop", http.StatusForbidden},
			{reporter, "DELETE", envPath, http.StatusForbidden},
			{stranger, "GET", envPath, http.StatusNotFound},
			{stranger, "POST", envPath + "/stop", http.StatusNotFound},
			{"", "GET", envPath, http.StatusNotFound},
		} {
			if status, body, _ := in.do(c.method, c.path, map[string]string{"PRIVATE-TOKEN": c.token}, nil); status != c.want {
				t.Errorf("%s %s as %q: %d, want %d: %s", c.method, c.path, c.token, status, c.want, body)
			}
		}
		// A running environment cannot be deleted.
		if status, _, _ := in.do("DELETE", envPath, map[string]string{"PRIVATE-TOKEN": in.token}, nil); status != http.StatusForbidden {
			t.Errorf("DELETE of an available environment: %d, want 403", status)
		}

		// The environments page: Reporters see the last deployment but no
		// Stop button, and cannot stop; a Developer's Stop plays on_stop.
		page := "/root/app/-/environments"
		rb := newBrowser(t, in.url)
		rb.signIn(reporter)
		status, body, _ := rb.get(page)
		if status != http.StatusOK || !strings.Contains(body, "review/main") || !strings.Contains(body, fmt.Sprintf("/-/jobs/%d", deployJob.ID)) ||
			strings.Contains(body, "/stop") {
			t.Errorf("environments page as a Reporter: %d\n%s", status, body)
		}
		stopPath := fmt.Sprintf("%s/%d/stop", page, env.ID)
		if status, _, _ := rb.post(stopPath, url.Values{"_csrf": {rb.csrf(page)}}); status == http.StatusSeeOther {
			t.Errorf("a Reporter stopped an environment from the web UI")
		}
		in.api("GET", envPath, nil, http.StatusOK, &got)
		if got.State != "available" {
			t.Fatalf("state after a Reporter's stop = %q", got.State)
		}
		ob := newBrowser(t, in.url)
		ob.signIn(in.token)
		status, body, _ = ob.get(page)
		if status != http.StatusOK || !strings.Contains(body, stopPath) {
			t.Fatalf("environments page as owner has no Stop: %d\n%s", status, body)
		}
		if status, body, _ := ob.post(stopPath, url.Values{"_csrf": {ob.csrf(page)}}); status != http.StatusSeeOther {
			t.Fatalf("Stop from the web UI: %d %s", status, body)
		}
		in.api("GET", envPath, nil, http.StatusOK, &got)
		if got.State != "stopping" && got.State != "stopped" {
			t.Errorf("state after stop = %q, want stopping", got.State)
		}
		eventually(t, 30*time.Second, "environment stopped", func() bool {
			in.api("GET", envPath, nil, http.StatusOK, &got)
			return got.State == "stopped"
		})
		stopJob := in.jobs(pid, pl.ID, false)["stop"][0]
		if stopJob.Status != "success" || !strings.Contains(in.trace(pid, stopJob.ID), "stopping review/main (stop)") {
			t.Errorf("stop job %s: %s", stopJob.Status, in.trace(pid, stopJob.ID))
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/environments?states=stopped", pid), nil, http.StatusOK, &envs)
		if len(envs) != 1 {
			t.Errorf("stopped environments = %+v", envs)
		}
		in.api("DELETE", envPath, nil, http.StatusNoContent, nil)
		in.api("GET", envPath, nil, http.StatusNotFound, nil)

		// Created through the API; names are unique per project.
		var created apiEnvironment
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/environments", pid), url.Values{"name": {"production"}, "external_url": {"https://example.com"}}, http.StatusCreated, &created)
		if created.Tier != "production" || created.State != "available" || created.Slug != "production" {
			t.Errorf("created = %+v", created)
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/environments", pid), url.Values{"name": {"production"}}, http.StatusBadRequest, nil)
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/environments", pid), url.Values{"name": {"x"}, "external_url": {"javascript:alert(1)"}}, http.StatusBadRequest, nil)
		// Stopping one without deployments stops it at once.
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/environments/%d/stop", pid, created.ID), nil, http.StatusOK, &got)
		if got.State != "stopped" {
			t.Errorf("stopping an environment without deployments: %q", got.State)
		}
	})
}

// TestResourceGroupE2E: jobs sharing a resource_group, picked up by a
// runner that could run them all at once, run one at a time (each takes
// a lock directory and fails if another holds it); a job outside the group
// runs beside them. The group shows in the API and its process_mode
// changes.
func TestResourceGroupE2E(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 4)
		lock := filepath.Join(t.TempDir(), "lock")
		script := fmt.Sprintf(`['mkdir %q || { echo OVERLAP; exit 1; }', 'sleep 1', 'rmdir %q']`, lock, lock)
		config := fmt.Sprintf(`
d1: {script: %[1]s, resource_group: production}
d2: {script: %[1]s, resource_group: production}
d3: {script: %[1]s, resource_group: $GROUP}
free: {script: ['true']}
variables: {GROUP: production}
`, script)
		pid, _ := in.project("rg", map[string]string{".gitlab-ci.yml": config})
		pl := in.latestPipeline(pid)
		in.waitPipeline(pid, pl.ID, 60*time.Second, "success", "failed")
		jobs := in.jobs(pid, pl.ID, false)
		for _, name := range []string{"d1", "d2", "d3", "free"} {
			if j := jobs[name][0]; j.Status != "success" {
				t.Errorf("%s: %s\n%s", name, j.Status, in.trace(pid, j.ID))
			}
		}
		var groups []struct {
			Key         string `json:"key"`
			ProcessMode string `json:"process_mode"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/resource_groups", pid), nil, http.StatusOK, &groups)
		if len(groups) != 1 || groups[0].Key != "production" || groups[0].ProcessMode != "unordered" {
			t.Errorf("resource groups = %+v", groups)
		}
		path := fmt.Sprintf("/api/v4/projects/%d/resource_groups/production", pid)
		in.api("PUT", path, url.Values{"process_mode": {"newest_first"}}, http.StatusOK, &groups[0])
		if groups[0].ProcessMode != "newest_first" {
			t.Errorf("after PUT: %+v", groups[0])
		}
		in.api("PUT", path, url.Values{"process_mode": {"fastest_first"}}, http.StatusBadRequest, nil)
		var upcoming []apiJob
		in.api("GET", path+"/upcoming_jobs", nil, http.StatusOK, &upcoming)
		if len(upcoming) != 0 {
			t.Errorf("upcoming jobs after all ran: %+v", upcoming)
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/resource_groups/staging", pid), nil, http.StatusNotFound, nil)
		_, reporter := in.user("rita")
		if status, _, _ := in.do("PUT", path, map[string]string{"PRIVATE-TOKEN": reporter}, url.Values{"process_mode": {"unordered"}}); status != http.StatusNotFound {
			t.Errorf("a stranger's PUT: %d, want 404", status)
		}
	})
}

const releaseConfig = `
stages: [build, release]
build:
  stage: build
  script:
    - mkdir -p dist
    - echo "app built from $CI_COMMIT_SHA" > dist/app.tar.gz
  artifacts: {paths: [dist/]}
release:
  stage: release
  script: ['echo releasing $CI_COMMIT_TAG']
  rules: [{if: $CI_COMMIT_TAG}]
  release:
    tag_name: $CI_COMMIT_TAG
    name: App $CI_COMMIT_TAG
    description: Built by pipeline $CI_PIPELINE_ID
    assets:
      links:
        - name: app.tar.gz
          url: $CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/artifacts/raw/dist/app.tar.gz?job=build
          link_type: package
          filepath: /app.tar.gz
`

type apiRelease struct {
	TagName     string `json:"tag_name"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Commit      struct {
		ID string `json:"id"`
	} `json:"commit"`
	Author *struct {
		Username string `json:"username"`
	} `json:"author"`
	Assets struct {
		Count int              `json:"count"`
		Links []apiReleaseLink `json:"links"`
	} `json:"assets"`
}

type apiReleaseLink struct {
	ID             int64  `json:"id"`
	Name           string `json:"name"`
	URL            string `json:"url"`
	DirectAssetURL string `json:"direct_asset_url"`
	LinkType       string `json:"link_type"`
}

// TestReleasesE2E: a tag pipeline's release: job, run by Baton's runner,
// creates a release whose asset link, a pipeline-scoped artifact URL,
// downloads the build job's file (directly and through the release's
// permanent link); the releases API creates, edits and deletes releases
// and links as GitLab's does, with GitLab's abilities; the web UI lists them.
func TestReleasesE2E(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, r := in.project("rel", map[string]string{".gitlab-ci.yml": releaseConfig})
		first := in.latestPipeline(pid)
		in.waitPipeline(pid, first.ID, 30*time.Second, "success")
		r.git("tag", "v1.0.0")
		r.git("push", "-q", in.pushURL("root/rel"), "v1.0.0")
		var pl apiPipeline
		eventually(t, 15*time.Second, "the tag pipeline", func() bool {
			pl = in.latestPipeline(pid)
			return pl.ID != first.ID
		})
		pl = in.waitPipeline(pid, pl.ID, 60*time.Second, "success", "failed")
		if pl.Status != "success" {
			t.Fatalf("tag pipeline %s: %s", pl.Status, statuses(in.jobs(pid, pl.ID, false)))
		}
		var rels []apiRelease
		eventually(t, 10*time.Second, "a release", func() bool {
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/releases", pid), nil, http.StatusOK, &rels)
			return len(rels) > 0
		})
		rel := rels[0]
		wantURL := fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%d/artifacts/raw/dist/app.tar.gz?job=build", in.url, pid, pl.ID)
		if len(rels) != 1 || rel.TagName != "v1.0.0" || rel.Name != "App v1.0.0" || rel.Description != fmt.Sprintf("Built by pipeline %d", pl.ID) ||
			rel.Commit.ID != pl.SHA || rel.Author == nil || rel.Author.Username != "root" || rel.Assets.Count != 1 ||
			rel.Assets.Links[0].URL != wantURL || rel.Assets.Links[0].LinkType != "package" ||
			rel.Assets.Links[0].DirectAssetURL != in.url+"/root/rel/-/releases/v1.0.0/downloads/app.tar.gz" {
			t.Fatalf("releases = %+v", rels)
		}
		wantBody := "app built from " + pl.SHA + "\n"
		link := rel.Assets.Links[0]
		status, body, _ := in.do("GET", strings.TrimPrefix(link.URL, in.url), map[string]string{"PRIVATE-TOKEN": in.token}, nil)
		if status != http.StatusOK || string(body) != wantBody {
			t.Errorf("asset link: %d %q, want %q", status, body, wantBody)
		}
		// The permanent link redirects to the asset link.
		b := newBrowser(t, in.url)
		b.signIn(in.token)
		status, _, h := b.get("/root/rel/-/releases/v1.0.0/downloads/app.tar.gz")
		if status != http.StatusFound || h.Get("Location") != link.URL {
			t.Errorf("permanent link: %d to %q", status, h.Get("Location"))
		}
		if status, body, _ := b.get("/root/rel/-/releases"); status != http.StatusOK || !strings.Contains(body, "App v1.0.0") || !strings.Contains(body, "app.tar.gz") {
			t.Errorf("releases page: %d\n%s", status, body)
		}

		// A second pipeline for the tag: its release job's script passes,
		// but the tag has its release already: the job fails as GitLab's
		// release-cli step would fail it, saying why in its log.
		var again apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), url.Values{"ref": {"v1.0.0"}}, http.StatusCreated, &again)
		if again = in.waitPipeline(pid, again.ID, 60*time.Second, "success", "failed"); again.Status != "failed" {
			t.Errorf("second tag pipeline %s, want failed: %s", again.Status, statuses(in.jobs(pid, again.ID, false)))
		}
		if rj := in.jobs(pid, again.ID, false)["release"]; len(rj) != 1 || rj[0].Status != "failed" || rj[0].FailureReason != "script_failure" {
			t.Errorf("second release job: %+v", rj)
		} else if log := in.trace(pid, rj[0].ID); !strings.Contains(log, "releasing v1.0.0") ||
			!strings.Contains(log, "ERROR: Job failed: the release could not be created: Release already exists") {
			t.Errorf("second release job's log:\n%s", log)
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/releases", pid), nil, http.StatusOK, &rels)
		if len(rels) != 1 || rels[0].Description != fmt.Sprintf("Built by pipeline %d", pl.ID) {
			t.Errorf("releases after the second pipeline: %+v", rels)
		}

		// The API: create (at a ref), edit, links, delete; who may what.
		base := fmt.Sprintf("/api/v4/projects/%d/releases", pid)
		var made apiRelease
		in.api("POST", base, map[string]any{"tag_name": "v0.9", "ref": "main", "description": "beta",
			"assets": map[string]any{"links": []map[string]string{{"name": "notes", "url": "https://example.com/notes"}}}}, http.StatusCreated, &made)
		if made.Commit.ID != pl.SHA || made.Name != "v0.9" || made.Assets.Count != 1 || made.Assets.Links[0].LinkType != "other" {
			t.Errorf("created = %+v", made)
		}
		in.api("POST", base, map[string]any{"tag_name": "v0.9", "ref": "main"}, http.StatusConflict, nil)
		in.api("POST", base, map[string]any{"tag_name": "v0.8"}, http.StatusBadRequest, nil) // no such tag, no ref
		in.api("POST", base, map[string]any{"tag_name": "v0.7", "ref": "main",
			"assets": map[string]any{"links": []map[string]string{{"name": "x", "url": "javascript:alert(1)"}}}}, http.StatusBadRequest, nil)
		in.api("PUT", base+"/v0.9", map[string]any{"name": "Beta", "description": "second beta"}, http.StatusOK, &made)
		if made.Name != "Beta" || made.Description != "second beta" {
			t.Errorf("edited = %+v", made)
		}
		var l apiReleaseLink
		in.api("POST", base+"/v0.9/assets/links", url.Values{"name": {"bin"}, "url": {link.URL}, "link_type": {"package"}}, http.StatusCreated, &l)
		in.api("POST", base+"/v0.9/assets/links", url.Values{"name": {"bin"}, "url": {"https://example.com/other"}}, http.StatusBadRequest, nil)
		in.api("PUT", fmt.Sprintf("%s/v0.9/assets/links/%d", base, l.ID), url.Values{"name": {"binary"}}, http.StatusOK, &l)
		// Given both, direct_asset_path wins over filepath, as on create, every time.
		for i := range 8 {
			var e struct {
				DirectAssetURL string `json:"direct_asset_url"`
			}
			in.api("PUT", fmt.Sprintf("%s/v0.9/assets/links/%d", base, l.ID), url.Values{"filepath": {fmt.Sprint("/old", i)}, "direct_asset_path": {fmt.Sprint("/new", i)}}, http.StatusOK, &e)
			if want := fmt.Sprint("/-/releases/v0.9/downloads/new", i); !strings.HasSuffix(e.DirectAssetURL, want) {
				t.Fatalf("edit %d with filepath and direct_asset_path: direct_asset_url %q, want ...%s", i, e.DirectAssetURL, want)
			}
		}
		var links []apiReleaseLink
		in.api("GET", base+"/v0.9/assets/links", nil, http.StatusOK, &links)
		if len(links) != 2 || links[1].Name != "binary" {
			t.Errorf("links = %+v", links)
		}
		in.api("DELETE", fmt.Sprintf("%s/v0.9/assets/links/%d", base, l.ID), nil, http.StatusOK, nil)
		in.api("GET", fmt.Sprintf("%s/v0.9/assets/links/%d", base, l.ID), nil, http.StatusNotFound, nil)

		guestID, guest := in.user("gus")
		devID, dev := in.user("dora")
		_, stranger := in.user("sam")
		for id, lvl := range map[int64]string{guestID: "10", devID: "30"} {
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(id)}, "access_level": {lvl}}, http.StatusCreated, nil)
		}
		for _, c := range []struct {
			token, method, path string
			body                any
			want                int
		}{
			{guest, "GET", base + "/v1.0.0", nil, http.StatusOK},
			{guest, "POST", base, map[string]any{"tag_name": "g1", "ref": "main"}, http.StatusForbidden},
			{dev, "POST", base, map[string]any{"tag_name": "d1", "ref": "main"}, http.StatusCreated},
			{dev, "PUT", base + "/d1", map[string]any{"name": "by dev"}, http.StatusOK},
			{dev, "DELETE", base + "/d1", nil, http.StatusForbidden},
			{stranger, "GET", base + "/v1.0.0", nil, http.StatusNotFound},
			{"", "GET", base, nil, http.StatusNotFound},
			{in.token, "DELETE", base + "/d1", nil, http.StatusOK},
		} {
			if status, body, _ := in.do(c.method, c.path, map[string]string{"PRIVATE-TOKEN": c.token}, c.body); status != c.want {
				t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, status, c.want, body)
			}
		}
		in.api("GET", base+"/d1", nil, http.StatusNotFound, nil)
	})
}
