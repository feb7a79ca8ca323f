package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/store/storeopen"
)

// syncBuffer is an io.Writer safe to read while another goroutine writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// quickStartPipeline is the .gitlab-ci.yml of the README's quick start, read
// from README.md so that the test fails when the README stops being true.
func quickStartPipeline(t *testing.T) string {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "cat > .gitlab-ci.yml <<'YAML'"):
			in = true
		case in && strings.TrimSpace(line) == "YAML":
			return strings.Join(out, "\n") + "\n"
		case in:
			out = append(out, strings.TrimPrefix(line, "    "))
		}
	}
	t.Fatal("README.md has no quick-start .gitlab-ci.yml")
	return ""
}

// TestUpQuickStart walks the README's quick start against `baton up`: the
// printed token works, a project is created, a push runs a pipeline on the
// built-in runner, and its deploy job fetches build's artifact by pipeline id.
func TestUpQuickStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"up", "--listen", addr, "--data-dir", filepath.Join(dir, "data"), "--log-level", "warn"}, &stdout, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("baton up: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Error("baton up did not stop within 60 s")
		}
	})
	tokenRe := regexp.MustCompile(`glpat-[A-Za-z0-9]{32}`)
	eventually(t, 30*time.Second, "baton up to print its welcome", func() bool {
		return strings.Contains(stdout.String(), "Baton is up at")
	})
	token := tokenRe.FindString(stdout.String())
	if token == "" {
		t.Fatalf("no admin token in the output:\n%s", stdout.String())
	}
	base := "http://" + addr
	in := &instance{t: t, url: base, token: token}
	in.api("POST", "/api/v4/projects?name=demo", nil, http.StatusCreated, nil)
	// Without a key, baton up made one (0600) in DATA_DIR and said so: CI/CD variables work.
	if fi, err := os.Stat(filepath.Join(dir, "data", "secrets.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("DATA_DIR/secrets.key: %v, %v; want a 0600 file", fi, err)
	}
	if !strings.Contains(stdout.String(), "Generated the key that encrypts CI/CD variables: "+filepath.Join(dir, "data", "secrets.key")) {
		t.Errorf("baton up did not say it generated a secrets key:\n%s", stdout.String())
	}
	in.api("POST", "/api/v4/projects/root%2Fdemo/variables", url.Values{"key": {"GREETING"}, "value": {"hello"}}, http.StatusCreated, nil)

	work := t.TempDir()
	clone := &repo{t: t, dir: work}
	clone.git("clone", "-q", fmt.Sprintf("http://root:%s@%s/root/demo.git", token, addr), "demo")
	r := &repo{t: t, dir: filepath.Join(work, "demo")}
	r.git("checkout", "-q", "-b", "main")
	r.write(map[string]string{".gitlab-ci.yml": quickStartPipeline(t)})
	r.git("add", ".gitlab-ci.yml")
	r.git("commit", "-q", "-m", "first pipeline")
	r.git("push", "-q", "origin", "HEAD")

	var pls []apiPipeline
	eventually(t, 15*time.Second, "the pipeline", func() bool {
		in.api("GET", "/api/v4/projects/root%2Fdemo/pipelines", nil, http.StatusOK, &pls)
		return len(pls) == 1
	})
	pl := in.waitPipeline(1, pls[0].ID, 120*time.Second, "success", "failed", "canceled")
	jobs := in.jobs(1, pl.ID, false)
	if pl.Status != "success" {
		for n, js := range jobs {
			t.Logf("--- %s (%s)\n%s", n, js[0].Status, in.trace(1, js[0].ID))
		}
		t.Fatalf("quick-start pipeline %s: %s", pl.Status, statuses(jobs))
	}
	if log := in.trace(1, jobs["deploy"][0].ID); !strings.Contains(log, "built at") {
		t.Fatalf("deploy did not print build's file:\n%s", log)
	}
	// The README's by-pipeline curl, from outside, with the personal token.
	status, body, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%s/pipelines/%d/artifacts?job=build", url.PathEscape("root/demo"), pl.ID), map[string]string{"PRIVATE-TOKEN": token}, nil)
	if status != http.StatusOK || !unzipNames(t, body)["public/index.txt"] {
		t.Fatalf("archive by pipeline: %d, %d bytes", status, len(body))
	}

	// Stopping `baton up` while a job runs: the built-in runner cancels the
	// job and reports it before the server goes, and the process exits
	// promptly (the cleanup above allows 60 s).
	r.write(map[string]string{".gitlab-ci.yml": "long:\n  script:\n    - echo started\n    - sleep 300\n"})
	r.git("commit", "-q", "-am", "a long job")
	r.git("push", "-q", "origin", "HEAD")
	var longID int64
	eventually(t, 30*time.Second, "the long job to run", func() bool {
		in.api("GET", "/api/v4/projects/root%2Fdemo/pipelines", nil, http.StatusOK, &pls)
		if len(pls) < 2 {
			return false
		}
		// Running, and its script started: the runner holds it (a job
		// assigned in the very instant the runner stops is left to the
		// stuck-job sweep, as in GitLab).
		js := in.jobs(1, pls[0].ID, false)["long"]
		if len(js) == 1 && js[0].Status == "running" && strings.Contains(in.trace(1, js[0].ID), "started") {
			longID = js[0].ID
		}
		return longID != 0
	})
	stopped := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("baton up: %v", err)
		}
		done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		t.Fatal("baton up did not stop within 60 s of its signal while a job ran")
	}
	t.Logf("baton up stopped %v after the signal", time.Since(stopped).Round(time.Millisecond))
	db, err := storeopen.Open(context.Background(), "sqlite:"+filepath.Join(dir, "data", "baton.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := db.JobByID(context.Background(), longID)
	if err != nil {
		t.Fatal(err)
	}
	if !j.Status.Finished() {
		t.Fatalf("after baton up stopped, the job it was running is %s: the runner did not report it", j.Status)
	}
}

// TestAdminTokenCreate checks `baton admin token create` against the data
// directory of a running server: the printed token authenticates as root.
func TestAdminTokenCreate(t *testing.T) {
	in := startBaton(t, engines()[0])
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"admin", "token", "create", "--data-dir", in.main.Config.DataDir, "--scopes", "read_api"}, &out, &errOut)
	if err != nil {
		t.Fatalf("admin token create: %v (%s)", err, errOut.String())
	}
	token := strings.TrimSpace(out.String())
	if !strings.HasPrefix(token, "glpat-") || strings.Contains(token, "\n") {
		t.Fatalf("stdout = %q, want one token", token)
	}
	status, body, _ := in.do("GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": token}, nil)
	if status != http.StatusOK || !strings.Contains(string(body), `"username":"root"`) {
		t.Fatalf("GET /user with the new token: %d %s", status, body)
	}
	if status, _, _ := in.do("POST", "/api/v4/projects", map[string]string{"PRIVATE-TOKEN": token}, url.Values{"name": {"x"}}); status != http.StatusForbidden {
		t.Fatalf("read_api token created a project: %d", status)
	}
	bad := []struct {
		args []string
		want string
	}{
		{[]string{"admin", "token", "create", "--data-dir", in.main.Config.DataDir, "--scopes", "sudo"}, "unknown scope"},
		{[]string{"admin", "token", "create", "--data-dir", in.main.Config.DataDir, "--expires-at", "tomorrow"}, "YYYY-MM-DD"},
		{[]string{"admin", "token", "create", "--data-dir", in.main.Config.DataDir, "--user", "nobody"}, "nobody"},
		{[]string{"admin", "tokens"}, "usage"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, c := range bad {
		if err := run(context.Background(), c.args, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("baton %v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}
