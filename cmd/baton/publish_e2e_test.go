package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// publishCI: producer publishes notes at second 1 with curl and its own
// CI_JOB_TOKEN, then keeps running for 15 s before its final archive;
// consumer, in the same stage, waits for the published file and reads it
// while the producer still runs.
const publishCI = `
producer:
  stage: build
  script:
    - sleep 1
    - echo "notes of $CI_JOB_ID" > notes.txt
    - 'curl -sf --upload-file notes.txt -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/jobs/$CI_JOB_ID/artifacts/publish/notes?filename=notes.txt"'
    - 'code=$(curl -s -o again.json -w "%{http_code}" --upload-file notes.txt -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/jobs/$CI_JOB_ID/artifacts/publish/notes"); echo "republish: $code"; test "$code" = 409'
    - sleep 15
    - mkdir -p out && echo final > out/final.txt
  artifacts:
    paths: [out/]
consumer:
  stage: build
  script:
    - 'curl -sf -H "JOB-TOKEN: $CI_JOB_TOKEN" -o got.txt "$CI_PIPELINE_ARTIFACTS_URL/raw/notes.txt?job=producer&artifact=notes&wait=60"'
    - grep -q "notes of" got.txt
    - 'curl -sf -H "JOB-TOKEN: $CI_JOB_TOKEN" -o notes.zip "$CI_PIPELINE_ARTIFACTS_URL?job=producer&artifact=notes"'
    - unzip -p notes.zip notes.txt | grep -q "notes of"
    - echo "consumer got $(cat got.txt)"
`

// TestPublishMidJob runs publishCI with Baton's runner on both engines: the
// consumer got the published file before the producer finished, the second
// publish of the name was 409, the producer's final archive is served as
// before, and the published artifact is listed in the job's JSON (with its
// sha256) and on its page, and served by the pipeline, commit, ref, job and
// web routes with ?artifact=.
func TestPublishMidJob(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("pub", map[string]string{".gitlab-ci.yml": publishCI})
		pl := in.latestPipeline(pid)
		done := in.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled")
		jobs := in.jobs(pid, pl.ID, false)
		if done.Status != "success" {
			for n, js := range jobs {
				t.Logf("--- %s (%s)\n%s", n, js[0].Status, in.trace(pid, js[0].ID))
			}
			t.Fatalf("pipeline %s: %s", done.Status, statuses(jobs))
		}
		producer, consumer := jobs["producer"][0], jobs["consumer"][0]
		if !consumer.FinishedAt.Before(*producer.FinishedAt) {
			t.Errorf("consumer finished %v, not before producer %v: it did not get the file while the producer ran", consumer.FinishedAt, producer.FinishedAt)
		}
		if log := in.trace(pid, producer.ID); !strings.Contains(log, "republish: 409") {
			t.Errorf("producer log:\n%s", log)
		}
		want := fmt.Sprintf("notes of %d\n", producer.ID)
		if log := in.trace(pid, consumer.ID); !strings.Contains(log, "consumer got "+strings.TrimSpace(want)) {
			t.Errorf("consumer log:\n%s", log)
		}

		root := map[string]string{"PRIVATE-TOKEN": in.token}
		t.Run("job JSON lists it", func(t *testing.T) {
			_, body, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d", pid, producer.ID), root, nil)
			var j struct {
				Artifacts []struct {
					FileType string `json:"file_type"`
					Name     string `json:"name"`
					SHA256   string `json:"sha256"`
					Size     int64  `json:"size"`
				} `json:"artifacts"`
				ArtifactsFile *struct {
					Filename string `json:"filename"`
				} `json:"artifacts_file"`
			}
			if err := json.Unmarshal(body, &j); err != nil {
				t.Fatal(err)
			}
			found := false
			for _, a := range j.Artifacts {
				found = found || a.FileType == "published" && a.Name == "notes" && len(a.SHA256) == 64 && a.Size > 0
			}
			if !found || j.ArtifactsFile == nil || j.ArtifactsFile.Filename != "artifacts.zip" {
				t.Fatalf("producer JSON: %s", body)
			}
		})

		t.Run("every route serves it with ?artifact=", func(t *testing.T) {
			for _, path := range []string{
				fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts/raw/notes.txt?job=producer&artifact=notes", pid, pl.ID),
				fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s/artifacts/raw/notes.txt?job=producer&artifact=notes", pid, pl.SHA),
				fmt.Sprintf("/api/v4/projects/%d/jobs/artifacts/main/raw/notes.txt?job=producer&artifact=notes", pid),
				fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts/notes.txt?artifact=notes", pid, producer.ID),
				fmt.Sprintf("/root/pub/-/jobs/%d/artifacts/raw/notes.txt?artifact=notes", producer.ID),
				fmt.Sprintf("/root/pub/-/pipelines/%d/artifacts/raw/notes.txt?job=producer&artifact=notes", pl.ID),
			} {
				if status, body, _ := in.do("GET", path, root, nil); status != http.StatusOK || string(body) != want {
					t.Errorf("GET %s: %d %q, want %q", path, status, body, want)
				}
			}
			status, body, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts/tree?job=producer&artifact=notes", pid, pl.ID), root, nil)
			if status != http.StatusOK || !strings.Contains(string(body), `"notes.txt"`) {
				t.Errorf("tree: %d %s", status, body)
			}
			// The job's archive is still what no ?artifact= means.
			status, body, _ = in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=producer", pid, pl.ID), root, nil)
			if status != http.StatusOK || !zipHolds(body, "out/final.txt", "final\n") {
				t.Errorf("final archive: %d, %d bytes", status, len(body))
			}
			for path, code := range map[string]int{
				fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=producer&artifact=nope", pid, pl.ID):  http.StatusNotFound,
				fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=consumer&artifact=notes", pid, pl.ID): http.StatusNotFound,
				fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=producer&artifact=../x", pid, pl.ID):  http.StatusBadRequest,
			} {
				if status, body, _ := in.do("GET", path, root, nil); status != code {
					t.Errorf("GET %s: %d %s, want %d", path, status, body, code)
				}
			}
		})

		t.Run("the job page lists it", func(t *testing.T) {
			b := newBrowser(t, in.url)
			b.signIn(in.token)
			status, page, _ := b.get(fmt.Sprintf("/root/pub/-/jobs/%d", producer.ID))
			if status != http.StatusOK || !strings.Contains(page, "Published artifacts") ||
				!strings.Contains(page, fmt.Sprintf("/-/jobs/%d/artifacts/download?artifact=notes", producer.ID)) {
				t.Fatalf("job page %d lacks the published artifact", status)
			}
		})
	})
}

// zipHolds reports whether the zip data holds name with content.
func zipHolds(data []byte, name, content string) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	for _, f := range zr.File {
		if f.Name == name {
			rc, err := f.Open()
			if err != nil {
				return false
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			return string(b) == content
		}
	}
	return false
}
