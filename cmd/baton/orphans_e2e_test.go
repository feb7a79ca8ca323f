package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/blob/blobtest"
	"github.com/batonci/baton/internal/tests3"
)

// artifactBackend is where a test's server keeps artifacts, with a store
// of its own on the same bytes to look at them.
type artifactBackend struct {
	name  string
	setup func(t *testing.T, dataDir string) (configure func(*Config), args []string, look blob.Store)
}

func artifactBackends() []artifactBackend {
	return []artifactBackend{
		{"fs", func(t *testing.T, dataDir string) (func(*Config), []string, blob.Store) {
			c := Config{DataDir: dataDir, ArtifactStore: "fs"}
			m := &Main{Config: c}
			s, err := m.openBlobs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return func(*Config) {}, nil, s
		}},
		{"s3", func(t *testing.T, dataDir string) (func(*Config), []string, blob.Store) {
			b := tests3.Server(t)
			set := func(c *Config) {
				c.ArtifactStore, c.S3Endpoint, c.S3Bucket, c.S3Region = "s3", b.Endpoint, b.Bucket, b.Region
				c.S3AccessKey, c.S3SecretKey, c.S3UseSSL = b.AccessKey, b.SecretKey, b.UseSSL
			}
			c := Config{}
			set(&c)
			c.S3PathStyle = true
			s, err := (&Main{Config: c}).openBlobs(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"--artifact-store", "s3", "--s3-endpoint", b.Endpoint, "--s3-bucket", b.Bucket, "--s3-region", b.Region,
				"--s3-access-key", b.AccessKey, "--s3-secret-key", b.SecretKey, fmt.Sprintf("--s3-ssl=%v", b.UseSSL)}
			return set, args, s
		}},
	}
}

// TestUploadKilledMidBody kills the server (SIGKILL, a separate process)
// while an artifact upload streams into it: a temporary file, or an S3
// multipart upload, is left behind. Started again with --orphan-after, the
// server's sweep at start removes it; nothing is left and no row exists.
func TestUploadKilledMidBody(t *testing.T) {
	for _, be := range artifactBackends() {
		t.Run(be.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, e engine) { testUploadKilledMidBody(t, e, be) })
		})
	}
}

func testUploadKilledMidBody(t *testing.T, e engine, be artifactBackend) {
	dir := t.TempDir()
	dbURL := e.url(t, dir)
	configure, s3Args, look := be.setup(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	first := serveAt(t, ln, dir, dbURL, configure)
	in := &instance{t: t, main: first, url: first.Config.ExternalURL, token: first.AdminToken}
	runnerToken := in.runnerToken()
	projID, _ := in.project("killed", map[string]string{".gitlab-ci.yml": "build:\n  script: echo hi\n"})
	in.latestPipeline(projID)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// The same server as a process of its own, on the same address.
	args := append([]string{"server", "--listen", addr, "--data-dir", dir, "--database-url", dbURL, "--orphan-after", "0"}, s3Args...)
	child := startChild(t, args)
	eventually(t, 30*time.Second, "the child server to be ready", func() bool {
		resp, err := http.Get(in.url + "/-/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	j := in.requestJob(runnerToken)

	// 18 MiB in: more than one 16 MiB S3 part has gone to the store.
	sent, stop := streamUpload(t, in.url, j)
	eventually(t, 60*time.Second, "18 MiB of the upload to be sent", func() bool { return sent.Load() >= 18<<20 })
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	stop()
	if ups := blobtest.Uploads(t, look); len(ups) == 0 {
		t.Fatal("the killed upload left nothing behind: the test does not test the sweep")
	}

	// Older than the threshold, then started again: the sweep at start
	// removes what the killed process left.
	time.Sleep(1500 * time.Millisecond)
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	second := serveAt(t, ln2, dir, dbURL, func(c *Config) {
		configure(c)
		c.OrphanAfter = time.Second
	})
	eventually(t, 30*time.Second, "the sweep to remove the killed upload", func() bool {
		return len(blobtest.Uploads(t, look)) == 0 && len(blobtest.Keys(t, look, "")) == 0
	})
	if arts, err := second.Store.ArtifactsOfJobs(context.Background(), []int64{j.ID}); err != nil || len(arts) != 0 {
		t.Errorf("artifact rows of the killed upload's job: %v, %v", arts, err)
	}
}

// TestUploadDisconnectedMidBody: a client that goes away mid-body leaves
// nothing, at once, with no sweep.
func TestUploadDisconnectedMidBody(t *testing.T) {
	for _, be := range artifactBackends() {
		t.Run(be.name, func(t *testing.T) {
			dir := t.TempDir()
			configure, _, look := be.setup(t, dir)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			m := serveAt(t, ln, dir, engines()[0].url(t, dir), func(c *Config) {
				configure(c)
				c.OrphanAfter = 0
			})
			in := &instance{t: t, main: m, url: m.Config.ExternalURL, token: m.AdminToken}
			runnerToken := in.runnerToken()
			projID, _ := in.project("gone", map[string]string{".gitlab-ci.yml": "build:\n  script: echo hi\n"})
			in.latestPipeline(projID)
			j := in.requestJob(runnerToken)
			sent, stop := streamUpload(t, in.url, j)
			eventually(t, 60*time.Second, "18 MiB of the upload to be sent", func() bool { return sent.Load() >= 18<<20 })
			if len(blobtest.Uploads(t, look)) == 0 {
				t.Fatal("no upload under way")
			}
			stop()
			eventually(t, 30*time.Second, "the upload to be cleaned up", func() bool {
				return len(blobtest.Uploads(t, look)) == 0 && len(blobtest.Keys(t, look, "")) == 0
			})
		})
	}
}

// serveAt opens and serves Baton on ln, closed when the test ends.
func serveAt(t *testing.T, ln net.Listener, dir, dbURL string, configure func(*Config)) *Main {
	t.Helper()
	m := &Main{Logger: testLogger(t)}
	m.Config.bind(flagSetForTest())
	m.Config.Listen, m.Config.DataDir, m.Config.DatabaseURL = ln.Addr().String(), dir, dbURL
	m.Config.LongPoll = 2 * time.Second
	configure(&m.Config)
	if err := m.Open(context.Background()); err != nil {
		ln.Close()
		t.Fatalf("opening Baton: %v", err)
	}
	if err := m.Serve(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// startChild runs `baton args...` from the test binary, killed at the end.
func startChild(t *testing.T, args []string) *exec.Cmd {
	t.Helper()
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(raw))
	if os.Getenv("BATON_TEST_LOG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// streamUpload starts an artifact upload of j whose body never ends by
// itself; sent counts the bytes written, stop ends the request.
func streamUpload(t *testing.T, baseURL string, j matrixJob) (sent *atomic.Int64, stop func()) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	req, err := http.NewRequest("POST", fmt.Sprintf("%s/api/v4/jobs/%d/artifacts?artifact_format=zip&artifact_type=archive", baseURL, j.ID), pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("JOB-TOKEN", j.Token)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	sent = new(atomic.Int64)
	go func() {
		part, err := mw.CreateFormFile("file", "artifacts.zip")
		if err != nil {
			return
		}
		chunk := make([]byte, 256<<10)
		for i := range chunk {
			chunk[i] = byte(i * 7)
		}
		for {
			n, err := part.Write(chunk)
			sent.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	stop = func() {
		pw.CloseWithError(fmt.Errorf("client gone"))
		<-done
	}
	t.Cleanup(func() { pw.CloseWithError(fmt.Errorf("test over")) })
	return sent, stop
}

// TestUploadFailureIsNotScriptFailure: a job whose script passes but whose
// artifacts Baton refuses (larger than --max-artifact-size) fails as
// archived_failure, which Baton offers its runners, not as script_failure.
func TestUploadFailureIsNotScriptFailure(t *testing.T) {
	in := startBaton(t, engines()[0], func(c *Config) { c.MaxArtifactMiB = 1 })
	in.startRunner(in.runnerToken(), 1)
	projID, _ := in.project("toobig", map[string]string{".gitlab-ci.yml": `
build:
  script: head -c 3000000 /dev/urandom > big.bin
  artifacts:
    paths: [big.bin]
`})
	pl := in.latestPipeline(projID)
	if done := in.waitPipeline(projID, pl.ID, 60*time.Second, "success", "failed", "canceled"); done.Status != "failed" {
		t.Fatalf("pipeline %s, want failed", done.Status)
	}
	j := in.jobs(projID, pl.ID, false)["build"][0]
	if j.Status != "failed" || j.FailureReason != "archived_failure" {
		t.Errorf("job %s with failure reason %q, want failed with archived_failure; trace:\n%s", j.Status, j.FailureReason, in.trace(projID, j.ID))
	}
}
