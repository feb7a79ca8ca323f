package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestExternalCommitStatus reports commit statuses as an outside system
// would (POST /statuses/:sha) and checks they are jobs of the commit's
// pipeline, as GitLab's: shown in its graph in stage external, its status
// following theirs (running while one runs, failed when one fails), a
// pipeline with source external created for a commit without one, and
// never handed to a runner.
func TestExternalCommitStatus(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, repo := in.project("ext", map[string]string{".gitlab-ci.yml": "build:\n  script: [make]\n"})
		pl := in.pushPipeline(pid)
		runner := in.runnerToken()
		in.finishJob(in.requestJob(runner), false)
		in.waitPipeline(pid, pl.ID, 30*time.Second, "success")

		base := fmt.Sprintf("/api/v4/projects/%d", pid)
		type status struct {
			ID         int64  `json:"id"`
			Status     string `json:"status"`
			Name       string `json:"name"`
			Ref        string `json:"ref"`
			PipelineID *int64 `json:"pipeline_id"`
		}
		report := func(sha, state string, extra ...string) status {
			t.Helper()
			form := url.Values{"state": {state}, "name": {"lint"}}
			for i := 0; i+1 < len(extra); i += 2 {
				form.Set(extra[i], extra[i+1])
			}
			var s status
			in.api("POST", base+"/statuses/"+sha, form, http.StatusCreated, &s)
			if s.Status != state || s.Name != "lint" || s.PipelineID == nil {
				t.Fatalf("reported %s: %+v", state, s)
			}
			return s
		}
		pipeline := func(id int64) apiPipeline {
			t.Helper()
			var p apiPipeline
			in.api("GET", fmt.Sprintf("%s/pipelines/%d", base, id), nil, http.StatusOK, &p)
			return p
		}
		noJobForRunner := func() {
			t.Helper()
			code, body, _ := in.do("POST", "/api/v4/jobs/request", nil, map[string]any{"token": runner})
			if code != http.StatusNoContent {
				t.Fatalf("runner asked for a job with only external statuses pending: %d %s", code, body)
			}
		}

		// A running status on a finished pipeline's commit runs it again.
		if s := report(pl.SHA, "running"); *s.PipelineID != pl.ID || s.Ref != "main" {
			t.Fatalf("status went to pipeline %d ref %q, want %d main", *s.PipelineID, s.Ref, pl.ID)
		}
		if got := pipeline(pl.ID).Status; got != "running" {
			t.Fatalf("pipeline %s with a running external status, want running", got)
		}
		noJobForRunner()
		// GitLab lists builds at /pipelines/:id/jobs, not commit statuses.
		if _, ok := in.jobs(pid, pl.ID, false)["lint"]; ok {
			t.Errorf("the external status is listed with the pipeline's jobs")
		}
		web := newBrowser(t, in.url)
		web.signIn(in.token)
		_, page, _ := web.get(fmt.Sprintf("/root/ext/-/pipelines/%d", pl.ID))
		node := regexp.MustCompile(`data-job="(\d+)"[^>]*>\s*<a [^>]*title="lint: running"`).FindStringSubmatch(page)
		if node == nil || !strings.Contains(page, `</span>external</div>`) {
			t.Fatalf("pipeline graph lacks the running external job lint in stage external:\n%s", page)
		}
		// Not a job of the jobs API: no retry, no cancel, no play there.
		for _, c := range []struct{ method, path string }{{"GET", "/jobs/" + node[1]},
			{"POST", "/jobs/" + node[1] + "/retry"}, {"POST", "/jobs/" + node[1] + "/cancel"}} {
			method, path := c.method, c.path
			if code, body, _ := in.do(method, base+path, map[string]string{"PRIVATE-TOKEN": in.token}, nil); code != http.StatusNotFound {
				t.Errorf("%s %s: %d %s, want 404", method, path, code, body)
			}
		}

		// A failed status (not allowed to fail) fails the pipeline.
		report(pl.SHA, "failed")
		if got := pipeline(pl.ID).Status; got != "failed" {
			t.Fatalf("pipeline %s after a failed external status, want failed", got)
		}
		// Reported again once finished, it is a new job: pending runs the
		// pipeline again, success passes it.
		report(pl.SHA, "pending")
		if got := pipeline(pl.ID).Status; got != "running" {
			t.Fatalf("pipeline %s with a pending external status, want running", got)
		}
		noJobForRunner()
		report(pl.SHA, "success", "pipeline_id", fmt.Sprint(pl.ID))
		if got := pipeline(pl.ID).Status; got != "success" {
			t.Fatalf("pipeline %s after the external status passed, want success", got)
		}
		if code, body, _ := in.do("POST", base+"/statuses/"+pl.SHA, map[string]string{"PRIVATE-TOKEN": in.token},
			url.Values{"state": {"running"}, "pipeline_id": {fmt.Sprint(pl.ID + 1000)}}); code != http.StatusNotFound {
			t.Errorf("a status for an unknown pipeline_id: %d %s, want 404", code, body)
		}
		// Too long fields: the first of name, ref, target_url, description is
		// named, the same one every time.
		long := strings.Repeat("x", 256)
		for range 8 {
			code, body, _ := in.do("POST", base+"/statuses/"+pl.SHA, map[string]string{"PRIVATE-TOKEN": in.token},
				url.Values{"state": {"running"}, "name": {long}, "description": {long}})
			if code != http.StatusBadRequest || !strings.Contains(string(body), "name is too long (maximum is 255 characters)") {
				t.Fatalf("a status with too long a name and description: %d %s, want 400 naming name", code, body)
			}
		}

		// A commit without a pipeline gets one, with source external.
		sha := repo.commit("docs [skip ci]", map[string]string{"README.md": "docs\n"})
		repo.git("push", "-q", in.pushURL("root/ext"), "main")
		s := report(sha, "pending")
		ext := pipeline(*s.PipelineID)
		if ext.ID == pl.ID || ext.Source != "external" || ext.SHA != sha || ext.Ref != "main" || ext.Status != "pending" {
			t.Fatalf("pipeline of a commit without one: %+v, want a pending external one at %s on main", ext, sha)
		}
		noJobForRunner()
		if s := report(sha, "failed"); *s.PipelineID != ext.ID {
			t.Fatalf("second report went to pipeline %d, want %d", *s.PipelineID, ext.ID)
		}
		if got := pipeline(ext.ID).Status; got != "failed" {
			t.Fatalf("external pipeline %s after its status failed, want failed", got)
		}
	})
}
