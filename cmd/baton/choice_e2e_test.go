package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestArtifactChoice covers the choices that need several pipelines of one
// commit or ref: the commit scope prefers a successful job's archive over a
// newer failed one, and the ref scope finds a job missing from the newest
// successful pipeline only with search_recent_successful_pipelines.
func TestArtifactChoice(t *testing.T) {
	in := startBaton(t, engines()[0])
	in.startRunner(in.runnerToken(), 2)
	pid, r := in.project("choice", map[string]string{".gitlab-ci.yml": `
build:
  script:
    - mkdir -p out && echo "$CI_PIPELINE_ID" > out/id.txt
    - test "$FAIL" != yes
  artifacts:
    when: always
    paths: [out/]
  rules:
    - if: $SKIP_BUILD != "yes"
other:
  script: echo other
`})
	head := r.git("rev-parse", "HEAD")[:40]
	run := func(vars map[string]string) int64 {
		t.Helper()
		var body []map[string]string
		for k, v := range vars {
			body = append(body, map[string]string{"key": k, "value": v})
		}
		var pl apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]any{"ref": "main", "variables": body}, http.StatusCreated, &pl)
		in.waitPipeline(pid, pl.ID, 60*time.Second, "success", "failed")
		return pl.ID
	}
	push := in.latestPipeline(pid)
	in.waitPipeline(pid, push.ID, 60*time.Second, "success")
	failed := run(map[string]string{"FAIL": "yes"}) // newer, failed, with an archive
	raw := func(path string) (int, string) {
		status, body, _ := in.do("GET", path, map[string]string{"PRIVATE-TOKEN": in.token}, nil)
		return status, string(body)
	}
	if status, body := raw(fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s/artifacts/raw/out/id.txt?job=build", pid, head[:10])); status != http.StatusOK || body != fmt.Sprintf("%d\n", push.ID) {
		t.Fatalf("commit scope = %d %q; want the successful pipeline %d's archive, not the newer failed %d's", status, body, push.ID, failed)
	}
	if status, body := raw(fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts/raw/out/id.txt?job=build", pid, failed)); status != http.StatusOK || body != fmt.Sprintf("%d\n", failed) {
		t.Fatalf("the failed pipeline's own archive = %d %q", status, body)
	}

	// The newest successful pipeline has no build job.
	run(map[string]string{"SKIP_BUILD": "yes"})
	byRef := fmt.Sprintf("/api/v4/projects/%d/jobs/artifacts/main/raw/out/id.txt?job=build", pid)
	if status, body := raw(byRef); status != http.StatusNotFound {
		t.Fatalf("by ref without search: %d %q, want 404 (GitLab looks at the newest successful pipeline only)", status, body)
	}
	if status, body := raw(byRef + "&search_recent_successful_pipelines=true"); status != http.StatusOK || body != fmt.Sprintf("%d\n", push.ID) {
		t.Fatalf("by ref with search_recent_successful_pipelines: %d %q, want pipeline %d's", status, body, push.ID)
	}
}
