package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestEveryJSONAnswerIsJSON walks the API's route table against a project
// with a finished pipeline, a job with artifacts, a trigger, a member and
// a project runner, and calls every route (reads, then writes, then
// deletes, the project's own last): every answer whose body is JSON says
// Content-Type: application/json, and every answer that says so is JSON.
// A handler that writes its status before its header (as retry and add
// member once did) is caught here whatever route it is.
func TestEveryJSONAnswerIsJSON(t *testing.T) {
	in := startBaton(t, engines()[0], withSecretsKey(testSecretsKey))
	in.startRunner(in.runnerToken(), 2)
	pid, r := in.project("ct", map[string]string{
		".gitlab-ci.yml": "build:\n  script:\n    - mkdir -p out && echo hi > out/f.txt\n  artifacts:\n    paths: [out/]\n",
		"dir/a.txt":      "a\n",
	})
	r.git("tag", "v1")
	r.git("push", "-q", in.pushURL("root/ct"), "v1")
	pl := in.latestPipeline(pid)
	pl = in.waitPipeline(pid, pl.ID, 30*time.Second, "success")
	build := in.jobs(pid, pl.ID, false)["build"][0]
	var other apiProject
	in.api("POST", "/api/v4/projects", url.Values{"name": {"other"}}, http.StatusCreated, &other)
	devID, _ := in.user("dev")
	var trig struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", pid), url.Values{"description": {"t"}}, http.StatusCreated, &trig)
	var runner struct {
		ID int64 `json:"id"`
	}
	in.api("POST", "/api/v4/user/runners", url.Values{"runner_type": {"project_type"}, "project_id": {fmt.Sprint(other.ID)}}, http.StatusCreated, &runner)

	var sched, hook struct {
		ID int64 `json:"id"`
	}
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules", pid), url.Values{"description": {"s"}, "ref": {"main"}, "cron": {"0 3 * * *"}}, http.StatusCreated, &sched)
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/hooks", pid), url.Values{"url": {"https://hooks.example.com/ct"}}, http.StatusCreated, &hook)

	var env struct {
		ID int64 `json:"id"`
	}
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/environments", pid), url.Values{"name": {"ct"}}, http.StatusCreated, &env)

	values := map[string]string{
		"{environment_id}": fmt.Sprint(env.ID), "{deployment_id}": "1", "{link_id}": "1",
		"{schedule_id}": fmt.Sprint(sched.ID), "{hook_id}": fmt.Sprint(hook.ID), "{trigger}": "pipeline_events",
		"{id}": fmt.Sprint(pid), "{pipeline_id}": fmt.Sprint(pl.ID), "{job_id}": fmt.Sprint(build.ID),
		"{user_id}": fmt.Sprint(devID), "{trigger_id}": fmt.Sprint(trig.ID), "{target_project_id}": fmt.Sprint(other.ID),
		"{runner_id}": fmt.Sprint(runner.ID), "{sha}": pl.SHA, "{ref}": "main", "{branch}": "main", "{tag_name}": "v1",
		"{file_path}": url.PathEscape("dir/a.txt"), "{path...}": "out/f.txt", "{rest...}": "artifacts",
		"{sha256}": fmt.Sprintf("%x", sha256.Sum256([]byte("hi\n"))), // out/f.txt's content
		"{key}":    "CT_VAR", "{name}": "main",
		"{token_id}": "1", // no artifact token: its 404 (jobs mint them; TestArtifactTokens reads real ones)
	}
	query := url.Values{"ref": {"main"}, "job": {"build"}, "from": {"v1"}, "to": {"main"}, "token": {trig.Token}}.Encode()
	body := map[string]any{"ref": "main", "state": "success", "name": "ct", "description": "d", "user_id": devID,
		"access_level": 30, "runner_id": runner.ID, "target_project_id": other.ID, "username": "ctuser", "email": "ct@example.com",
		"key": "CT_VAR", "value": "v"}

	routes := routeTable{}
	in.main.API.Register(routes)
	var patterns []string
	for p := range routes {
		if strings.Contains(p, " ") { // the catch-all has no method
			patterns = append(patterns, p)
		}
	}
	// Reads, then writes, then deletes; deleting the project comes last.
	rank := func(p string) int {
		switch {
		case p == "DELETE /api/v4/projects/{id}":
			return 3
		case strings.HasPrefix(p, "DELETE "):
			return 2
		case strings.HasPrefix(p, "GET "):
			return 0
		}
		return 1
	}
	sort.Slice(patterns, func(i, j int) bool {
		if rank(patterns[i]) != rank(patterns[j]) {
			return rank(patterns[i]) < rank(patterns[j])
		}
		return patterns[i] < patterns[j]
	})
	jsonAnswers := 0
	for _, pattern := range patterns {
		method, path, _ := strings.Cut(pattern, " ")
		for k, v := range values {
			path = strings.ReplaceAll(path, k, v)
		}
		if strings.Contains(path, "{") {
			t.Errorf("%s: no value for a path parameter (add one to values above)", pattern)
			continue
		}
		var rd io.Reader
		if method != "GET" {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, in.url+path+"?"+query, rd)
		req.Header.Set("PRIVATE-TOKEN", in.token)
		if rd != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", pattern, err)
			continue
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		trimmed := bytes.TrimSpace(data)
		isJSON := len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') && json.Valid(trimmed)
		switch {
		case resp.StatusCode >= 500:
			t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
		case isJSON && ct != "application/json":
			t.Errorf("%s %s: %d with a JSON body and Content-Type %q", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
		case ct == "application/json" && !isJSON:
			t.Errorf("%s %s: Content-Type application/json but the body is not JSON: %.100q", method, path, data)
		}
		if isJSON && resp.StatusCode < 300 {
			jsonAnswers++
		}
		t.Logf("%-75s %d %s", pattern, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The walk reached the routes' real work, not only their refusals.
	if jsonAnswers < len(patterns)/2 {
		t.Errorf("only %d of %d routes answered 2xx JSON", jsonAnswers, len(patterns))
	}
}
