package runner

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// newTestRunner returns a runner for f with the protocol's intervals shortened.
func newTestRunner(t *testing.T, f *fakeCoordinator, concurrency int) *Runner {
	t.Helper()
	r, err := New(Config{URL: f.srv.URL + "/", Token: f.runnerToken, BuildsDir: t.TempDir(),
		Concurrency: concurrency, PollInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	r.traceInterval = 30 * time.Millisecond
	r.killGrace = 2 * time.Second
	r.finalBackoff = 10 * time.Millisecond
	r.client.backoff = time.Millisecond
	r.client.uploadBackoff, r.client.uploadMaxBackoff = time.Millisecond, 5*time.Millisecond
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startRunner runs r until the test ends; stop cancels it and waits for Run.
func startRunner(t *testing.T, r *Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitFinal waits for the job's final update and returns it.
func waitFinal(t *testing.T, f *fakeCoordinator, j *fakeJob) (string, map[string]any, []fakeUpload) {
	t.Helper()
	select {
	case <-j.done:
	case <-time.After(60 * time.Second):
		tr, _, _ := f.snapshot(j)
		t.Fatalf("job %d: no final update; trace so far:\n%s", j.id, tr)
	}
	tr, ups, uploads := f.snapshot(j)
	return tr, ups[len(ups)-1], uploads
}

// eventually polls cond until it holds or a generous deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// gitRepo creates a repository with a README, a .gitignore and one commit.
func gitRepo(t *testing.T) (dir, sha string) {
	t.Helper()
	dir = t.TempDir()
	write(t, filepath.Join(dir, "README"), "hello from git\n")
	write(t, filepath.Join(dir, ".gitignore"), "*.tmp\n")
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "."}, {"commit", "-q", "-m", "first"}} {
		runGit(t, dir, args...)
	}
	return dir, strings.TrimSpace(runGit(t, dir, "rev-parse", "HEAD"))
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func write(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// payload builds a job as GitLab sends it: one script step and an
// after_script, plus whatever extra sets.
func payload(id int, script []string, extra map[string]any) map[string]any {
	p := map[string]any{
		"id": id, "token": "job-token-" + strings.Repeat("x", 8) + string(rune('a'+id%26)),
		"allow_git_fetch": false,
		"job_info":        map[string]any{"name": "build", "stage": "test", "project_id": 1, "project_name": "demo"},
		"runner_info":     map[string]any{"timeout": 3600},
		"variables": []map[string]any{
			{"key": "GIT_STRATEGY", "value": "none", "public": true},
			{"key": "CI_JOB_ID", "value": "1", "public": true},
		},
		"steps": []map[string]any{{"name": "script", "script": script, "timeout": 3600, "when": "on_success", "allow_failure": false}},
		"features": map[string]any{"trace_sections": true,
			"failure_reasons": []string{"script_failure", "runner_system_failure", "job_execution_timeout", "unknown_failure", "job_canceled", "archived_failure"}},
	}
	for k, v := range extra {
		p[k] = v
	}
	return p
}

func afterScript(lines ...string) map[string]any {
	return map[string]any{"name": "after_script", "script": lines, "timeout": 3600, "when": "always", "allow_failure": true}
}

func addVar(p map[string]any, v map[string]any) {
	p["variables"] = append(p["variables"].([]map[string]any), v)
}
