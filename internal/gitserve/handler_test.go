package gitserve

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name, path     string
		fullPath, rest string
		ok             bool
	}{
		{"info refs", "/g/sub/app.git/info/refs", "g/sub/app", "/info/refs", true},
		{"upload pack", "/g/app.git/git-upload-pack", "g/app", "/git-upload-pack", true},
		{"receive pack", "/g/app.git/git-receive-pack", "g/app", "/git-receive-pack", true},
		{"without .git", "/g/app/info/refs", "g/app", "/info/refs", true},
		{"deep group", "/a/b/c/d.git/info/refs", "a/b/c/d", "/info/refs", true},
		{"dumb HEAD", "/g/app.git/HEAD", "", "", false},
		{"dumb objects", "/g/app.git/objects/info/packs", "", "", false},
		{"no namespace", "/app.git/info/refs", "", "", false},
		{"empty segment", "/g//app.git/info/refs", "", "", false},
		{"dot dot", "/g/../app.git/info/refs", "", "", false},
		{"no leading slash", "g/app.git/info/refs", "", "", false},
		{"api path", "/api/v4/projects", "", "", false},
		{"bare suffix", "/info/refs", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fullPath, rest, ok := Match(tt.path)
			if fullPath != tt.fullPath || rest != tt.rest || ok != tt.ok {
				t.Errorf("Match(%q) = (%q, %q, %v), want (%q, %q, %v)",
					tt.path, fullPath, rest, ok, tt.fullPath, tt.rest, tt.ok)
			}
		})
	}
}

// TestHandlerStatus checks the HTTP answers to anonymous, wrong, forbidden
// and unknown callers, and to requests outside the smart protocol.
func TestHandlerStatus(t *testing.T) {
	s := MustGitServer(t)
	tests := []struct {
		name, method, path string
		user, pass         string
		status             int
		contentType        string // prefix
		basicChallenge     bool
	}{
		{"anonymous read of public", "GET", "/g/app.git/info/refs?service=git-upload-pack", "", "", 200, "application/x-git-upload-pack-advertisement", false},
		{"anonymous read without .git", "GET", "/g/app/info/refs?service=git-upload-pack", "", "", 200, "application/x-git-upload-pack-advertisement", false},
		{"anonymous write asks for credentials", "GET", "/g/app.git/info/refs?service=git-receive-pack", "", "", 401, "text/plain", true},
		{"wrong password", "GET", "/g/app.git/info/refs?service=git-upload-pack", alice, "nope", 401, "text/plain", true},
		{"write by member", "GET", "/g/app.git/info/refs?service=git-receive-pack", alice, alicePW, 200, "application/x-git-receive-pack-advertisement", false},
		{"write forbidden", "GET", "/g/app.git/info/refs?service=git-receive-pack", mallory, malloryP, 403, "text/plain", false},
		{"receive-pack post forbidden", "POST", "/g/app.git/git-receive-pack", mallory, malloryP, 403, "text/plain", false},
		{"anonymous read of private", "GET", "/g/sub/private.git/info/refs?service=git-upload-pack", "", "", 401, "text/plain", true},
		{"private looks missing", "GET", "/g/sub/private.git/info/refs?service=git-upload-pack", mallory, malloryP, 404, "text/plain", false},
		{"private read by member", "GET", "/g/sub/private.git/info/refs?service=git-upload-pack", alice, alicePW, 200, "application/x-git-upload-pack-advertisement", false},
		{"unknown project anonymous", "GET", "/g/nope.git/info/refs?service=git-upload-pack", "", "", 401, "text/plain", true},
		{"unknown project", "GET", "/g/nope.git/info/refs?service=git-upload-pack", alice, alicePW, 404, "text/plain", false},
		{"dumb info refs", "GET", "/g/app.git/info/refs", "", "", 403, "text/plain", false},
		{"unknown service", "GET", "/g/app.git/info/refs?service=git-upload-archive", "", "", 403, "text/plain", false},
		{"dumb HEAD", "GET", "/g/app.git/HEAD", "", "", 404, "text/plain", false},
		{"dumb objects", "GET", "/g/app.git/objects/info/packs", "", "", 404, "text/plain", false},
		{"post info refs", "POST", "/g/app.git/info/refs?service=git-upload-pack", "", "", 405, "text/plain", false},
		{"get upload pack", "GET", "/g/app.git/git-upload-pack", "", "", 405, "text/plain", false},
		{"upload pack with wrong content type", "POST", "/g/app.git/git-upload-pack", "", "", 415, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, s.URL+tt.path, strings.NewReader(""))
			if err != nil {
				t.Fatal(err)
			}
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type = %q, want %q…", ct, tt.contentType)
			}
			challenge := resp.Header.Get("WWW-Authenticate")
			if tt.basicChallenge != (challenge == `Basic realm="Baton"`) {
				t.Errorf("WWW-Authenticate = %q, want challenge %v", challenge, tt.basicChallenge)
			}
		})
	}
}

// TestGitClientAuth runs the real git client against the auth rules.
func TestGitClientAuth(t *testing.T) {
	s := MustGitServer(t)
	seed := MustWorkTree(t)
	git(t, seed, "push", "--quiet", s.url("g/sub/private", alice, alicePW), "main")
	git(t, seed, "push", "--quiet", s.url("g/app", alice, alicePW), "main")
	s.handler.Wait()

	tests := []struct {
		name    string
		args    []string
		wantErr string // substring of git's output; "" means success
	}{
		{"clone private with credentials in URL", []string{"clone", s.url("g/sub/private", alice, alicePW)}, ""},
		{"clone private anonymously", []string{"clone", s.url("g/sub/private", "", "")}, "could not read Username"},
		{"clone private as a stranger", []string{"clone", s.url("g/sub/private", mallory, malloryP)}, "could not be found"},
		{"clone unknown project", []string{"clone", s.url("g/nope", alice, alicePW)}, "could not be found"},
		// git sends URL credentials only after a 401, so a public clone ignores them.
		{"clone public with a wrong password", []string{"clone", s.url("g/app", alice, "wrong")}, ""},
		{"clone private with a wrong password", []string{"clone", s.url("g/sub/private", alice, "wrong")}, "Authentication failed"},
		{"clone without .git", []string{"clone", strings.TrimSuffix(s.url("g/app", "", ""), ".git")}, ""},
		{"push as a reporter", []string{"-C", seed, "push", s.url("g/app", mallory, malloryP), "main:other"}, "You are not allowed to push code"},
		{"push anonymously", []string{"-C", seed, "push", s.url("g/app", "", ""), "main:other"}, "could not read Username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if args[0] == "clone" {
				args = append(args, filepath.Join(t.TempDir(), "clone"))
			}
			out, err := gitErr("", nil, args...)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("git %s: %v\n%s", args[0], err, out)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("git %s succeeded, want failure %q\n%s", args[0], tt.wantErr, out)
			case tt.wantErr != "" && !strings.Contains(out, tt.wantErr):
				t.Fatalf("git output does not mention %q:\n%s", tt.wantErr, out)
			}
		})
	}
	s.handler.Wait()
	if calls := s.pushes.take(); len(calls) != 2 {
		t.Errorf("OnPush called %d times, want 2 (the seeding pushes only)", len(calls))
	}
}

func TestHandlerMissingRepository(t *testing.T) {
	s := MustGitServer(t)
	if err := s.repos.Delete(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL + "/g/empty.git/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", resp.StatusCode)
	}
}

// TestAuthorizeUser checks that the identity AuthorizeUser returns, not the
// Basic username, is the pusher.
func TestAuthorizeUser(t *testing.T) {
	s := MustGitServer(t)
	s.handler.AuthorizeUser = func(_ context.Context, p *ci.Project, user, pass string, _ policy.Ability) (string, error) {
		if pass != "alice-token" {
			return "", ci.Errorf(ci.KindUnauthorized, "HTTP Basic: Access denied")
		}
		return alice, nil
	}
	work := MustWorkTree(t)
	git(t, work, "push", "--quiet", s.url("g/app", "oauth2", "alice-token"), "main")
	if out, err := gitErr(work, nil, "push", s.url("g/app", alice, alicePW), "main:other"); err == nil {
		t.Errorf("push with a password AuthorizeUser refuses succeeded:\n%s", out)
	}
	s.handler.Wait()
	calls := s.pushes.take()
	if len(calls) != 1 || calls[0].pusher != alice {
		t.Fatalf("OnPush calls = %+v, want one by %q", calls, alice)
	}
	reflog := git(t, s.repos.Path(1), "reflog", "show", "--format=%gn", "refs/heads/main")
	if reflog != alice {
		t.Errorf("reflog committer = %q, want %q (REMOTE_USER)", reflog, alice)
	}
}

// TestRouteTable: every request reaches git through a line of the route
// table, authorized by that line's ability; a request no line serves is
// refused before authorization, and a push declaring more than the
// receive-pack line's body limit is 413 before anything runs.
func TestRouteTable(t *testing.T) {
	s := MustGitServer(t)
	s.handler.MaxPushBytes = 1 << 20
	var asked []policy.Ability
	var mu sync.Mutex
	s.handler.Authorize = func(ctx context.Context, p *ci.Project, user, pass string, a policy.Ability) error {
		mu.Lock()
		asked = append(asked, a)
		mu.Unlock()
		return authorize(ctx, p, user, pass, a)
	}
	take := func() []policy.Ability {
		mu.Lock()
		defer mu.Unlock()
		out := asked
		asked = nil
		return out
	}
	base := s.URL + "/g/app.git"
	for _, c := range []struct {
		method, path string
		body         string
		want         int
		ability      policy.Ability // 0: refused before authorization
	}{
		{"GET", "/info/refs?service=git-upload-pack", "", http.StatusOK, policy.ReadCode},
		{"GET", "/info/refs?service=git-receive-pack", "", http.StatusUnauthorized, policy.PushCode},
		{"POST", "/git-upload-pack", "0000", http.StatusOK, policy.ReadCode},
		{"POST", "/git-receive-pack", "0000", http.StatusUnauthorized, policy.PushCode},
		{"GET", "/info/refs", "", http.StatusForbidden, 0},
		{"GET", "/info/refs?service=git-upload-archive", "", http.StatusForbidden, 0},
		{"POST", "/info/refs?service=git-upload-pack", "", http.StatusMethodNotAllowed, 0},
		{"GET", "/git-upload-pack", "", http.StatusMethodNotAllowed, 0},
		{"PUT", "/git-receive-pack", "", http.StatusMethodNotAllowed, 0},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
		if c.method == "POST" {
			req.Header.Set("Content-Type", "application/x-"+strings.TrimPrefix(c.path, "/")+"-request")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got := take()
		if resp.StatusCode != c.want {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
		switch {
		case c.ability == 0 && len(got) != 0:
			t.Errorf("%s %s: authorized %v, want refused before authorization", c.method, c.path, got)
		case c.ability != 0 && (len(got) != 1 || got[0] != c.ability):
			t.Errorf("%s %s: authorized %v, want %v", c.method, c.path, got, c.ability)
		}
	}
	var limit int64
	for _, rt := range s.handler.Routes() {
		if strings.HasPrefix(rt.Pattern, "POST ") && strings.HasSuffix(rt.Pattern, "/git-receive-pack") {
			limit = rt.Body
		}
	}
	if limit <= s.handler.MaxPushBytes {
		t.Fatalf("receive-pack's body limit is %d with MaxPushBytes %d", limit, s.handler.MaxPushBytes)
	}
	req, _ := http.NewRequest("POST", base+"/git-receive-pack", io.LimitReader(zeros{}, limit+1))
	req.ContentLength = limit + 1
	req.SetBasicAuth(alice, alicePW)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("push declaring %d bytes: status %d, want 413", limit+1, resp.StatusCode)
		}
	}
	if got := take(); len(got) != 0 {
		t.Errorf("an oversized push was authorized (%v) before being refused", got)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
