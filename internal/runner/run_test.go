package runner

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPollingEchoesLastUpdate(t *testing.T) {
	f := newFakeCoordinator(t)
	startRunner(t, newTestRunner(t, f, 1))
	eventually(t, "three polls", func() bool { return f.requestCount() >= 3 })
	f.mu.Lock()
	got := append([]string(nil), f.lastUpdates...)
	f.mu.Unlock()
	if got[0] != "" || got[1] != "v0" || got[2] != "v0" {
		t.Errorf("last_update sequence %q, want \"\", v0, v0", got[:3])
	}
}

func TestForbiddenPollBacksOff(t *testing.T) {
	f := newFakeCoordinator(t)
	r := newTestRunner(t, f, 1)
	r.cfg.Token = "wrong-token"
	r.maxPollBackoff = 50 * time.Millisecond
	j := f.enqueue(payload(40, []string{"true"}, nil))
	stop := startRunner(t, r)
	eventually(t, "repeated polls after 403", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.forbidden >= 3
	})
	stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) != 1 || len(j.updates) != 0 {
		t.Errorf("a forbidden runner got the job")
	}
}

func TestPollingSurvivesServerErrors(t *testing.T) {
	f := newFakeCoordinator(t)
	f.failRequests = 12 // more than the HTTP-level retries of two polls
	j := f.enqueue(payload(41, []string{"echo ok"}, nil))
	r := newTestRunner(t, f, 1)
	r.maxPollBackoff = 50 * time.Millisecond
	startRunner(t, r)
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
}

func TestConcurrency(t *testing.T) {
	f := newFakeCoordinator(t)
	meet := t.TempDir()
	// Each job waits for the other: they only both succeed when they run at once.
	wait := func(me, other string) []string {
		return []string{"touch " + filepath.Join(meet, me), "pwd > " + filepath.Join(meet, me+".dir"),
			"for i in $(seq 1 300); do test -e " + filepath.Join(meet, other) + " && exit 0; sleep 0.05; done; exit 1"}
	}
	a := f.enqueue(payload(50, wait("a", "b"), nil))
	b := f.enqueue(payload(51, wait("b", "a"), nil))
	startRunner(t, newTestRunner(t, f, 2))
	traceA, finalA, _ := waitFinal(t, f, a)
	traceB, finalB, _ := waitFinal(t, f, b)
	checkFinal(t, traceA, finalA, "success", "", 0)
	checkFinal(t, traceB, finalB, "success", "", 0)
	da, _ := os.ReadFile(filepath.Join(meet, "a.dir"))
	db, _ := os.ReadFile(filepath.Join(meet, "b.dir"))
	if string(da) == string(db) {
		t.Errorf("concurrent jobs share the build dir %s", da)
	}
}

func TestRunCancelIsGraceful(t *testing.T) {
	f := newFakeCoordinator(t)
	p := payload(60, []string{"echo started", "sleep 300"}, nil)
	p["steps"] = append(p["steps"].([]map[string]any), afterScript("echo after-ran"))
	j := f.enqueue(p)
	stop := startRunner(t, newTestRunner(t, f, 1))
	eventually(t, "the script to start", func() bool {
		tr, _, _ := f.snapshot(j)
		return strings.Contains(tr, "started")
	})
	stop()
	select {
	case <-j.done:
	default:
		t.Fatal("Run returned before the job's final update")
	}
	trace, final, _ := waitFinal(t, f, j)
	// runner_interrupted is not in the job's failure_reasons: mapped to unknown_failure.
	checkFinal(t, trace, final, "failed", "unknown_failure", 0)
	if !strings.Contains(trace, "after-ran") {
		t.Errorf("after_script did not run on shutdown:\n%s", trace)
	}
}

func TestRegister(t *testing.T) {
	f := newFakeCoordinator(t)
	opts := RegisterOptions{Description: "my runner", Tags: []string{"linux", "docker"}, Locked: true}
	tests := []struct {
		name, url, token, want string
		ok                     bool
	}{
		{"registration token", f.srv.URL + "/ci", "reg-token", "auth-token-7", true},
		{"bad registration token", f.srv.URL, "nope", "", false},
		{"glrt token verified", f.srv.URL + "/", "glrt-good", "glrt-good", true},
		{"glrt token rejected", f.srv.URL, "glrt-bad", "", false},
		{"not http", "ftp://example.com", "reg-token", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Register(context.Background(), tc.url, tc.token, opts)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("Register = %q, %v; want %q (ok=%v)", got, err, tc.want, tc.ok)
			}
		})
	}
}

// TestGitOverHTTP fetches through git http-backend behind Basic auth that
// accepts only gitlab-ci-token and the job token.
func TestGitOverHTTP(t *testing.T) {
	repo, sha := gitRepo(t)
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(repo)
	backend := &cgi.Handler{Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	f := newFakeCoordinator(t)
	p := payload(70, []string{"cat README"}, nil)
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("gitlab-ci-token:"+p["token"].(string)))
	git := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	t.Cleanup(git.Close)
	p["git_info"] = map[string]any{"repo_url": git.URL + "/" + filepath.Base(repo), "ref": "main", "sha": sha,
		"refspecs": []string{"+refs/heads/main:refs/remotes/origin/main"}, "depth": 0}
	p["variables"] = []map[string]any{{"key": "GIT_STRATEGY", "value": "clone"}}
	j := f.enqueue(p)
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	if !strings.Contains(trace, "hello from git") {
		t.Errorf("trace:\n%s", trace)
	}
	if strings.Contains(trace, p["token"].(string)) {
		t.Errorf("job token in trace")
	}
}

// TestPollsAgainAtOnceAfterNewVersion: a 204 carrying a version the runner
// did not send means the queue changed, so the runner asks again at once
// (to be held) instead of sleeping PollInterval; a 204 with the version it
// sent means nothing changed, and then it sleeps.
func TestPollsAgainAtOnceAfterNewVersion(t *testing.T) {
	f := newFakeCoordinator(t)
	r := newTestRunner(t, f, 1)
	r.cfg.PollInterval = time.Hour
	startRunner(t, r)
	eventually(t, "the second poll", func() bool { return f.requestCount() >= 2 })
	f.mu.Lock()
	got := append([]string(nil), f.lastUpdates...)
	f.mu.Unlock()
	if got[0] != "" || got[1] != "v0" {
		t.Fatalf("last_update sequence %q, want \"\", v0", got)
	}
	// v0 came back unchanged: the runner now sleeps its hour.
	time.Sleep(100 * time.Millisecond)
	if n := f.requestCount(); n != 2 {
		t.Fatalf("%d polls, want 2: an unchanged version must be followed by PollInterval", n)
	}
}

func TestPollBackoffIsCapped(t *testing.T) {
	for _, interval := range []time.Duration{20 * time.Millisecond, 3 * time.Second, time.Minute} {
		var wait, longest time.Duration
		for range 20 { // a long outage
			wait = pollBackoff(wait, interval, DefaultMaxPollBackoff)
			longest = max(longest, wait)
		}
		if longest > 5*time.Second || wait <= 0 {
			t.Errorf("poll interval %s: back-off reached %s (last %s), want at most 5s", interval, longest, wait)
		}
	}
}
