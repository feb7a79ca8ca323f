package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/runner"
	"github.com/batonci/baton/internal/testpg"
)

// engine is a database Baton can run on in tests.
type engine struct {
	name string
	url  func(t *testing.T, dataDir string) string
}

// engines lists SQLite and PostgreSQL; every end-to-end test runs on both.
func engines() []engine {
	return []engine{
		{"sqlite", func(t *testing.T, dataDir string) string { return "sqlite:" + filepath.Join(dataDir, "baton.db") }},
		{"postgres", func(t *testing.T, _ string) string { return testpg.URL(t) }},
	}
}

// forEachEngine runs f once per engine as a subtest.
func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range engines() {
		t.Run(e.name, func(t *testing.T) { f(t, e) })
	}
}

// instance is a Baton server started the way `baton server` starts it.
type instance struct {
	t     *testing.T
	main  *Main
	url   string
	token string // root's personal access token
}

type option func(*Config)

// startBaton starts a server on a free loopback port with a fresh data
// directory and the engine's database, stopped when the test ends.
func startBaton(t *testing.T, e engine, opts ...option) *instance {
	t.Helper()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	panics := newPanicCatcher(testLogger(t).Handler())
	t.Cleanup(func() { panics.check(t) }) // after the server closed (cleanups run last-in first-out)
	m := &Main{Logger: slog.New(panics)}
	m.Config.bind(flagSetForTest())
	m.Config.Listen = ln.Addr().String()
	m.Config.DataDir = dir
	m.Config.DatabaseURL = e.url(t, dir)
	m.Config.LongPoll = 2 * time.Second
	for _, o := range opts {
		o(&m.Config)
	}
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		ln.Close()
		t.Fatalf("opening Baton: %v", err)
	}
	if err := m.Serve(ctx, ln); err != nil {
		t.Fatalf("serving: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	if m.AdminToken == "" {
		t.Fatal("first start printed no admin token")
	}
	return &instance{t: t, main: m, url: m.Config.ExternalURL, token: m.AdminToken}
}

// startRunner runs Baton's built-in runner against the instance until the
// test ends.
func (in *instance) startRunner(token string, concurrency int) {
	in.t.Helper()
	r, err := runner.New(runner.Config{URL: in.url, Token: token, BuildsDir: in.t.TempDir(), CacheDir: in.t.TempDir(), Concurrency: concurrency,
		Name: "test-runner", PollInterval: 200 * time.Millisecond, Logger: testLogger(in.t).With("component", "runner")})
	if err != nil {
		in.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	in.t.Cleanup(func() { cancel(); <-done })
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("BATON_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// do sends an API request with the given token header ("" for none) and
// returns the status and body. body may be nil, a url.Values (form) or any
// value (JSON).
func (in *instance) do(method, path string, headers map[string]string, body any) (int, []byte, http.Header) {
	in.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			in.t.Fatal(err)
		}
		rd, ct = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequest(method, in.url+path, rd)
	if err != nil {
		in.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		in.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		in.t.Fatal(err)
	}
	return resp.StatusCode, data, resp.Header
}

// api sends a request as root and decodes a JSON answer into out, failing
// the test unless the status is want.
func (in *instance) api(method, path string, body any, want int, out any) {
	in.t.Helper()
	status, data, _ := in.do(method, path, map[string]string{"PRIVATE-TOKEN": in.token}, body)
	if status != want {
		in.t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			in.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

// repo is a local git working copy.
type repo struct {
	t   *testing.T
	dir string
}

// newRepo makes a working copy with the given files committed on main.
func newRepo(t *testing.T, files map[string]string) *repo {
	t.Helper()
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	r.write(files)
	r.git("add", "-A")
	r.git("commit", "-q", "-m", "initial commit")
	return r
}

func (r *repo) write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// commit writes files and commits them with message.
func (r *repo) commit(message string, files map[string]string) string {
	r.t.Helper()
	r.write(files)
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", message)
	return strings.TrimSpace(r.git("rev-parse", "HEAD"))
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	out, err := r.gitErr(args...)
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (r *repo) gitErr(args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = gitEnv(r.t)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// gitEnv is an environment in which git never prompts and reads no user config.
func gitEnv(t *testing.T) []string {
	home := filepath.Join(os.TempDir(), "baton-test-home")
	_ = os.MkdirAll(home, 0o755)
	return append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com")
}

// pushURL is the project's clone URL with root's token as credentials.
func (in *instance) pushURL(fullPath string) string {
	u, _ := url.Parse(in.url)
	u.User = url.UserPassword("root", in.token)
	u.Path = "/" + fullPath + ".git"
	return u.String()
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// panicCatcher passes records on to Handler and keeps net/http's "panic
// serving" lines (a handler that panicked, or net/http catching a misuse
// such as a body read that outlived its handler): check fails the test on
// any.
type panicCatcher struct {
	slog.Handler
	c *caught
}

type caught struct {
	mu    sync.Mutex
	lines []string
}

func newPanicCatcher(h slog.Handler) *panicCatcher { return &panicCatcher{Handler: h, c: &caught{}} }

func (p *panicCatcher) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic serving") {
		p.c.mu.Lock()
		p.c.lines = append(p.c.lines, r.Message)
		p.c.mu.Unlock()
	}
	return p.Handler.Handle(ctx, r)
}

func (p *panicCatcher) WithAttrs(as []slog.Attr) slog.Handler {
	return &panicCatcher{Handler: p.Handler.WithAttrs(as), c: p.c}
}

func (p *panicCatcher) WithGroup(name string) slog.Handler {
	return &panicCatcher{Handler: p.Handler.WithGroup(name), c: p.c}
}

func (p *panicCatcher) check(t *testing.T) {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	for _, l := range p.c.lines {
		t.Errorf("the server logged: %s", l)
	}
}
