package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/tests3"
)

// heldJobs is a project whose pipeline has the jobs named in names, taken
// by a runner the test drives itself (no built-in runner), so the test
// decides when each uploads and finishes.
type heldJobs struct {
	in       *instance
	project  int64
	pipeline int64
	ids      map[string]int64
	tokens   map[string]string // job tokens
}

func (in *instance) holdJobs(names ...string) *heldJobs {
	in.t.Helper()
	var yaml strings.Builder
	for _, n := range names {
		fmt.Fprintf(&yaml, "%s:\n  script: [\"true\"]\n  artifacts:\n    paths: [out/]\n", n)
	}
	pid, _ := in.project("held", map[string]string{".gitlab-ci.yml": yaml.String()})
	pl := in.latestPipeline(pid)
	h := &heldJobs{in: in, project: pid, pipeline: pl.ID, ids: map[string]int64{}, tokens: map[string]string{}}
	runner := in.runnerToken()
	for range names {
		var got struct {
			ID      int64  `json:"id"`
			Token   string `json:"token"`
			JobInfo struct {
				Name string `json:"name"`
			} `json:"job_info"`
		}
		eventually(in.t, 30*time.Second, "a pending job", func() bool {
			status, body, _ := in.do("POST", "/api/v4/jobs/request", nil, fmt.Sprintf(`{"token":%q}`, runner))
			if status != http.StatusCreated {
				return false
			}
			if err := json.Unmarshal(body, &got); err != nil {
				in.t.Fatalf("job payload: %v", err)
			}
			return true
		})
		h.ids[got.JobInfo.Name], h.tokens[got.JobInfo.Name] = got.ID, got.Token
	}
	return h
}

// upload sends name's archive holding out/name.txt through the runner API.
func (h *heldJobs) upload(name string) []byte {
	h.in.t.Helper()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	f, _ := zw.Create("out/" + name + ".txt")
	fmt.Fprintf(f, "made by %s\n", name)
	zw.Close()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "artifacts.zip")
	part.Write(zbuf.Bytes())
	mw.Close()
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v4/jobs/%d/artifacts?artifact_format=zip&artifact_type=archive", h.in.url, h.ids[name]), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("JOB-TOKEN", h.tokens[name])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.in.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		h.in.t.Fatalf("upload of %s: %d %s", name, resp.StatusCode, b)
	}
	return zbuf.Bytes()
}

// finish reports name's job as succeeded.
func (h *heldJobs) finish(name string) {
	h.in.t.Helper()
	status, body, _ := h.in.do("PUT", fmt.Sprintf("/api/v4/jobs/%d", h.ids[name]), map[string]string{"JOB-TOKEN": h.tokens[name]},
		fmt.Sprintf(`{"token":%q,"state":"success"}`, h.tokens[name]))
	if status != http.StatusOK {
		h.in.t.Fatalf("finishing %s: %d %s", name, status, body)
	}
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

// getAsync starts a GET and delivers its answer on the returned channel.
func (in *instance) getAsync(path string, headers map[string]string) <-chan answer {
	out := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", in.url+path, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			out <- answer{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		out <- answer{resp.StatusCode, b, resp.Header}
	}()
	return out
}

// waiting waits until the server holds n waits.
func (in *instance) waiting(n int) {
	in.t.Helper()
	eventually(in.t, 30*time.Second, fmt.Sprintf("%d held waits", n), func() bool { return in.main.Waiters.Len() == n })
}

// TestArtifactWait: wait=SECONDS is woken by the upload (no polling), a
// waiter whose job token ended meanwhile gets 401 and never the bytes, and
// waits beyond --max-waiters-per-client are 429 with Retry-After.
func TestArtifactWait(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, func(c *Config) { c.MaxWaitersPerClient = 3 })
		h := in.holdJobs("a", "b", "c", "d")
		root := map[string]string{"PRIVATE-TOKEN": in.token}
		base := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts", h.project, h.pipeline)

		t.Run("an upload wakes the wait", func(t *testing.T) {
			byPipeline := in.getAsync(base+"?job=b&wait=300", root)
			byJob := in.getAsync(fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts?wait=300", h.project, h.ids["b"]), root)
			in.waiting(2)
			want := h.upload("b")
			for _, got := range []answer{<-byPipeline, <-byJob} {
				if got.status != http.StatusOK || !bytes.Equal(got.body, want) {
					t.Fatalf("wait answered %d %q, want the archive", got.status, got.body)
				}
			}
			in.waiting(0)
		})

		t.Run("a job token that ended meanwhile gets 401", func(t *testing.T) {
			waiter := in.getAsync(base+"?job=c&wait=300", map[string]string{"JOB-TOKEN": h.tokens["a"]})
			in.waiting(1)
			h.finish("a")
			h.upload("c")
			got := <-waiter
			if got.status != http.StatusUnauthorized || bytes.HasPrefix(got.body, []byte("PK")) {
				t.Fatalf("wait of a finished job's token answered %d %q, want 401", got.status, got.body)
			}
		})

		t.Run("waits beyond the per-client limit are 429", func(t *testing.T) {
			var held []<-chan answer
			for range 3 {
				held = append(held, in.getAsync(base+"?job=d&wait=300", root))
			}
			in.waiting(3)
			status, body, hdr := in.do("GET", base+"?job=d&wait=300", root, nil)
			if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" || !strings.Contains(string(body), "--max-waiters-per-client") {
				t.Fatalf("fourth wait: %d %s (Retry-After %q), want 429 naming --max-waiters-per-client", status, body, hdr.Get("Retry-After"))
			}
			// Without wait the same request is answered at once, limit or not.
			if status, body, _ := in.do("GET", base+"?job=d", root, nil); status != http.StatusNotFound {
				t.Fatalf("no wait: %d %s, want 404", status, body)
			}
			h.finish("d") // no archive will come: the waits answer 404 now
			for _, c := range held {
				if got := <-c; got.status != http.StatusNotFound {
					t.Fatalf("wait after the job finished without archive: %d %s, want 404", got.status, got.body)
				}
			}
		})
	})
}

// TestRunnerDownloadRedirect: with --artifact-download redirect on S3, the
// runner API's dependency download answers 302 to a signed URL (the runner
// follows it), as the REST API does; proxy mode answers the bytes.
func TestRunnerDownloadRedirect(t *testing.T) {
	for _, mode := range []string{"proxy", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			b := tests3.Server(t)
			in := startBaton(t, engines()[0], func(c *Config) {
				c.ArtifactStore, c.S3Endpoint, c.S3Bucket, c.S3Region = "s3", b.Endpoint, b.Bucket, b.Region
				c.S3AccessKey, c.S3SecretKey, c.S3UseSSL, c.ArtifactDownload = b.AccessKey, b.SecretKey, b.UseSSL, mode
			})
			h := in.holdJobs("dep", "user")
			want := h.upload("dep")
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/jobs/%d/artifacts?direct_download=true", in.url, h.ids["dep"]), nil)
			req.Header.Set("JOB-TOKEN", h.tokens["user"])
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if mode == "proxy" {
				if resp.StatusCode != http.StatusOK || !bytes.Equal(body, want) {
					t.Fatalf("proxy: %d, %d bytes", resp.StatusCode, len(body))
				}
				return
			}
			loc := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusFound || !strings.Contains(loc, "X-Amz-Signature=") {
				t.Fatalf("redirect: %d Location %q, want 302 to a signed URL", resp.StatusCode, loc)
			}
			signed, err := http.Get(loc) // what the runner does next: no token, redirects followed
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(signed.Body)
			signed.Body.Close()
			if signed.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
				t.Fatalf("signed URL: %d, %d bytes", signed.StatusCode, len(got))
			}
		})
	}
}

// TestArtifactWaitEndsOnCancel: a wait for the artifacts of a job that the
// scheduler finishes without its runner (canceled through the API, here
// while pending) ends at once with the job's final status, long before
// its wait= deadline; so does a wait on a pipeline that is deleted.
func TestArtifactWaitEndsOnCancel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, r := in.project("pending", map[string]string{".gitlab-ci.yml": "a:\n  script: [\"true\"]\n  artifacts:\n    paths: [out/]\n"})
		pl := in.latestPipeline(pid)
		jobs := in.jobs(pid, pl.ID, false)
		a := jobs["a"][0]
		root := map[string]string{"PRIVATE-TOKEN": in.token}
		// No runner: the job stays pending, so the wait holds.
		done := in.getAsync(fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=a&wait=120", pid, pl.ID), root)
		in.waiting(1)
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/cancel", pid, a.ID), nil, http.StatusCreated, nil)
		select {
		case got := <-done:
			if got.status != http.StatusNotFound || !strings.Contains(string(got.body), "(status: canceled)") {
				t.Fatalf("wait after cancel: %d %s, want 404 naming status canceled", got.status, got.body)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the wait did not end when its job was canceled")
		}

		// A second pipeline, deleted while a wait holds on it.
		r.commit("again", map[string]string{"x.txt": "x"})
		r.git("push", "-q", in.pushURL("root/pending"), "main")
		var pl2 apiPipeline
		eventually(t, 30*time.Second, "the second pipeline", func() bool {
			pl2 = in.latestPipeline(pid)
			return pl2.ID != pl.ID
		})
		done = in.getAsync(fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=a&wait=120", pid, pl2.ID), root)
		in.waiting(1)
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", pid, pl2.ID), nil, http.StatusNoContent, nil)
		select {
		case got := <-done:
			if got.status != http.StatusNotFound {
				t.Fatalf("wait after deleting its pipeline: %d %s, want 404", got.status, got.body)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the wait did not end when its pipeline was deleted")
		}
	})
}
