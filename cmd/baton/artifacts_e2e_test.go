package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/reaper"
	"github.com/batonci/baton/internal/tests3"
	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// artifactPipeline exercises names and paths with spaces and unicode,
// parallel jobs, an automatic retry and a deploy script handed the job token.
const artifactPipeline = `
stages: [build, test, deploy]
build:
  stage: build
  script:
    - mkdir -p "dist/sub dir"
    - echo hello > "dist/sub dir/héllo wörld.txt"
    - echo '<script>alert(document.domain)</script>' > dist/index.html
    - echo '{"ok":true}' > dist/data.json
    - echo '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>' > dist/logo.svg
  artifacts:
    name: site
    paths: [dist/]
"test suite":
  stage: test
  parallel: 3
  script: mkdir -p r && echo "node $CI_NODE_INDEX of $CI_NODE_TOTAL" > r/node.txt
  artifacts:
    paths: [r/]
flaky:
  stage: test
  retry: 1
  script:
    - mkdir -p f && echo "job $CI_JOB_ID" > f/attempt.txt
    - test -e "$MARKER" || { touch "$MARKER"; exit 1; }
  artifacts:
    when: always
    paths: [f/]
deploy:
  stage: deploy
  script:
    - BATON_URL="$CI_PIPELINE_ARTIFACTS_URL" JOB_TOKEN="$CI_JOB_TOKEN" bash ./deploy.sh
`

const deployScript = `set -euo pipefail
dest=$(mktemp -d)
curl -sfL -H "JOB-TOKEN: $JOB_TOKEN" -o "$dest/site.zip" "$BATON_URL?job=build"
cd "$dest" && unzip -q site.zip
test "$(cat "dist/sub dir/héllo wörld.txt")" = hello
echo "deployed $(ls dist | wc -l) entries"
`

func TestArtifacts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		testArtifacts(t, startBaton(t, e), false)
	})
}

func TestArtifactsOnS3(t *testing.T) {
	for _, mode := range []string{"proxy", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			b := tests3.Server(t)
			in := startBaton(t, engines()[0], func(c *Config) {
				c.ArtifactStore, c.S3Endpoint, c.S3Bucket, c.S3Region = "s3", b.Endpoint, b.Bucket, b.Region
				c.S3AccessKey, c.S3SecretKey, c.S3UseSSL, c.ArtifactDownload = b.AccessKey, b.SecretKey, b.UseSSL, mode
			})
			testArtifacts(t, in, mode == "redirect")
		})
	}
}

// testArtifacts runs the artifact scenarios; redirected downloads come
// from the object store, whose ETag is its own.
func testArtifacts(t *testing.T, in *instance, redirected bool) {
	in.startRunner(in.runnerToken(), 3)
	marker := filepath.Join(t.TempDir(), "flaky-marker")
	var proj apiProject
	in.api("POST", "/api/v4/projects", url.Values{"name": {"web"}}, http.StatusCreated, &proj)
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", proj.ID), nil, http.StatusBadRequest, nil) // no ref yet
	r := newRepo(t, map[string]string{".gitlab-ci.yml": strings.ReplaceAll(artifactPipeline, "$MARKER", marker), "deploy.sh": deployScript})
	r.git("push", "-q", in.pushURL("root/web"), "main")
	pid := proj.ID
	pl := in.latestPipeline(pid)
	done := in.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled")
	jobs := in.jobs(pid, pl.ID, true)
	if done.Status != "success" {
		for n, js := range jobs {
			t.Logf("--- %s (%s)\n%s", n, js[0].Status, in.trace(pid, js[0].ID))
		}
		t.Fatalf("pipeline %s (yaml_errors %s): %s", done.Status, deref(done.YAMLErrors), statuses(jobs))
	}
	if log := in.trace(pid, jobs["deploy"][0].ID); !strings.Contains(log, "deployed 4 entries") {
		t.Fatalf("deploy log:\n%s", log)
	}
	root := map[string]string{"PRIVATE-TOKEN": in.token}
	get := func(path string, headers map[string]string) (int, []byte, http.Header) {
		t.Helper()
		h := map[string]string{"PRIVATE-TOKEN": in.token}
		for k, v := range headers {
			h[k] = v
		}
		return in.doNoRedirect("GET", path, h)
	}
	base := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts", pid, pl.ID)
	commitBase := fmt.Sprintf("/api/v4/projects/root%%2Fweb/repository/commits/%s/artifacts", pl.SHA[:7])

	t.Run("archive by pipeline", func(t *testing.T) {
		status, body, h := get(base+"?job=build", nil)
		if status != http.StatusOK {
			t.Fatalf("status %d: %s", status, body)
		}
		if h.Get("Content-Type") != "application/zip" || !strings.Contains(h.Get("Content-Disposition"), `filename=site.zip`) ||
			h.Get("Content-Length") != fmt.Sprint(len(body)) || (!redirected && len(h.Get("ETag")) != 66) {
			t.Fatalf("headers %v", h)
		}
		files := unzipNames(t, body)
		if !files["dist/sub dir/héllo wörld.txt"] || !files["dist/index.html"] {
			t.Fatalf("archive holds %v", files)
		}
		status, part, h2 := get(base+"?job=build", map[string]string{"Range": "bytes=0-9"})
		if status != http.StatusPartialContent || !bytes.Equal(part, body[:10]) || !strings.HasPrefix(h2.Get("Content-Range"), "bytes 0-9/") {
			t.Fatalf("range: %d %q %v", status, part, h2)
		}
		if status, _, _ := get(base+"?job=build", map[string]string{"If-None-Match": h.Get("ETag")}); status != http.StatusNotModified {
			t.Fatalf("If-None-Match: %d, want 304", status)
		}
		st, b, hh := in.doNoRedirect("HEAD", base+"?job=build", root)
		if st != http.StatusOK || len(b) != 0 || hh.Get("Content-Length") != fmt.Sprint(len(body)) {
			t.Fatalf("HEAD: %d, %d bytes, %v", st, len(b), hh)
		}
		// The commit scope finds the same archive.
		status, same, _ := get(commitBase+"?job=build", nil)
		if status != http.StatusOK || !bytes.Equal(same, body) {
			t.Fatalf("commit scope: %d, %d bytes", status, len(same))
		}
		// The ref scope sees it now that the pipeline succeeded.
		status, same, _ = get(fmt.Sprintf("/api/v4/projects/%d/jobs/artifacts/main/download?job=build", pid), nil)
		if status != http.StatusOK || !bytes.Equal(same, body) {
			t.Fatalf("ref scope: %d, %d bytes", status, len(same))
		}
	})

	t.Run("one file", func(t *testing.T) {
		cases := []struct {
			path, want, contentType string
		}{
			{base + "/raw/dist/sub%20dir/h%C3%A9llo%20w%C3%B6rld.txt?job=build", "hello\n", "text/plain; charset=utf-8"},
			{base + "/raw/dist/index.html?job=build", "<script>alert(document.domain)</script>\n", "text/plain; charset=utf-8"},
			{base + "/raw/dist/logo.svg?job=build", "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>\n", "text/plain; charset=utf-8"},
			{base + "/raw/dist/data.json?job=build", "{\"ok\":true}\n", "application/json"},
			{commitBase + "/raw/dist/data.json?job=build", "{\"ok\":true}\n", "application/json"},
			{fmt.Sprintf("/api/v4/projects/%d/jobs/artifacts/main/raw/dist/data.json?job=build", pid), "{\"ok\":true}\n", "application/json"},
			{fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts/dist/data.json", pid, jobs["build"][0].ID), "{\"ok\":true}\n", "application/json"},
			{base + "/raw/r/node.txt?job=" + url.QueryEscape("test suite 2/3"), "node 2 of 3\n", "text/plain; charset=utf-8"},
		}
		for _, c := range cases {
			status, body, h := get(c.path, nil)
			if status != http.StatusOK || string(body) != c.want || h.Get("Content-Type") != c.contentType {
				t.Errorf("GET %s = %d %q (%s), want %q (%s)", c.path, status, body, h.Get("Content-Type"), c.want, c.contentType)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") || h.Get("ETag") == "" {
				t.Errorf("GET %s: unsafe headers %v", c.path, h)
			}
		}
	})

	t.Run("retried job: newest attempt with an archive wins", func(t *testing.T) {
		attempts := jobs["flaky"]
		if len(attempts) != 2 {
			t.Fatalf("flaky ran %d times, want 2", len(attempts))
		}
		_, body, _ := get(base+"/raw/f/attempt.txt?job=flaky", nil)
		newest := max(attempts[0].ID, attempts[1].ID)
		if string(body) != fmt.Sprintf("job %d\n", newest) {
			t.Fatalf("flaky artifact = %q, want the newest attempt %d", body, newest)
		}
	})

	t.Run("tree", func(t *testing.T) {
		status, body, h := get(base+"/tree?job=build&path=dist&recursive=true", nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"path":"dist/sub dir/héllo wörld.txt"`) || h.Get("X-Total") != "5" {
			t.Fatalf("tree: %d %s (X-Total %s)", status, body, h.Get("X-Total"))
		}
	})

	t.Run("errors", func(t *testing.T) {
		cases := []struct {
			path    string
			headers map[string]string
			status  int
			message string
		}{
			{base, root, 400, "job is missing"},
			{base + "?job=nope", root, 404, "Job 'nope' Not Found in pipeline"},
			{fmt.Sprintf("/api/v4/projects/%d/pipelines/999999/artifacts?job=build", pid), root, 404, "Pipeline 999999 Not Found"},
			{base + "?job=deploy", root, 404, "has no artifacts yet (status: success)"},
			{base + "/raw/dist/missing.txt?job=build", root, 404, "not found"},
			{base + "/raw/dist/../../etc/passwd?job=build", root, 400, ""},
			{base + "/raw/dist/%2E%2E/x?job=build", root, 400, ""},
			{base + "/raw/dist%5Cx?job=build", root, 400, ""},
			{base + "/raw/dist%00x?job=build", root, 400, ""},
			{base + "?job=build&wait=9999", root, 400, "wait"},
			{commitBase[:len(commitBase)-len("/artifacts")-7] + "zzzzzzz/artifacts?job=build", root, 400, "sha"},
			{fmt.Sprintf("/api/v4/projects/root%%2Fweb/repository/commits/%s/artifacts?job=build", strings.Repeat("0", 40)), root, 404, "Commit"},
			{base + "?job=build", nil, 404, "Project Not Found"},
			{base + "?job=build", map[string]string{"JOB-TOKEN": "glcbt-not-a-token"}, 401, "Unauthorized"},
			{fmt.Sprintf("/api/v4/projects/%d/jobs/artifacts/nobranch/download?job=build", pid), root, 404, "no successful pipeline"},
		}
		for _, c := range cases {
			status, body, _ := in.doNoRedirect("GET", c.path, c.headers)
			if status != c.status || !strings.Contains(string(body), c.message) {
				t.Errorf("GET %s = %d %s, want %d containing %q", c.path, status, body, c.status, c.message)
			}
		}
	})

	t.Run("client-go", func(t *testing.T) {
		gl, err := gitlab.NewClient(in.token, gitlab.WithBaseURL(in.url+"/api/v4"))
		if err != nil {
			t.Fatal(err)
		}
		buildID := jobs["build"][0].ID
		rd, _, err := gl.Jobs.GetJobArtifacts(pid, buildID)
		if err != nil {
			t.Fatalf("GetJobArtifacts: %v", err)
		}
		data, _ := io.ReadAll(rd)
		if !unzipNames(t, data)["dist/data.json"] {
			t.Fatal("GetJobArtifacts: archive lacks dist/data.json")
		}
		rd, _, err = gl.Jobs.DownloadSingleArtifactsFile(pid, buildID, "dist/sub dir/héllo wörld.txt")
		if err != nil {
			t.Fatalf("DownloadSingleArtifactsFile: %v", err)
		}
		if b, _ := io.ReadAll(rd); string(b) != "hello\n" {
			t.Fatalf("DownloadSingleArtifactsFile = %q", b)
		}
		rd, _, err = gl.Jobs.DownloadArtifactsFile(pid, "main", &gitlab.DownloadArtifactsFileOptions{Job: gitlab.Ptr("build")})
		if err != nil {
			t.Fatalf("DownloadArtifactsFile: %v", err)
		}
		if b, _ := io.ReadAll(rd); !unzipNames(t, b)["dist/index.html"] {
			t.Fatal("DownloadArtifactsFile: archive lacks dist/index.html")
		}
		rd, _, err = gl.Jobs.DownloadSingleArtifactsFileByTagOrBranch(pid, "main", "dist/data.json", &gitlab.DownloadArtifactsFileOptions{Job: gitlab.Ptr("build")})
		if err != nil {
			t.Fatalf("DownloadSingleArtifactsFileByTagOrBranch: %v", err)
		}
		if b, _ := io.ReadAll(rd); string(b) != "{\"ok\":true}\n" {
			t.Fatalf("DownloadSingleArtifactsFileByTagOrBranch = %q", b)
		}
		job, _, err := gl.Jobs.GetJob(pid, buildID)
		if err != nil || job.ArtifactsFile.Filename != "site.zip" || len(job.Artifacts) == 0 || job.ArtifactsExpireAt == nil {
			t.Fatalf("GetJob = %+v, %v", job, err)
		}
		if _, _, err := gl.Jobs.KeepArtifacts(pid, buildID); err != nil {
			t.Fatalf("KeepArtifacts: %v", err)
		}
		if job, _, _ = gl.Jobs.GetJob(pid, buildID); job.ArtifactsExpireAt != nil {
			t.Fatalf("after keep, artifacts_expire_at = %v", job.ArtifactsExpireAt)
		}
	})

	t.Run("project statistics", func(t *testing.T) {
		var p struct {
			Statistics struct {
				JobArtifactsSize int64 `json:"job_artifacts_size"`
			} `json:"statistics"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d?statistics=true", pid), nil, http.StatusOK, &p)
		var sum int64
		for _, js := range jobs {
			for _, j := range js {
				if j.ArtifactsFile != nil {
					sum += j.ArtifactsFile.Size
				}
			}
		}
		if sum == 0 || p.Statistics.JobArtifactsSize < sum {
			t.Fatalf("job_artifacts_size = %d, want at least the archives' %d bytes", p.Statistics.JobArtifactsSize, sum)
		}
	})

	t.Run("delete", func(t *testing.T) {
		ctx := context.Background()
		id := jobs["test suite 1/3"][0].ID
		before, err := in.main.Store.ArtifactsOfJobs(ctx, []int64{id})
		if err != nil || len(before) == 0 {
			t.Fatalf("artifacts of job %d: %v, %v", id, before, err)
		}
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts", pid, id), nil, http.StatusNoContent, nil)
		status, body, _ := get(fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts", pid, id), nil)
		if status != http.StatusNotFound {
			t.Fatalf("after delete: %d %s", status, body)
		}
		for _, a := range before {
			for _, key := range []string{a.BlobKey, a.IndexKey} {
				if _, err := in.main.Blobs.Stat(ctx, key); key != "" && !ci.IsNotFound(err) {
					t.Errorf("bytes %s of a deleted artifact are still stored: %v", key, err)
				}
			}
		}
		var job apiJobFull
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d", pid, id), nil, http.StatusOK, &job)
		if job.ArtifactsFile != nil {
			t.Errorf("deleted job still shows artifacts_file %+v", job.ArtifactsFile)
		}
	})

	// Last, as it removes every artifact: DELETE /projects/:id/artifacts
	// expires them all; the reaper then deletes what the latest successful
	// pipeline does not keep (here, with keeping off, everything).
	t.Run("delete all of a project's", func(t *testing.T) {
		ctx := context.Background()
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/artifacts", pid), nil, http.StatusAccepted, nil)
		arts, err := in.main.Store.ArtifactsOfProject(ctx, pid, 0)
		if err != nil || len(arts) == 0 {
			t.Fatalf("artifacts after expiring: %d, %v", len(arts), err)
		}
		for _, a := range arts {
			if a.ExpireAt == nil || a.ExpireAt.After(time.Now()) {
				t.Fatalf("artifact %d (%s) not expired: %v", a.ID, a.FileType, a.ExpireAt)
			}
		}
		kept := reaper.New(in.main.Store, in.main.Blobs, reaper.Options{KeepLatest: true, Logger: testLogger(t)})
		if n, err := kept.Pass(ctx); err != nil || n != 0 {
			t.Fatalf("reaping with keep-latest deleted %d (%v); the pipeline is its ref's latest success", n, err)
		}
		if status, _, _ := get(base+"?job=build", nil); status != http.StatusOK {
			t.Fatalf("a kept, expired archive is not served: %d", status)
		}
		all := reaper.New(in.main.Store, in.main.Blobs, reaper.Options{Logger: testLogger(t)})
		if n, err := all.Pass(ctx); err != nil || n != len(arts) {
			t.Fatalf("reaping everything deleted %d of %d (%v)", n, len(arts), err)
		}
		if status, body, _ := get(base+"?job=build", nil); status != http.StatusNotFound {
			t.Fatalf("after reaping: %d %s", status, body)
		}
		for _, a := range arts {
			if _, err := in.main.Blobs.Stat(ctx, a.BlobKey); !ci.IsNotFound(err) {
				t.Errorf("reaped artifact %d still has bytes: %v", a.ID, err)
			}
		}
	})
}

// doNoRedirect is do with GETs following redirects to signed URLs, as curl
// --location would, but not carrying the token there.
func (in *instance) doNoRedirect(method, path string, headers map[string]string) (int, []byte, http.Header) {
	in.t.Helper()
	req, err := http.NewRequest(method, in.url+path, nil)
	if err != nil {
		in.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		in.t.Fatal(err)
	}
	if resp.StatusCode == http.StatusFound {
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if loc == "" {
			in.t.Fatalf("302 without Location")
		}
		req2, _ := http.NewRequest(method, loc, nil)
		for _, k := range []string{"Range", "If-None-Match"} {
			if v := req.Header.Get(k); v != "" {
				req2.Header.Set(k, v)
			}
		}
		if resp, err = http.DefaultClient.Do(req2); err != nil {
			in.t.Fatal(err)
		}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header
}

func unzipNames(t *testing.T, data []byte) map[string]bool {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip (%d bytes): %v", len(data), err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	return names
}
