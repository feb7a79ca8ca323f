package gitserve

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// TestMain gives every git the tests run (clients and the server alike) an
// empty HOME, no system config and no terminal prompts.
func TestMain(m *testing.M) {
	home, err := os.MkdirTemp("", "gitserve-home-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for k, v := range map[string]string{
		"HOME":                home,
		"XDG_CONFIG_HOME":     filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_TERMINAL_PROMPT": "0",
		"GIT_ASKPASS":         "",
		"SSH_ASKPASS":         "",
		"GIT_AUTHOR_NAME":     "Ada Author",
		"GIT_AUTHOR_EMAIL":    "ada@example.com",
		"GIT_COMMITTER_NAME":  "Cy Committer",
		"GIT_COMMITTER_EMAIL": "cy@example.com",
		"LC_ALL":              "C",
	} {
		os.Setenv(k, v)
	}
	code := m.Run()
	os.RemoveAll(home)
	os.Exit(code)
}

// git runs a git client command in dir and returns its combined output,
// failing the test on error.
func git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	out, err := gitErr(dir, nil, args...)
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

// gitErr runs a git client command in dir with extra environment.
func gitErr(dir string, env []string, args ...string) (string, error) {
	full := append([]string{"-c", "init.defaultBranch=main"}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// MustRepos returns Repos in a temporary directory.
func MustRepos(tb testing.TB) *Repos {
	tb.Helper()
	r, err := NewRepos(filepath.Join(tb.TempDir(), "repos"))
	if err != nil {
		tb.Fatalf("NewRepos: %v", err)
	}
	return r
}

// MustWorkTree returns a fresh non-bare repository with one commit on main.
func MustWorkTree(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	git(tb, dir, "init", "--quiet")
	writeFile(tb, dir, "README.md", "hello\n")
	git(tb, dir, "add", "-A")
	git(tb, dir, "commit", "--quiet", "-m", "Initial commit\n\nWith a body.")
	return dir
}

func writeFile(tb testing.TB, dir, name, content string) {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// pushLog records OnPush calls.
type pushLog struct {
	mu    sync.Mutex
	calls []pushCall
}

type pushCall struct {
	project *ci.Project
	pusher  string
	updates []RefUpdate
}

func (l *pushLog) record(_ context.Context, p *ci.Project, pusher string, updates []RefUpdate) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, pushCall{p, pusher, updates})
}

// take returns and forgets the calls recorded so far.
func (l *pushLog) take() []pushCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

// gitServer is a Handler behind an httptest.Server with a few projects.
type gitServer struct {
	*httptest.Server
	repos    *Repos
	handler  *Handler
	pushes   *pushLog
	projects map[string]*ci.Project

	mu       sync.Mutex
	requests []seenRequest
}

type seenRequest struct {
	method, path  string
	contentLength int64
	encoding      string
	gitProtocol   string
}

// Users and passwords the test Authorize knows.
const (
	alice    = "alice"
	alicePW  = "alice-secret"
	mallory  = "mallory"
	malloryP = "mallory-secret"
)

// MustGitServer serves three projects:
//   - g/app (id 1): public; anyone reads, alice writes, mallory is forbidden to write;
//   - g/sub/private (id 2): only alice reads and writes;
//   - g/empty (id 3): public, never pushed to.
func MustGitServer(tb testing.TB) *gitServer {
	tb.Helper()
	s := &gitServer{
		repos:  MustRepos(tb),
		pushes: &pushLog{},
		projects: map[string]*ci.Project{
			"g/app":         {ID: 1, FullPath: "g/app", Visibility: ci.VisibilityPublic},
			"g/sub/private": {ID: 2, FullPath: "g/sub/private", Visibility: ci.VisibilityPrivate},
			"g/empty":       {ID: 3, FullPath: "g/empty", Visibility: ci.VisibilityPublic},
		},
	}
	for _, p := range s.projects {
		if err := s.repos.Create(context.Background(), p.ID); err != nil {
			tb.Fatalf("Create(%d): %v", p.ID, err)
		}
	}
	s.handler = &Handler{
		Repos: s.repos,
		Resolve: func(_ context.Context, fullPath string) (*ci.Project, error) {
			if p, ok := s.projects[fullPath]; ok {
				return p, nil
			}
			return nil, ci.Errorf(ci.KindNotFound, "project not found")
		},
		Authorize: authorize,
		OnPush:    s.pushes.record,
		Logger:    slog.New(slog.NewTextHandler(testWriter{tb}, nil)),
	}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, seenRequest{r.Method, r.URL.Path, r.ContentLength,
			r.Header.Get("Content-Encoding"), r.Header.Get("Git-Protocol")})
		s.mu.Unlock()
		s.handler.ServeHTTP(w, r)
	}))
	tb.Cleanup(func() {
		s.Server.Close()
		s.handler.Wait()
	})
	return s
}

func authorize(_ context.Context, p *ci.Project, user, pass string, a policy.Ability) error {
	write := a == policy.PushCode
	known := (user == alice && pass == alicePW) || (user == mallory && pass == malloryP)
	switch {
	case user != "" && !known:
		return ci.Errorf(ci.KindUnauthorized, "HTTP Basic: Access denied")
	case p.Visibility == ci.VisibilityPrivate && user == "":
		return ci.Errorf(ci.KindUnauthorized, "authentication required")
	case p.Visibility == ci.VisibilityPrivate && user != alice:
		return ci.Errorf(ci.KindNotFound, "project not found")
	case write && user == "":
		return ci.Errorf(ci.KindUnauthorized, "authentication required")
	case write && user != alice:
		return ci.Errorf(ci.KindForbidden, "You are not allowed to push code to this project.")
	}
	return nil
}

// url returns the clone URL of fullPath with optional credentials.
func (s *gitServer) url(fullPath, user, pass string) string {
	u := strings.Replace(s.URL, "http://", "http://"+user+":"+pass+"@", 1)
	if user == "" {
		u = s.URL
	}
	return u + "/" + fullPath + ".git"
}

// seen returns and forgets the requests served so far.
func (s *gitServer) seen() []seenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

// testWriter sends log lines to t.Log.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
