package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/httpx"
)

// routeTable records what a surface registers.
type routeTable map[string]http.Handler

func (t routeTable) Handle(pattern string, h http.Handler) { t[pattern] = h }

// concretePath turns a route pattern into a path it matches.
func concretePath(pattern string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "POST", pattern
	}
	r := strings.NewReplacer("{rest...}", "artifacts", "{path...}", "f.txt", "{ref}", "main", "{sha}", "abcdef1")
	path = r.Replace(path)
	for strings.Contains(path, "{") {
		i := strings.Index(path, "{")
		j := strings.Index(path[i:], "}")
		path = path[:i] + "1" + path[i+j+1:]
	}
	return method, path
}

// sized is a body of n bytes, produced lazily.
type sized struct{ left int64 }

func (s *sized) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), s.left)
	for i := range p[:n] {
		p[i] = '{'
	}
	s.left -= n
	return int(n), nil
}

// TestBodyLimits walks the API's and the runner API's route tables: every
// route other than GET declares a body limit, and a body one byte over it
// is 413, whatever the route does with bodies. Routes that read the body
// before they can authenticate also answer 413 to such a body sent
// chunked (no Content-Length to refuse it by).
func TestBodyLimits(t *testing.T) {
	in := startBaton(t, engines()[0], func(c *Config) { c.MaxArtifactMiB = 1 })
	routes := routeTable{}
	in.main.API.Register(routes)
	in.main.RunnerAPI.Register(routes)
	// Project 1, for the trigger routes; public, since a private project
	// answers a failed trigger (413 included) as a missing one.
	in.api("POST", "/api/v4/projects", url.Values{"name": {"limits"}, "visibility": {"public"}}, http.StatusCreated, nil)
	if len(routes) < 50 {
		t.Fatalf("only %d routes recorded", len(routes))
	}
	for pattern, h := range routes {
		method, path := concretePath(pattern)
		if method == "GET" {
			continue
		}
		l, ok := h.(*httpx.Limited)
		if !ok || l.Max <= 0 {
			t.Errorf("%s: no body limit", pattern)
			continue
		}
		req, _ := http.NewRequest(method, in.url+path, &sized{left: l.Max + 1})
		req.ContentLength = l.Max + 1
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("PRIVATE-TOKEN", in.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", pattern, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "at most") {
			t.Errorf("%s with %d bytes: %d %s, want 413 naming the limit", pattern, l.Max+1, resp.StatusCode, body)
		}
	}
	for _, pattern := range []string{"POST /api/v4/runners", "POST /api/v4/runners/verify", "POST /api/v4/jobs/request",
		"POST /api/v4/projects/{id}/trigger/pipeline", "POST /api/v4/projects/{id}/ref/{ref}/trigger/pipeline"} {
		method, path := concretePath(pattern)
		max := routes[pattern].(*httpx.Limited).Max
		// Anonymous, chunked: the handler reads the body to find its token.
		req, _ := http.NewRequest(method, in.url+path, io.MultiReader(&sized{left: max + 1}))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", pattern, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s chunked with %d bytes: %d, want 413", pattern, max+1, resp.StatusCode)
		}
	}
}

// TestNoTempFiles sends large multipart bodies to the routes that parse
// forms, before and after authentication: nothing is left in TMPDIR.
func TestNoTempFiles(t *testing.T) {
	in := startBaton(t, engines()[0])
	in.api("POST", "/api/v4/projects", url.Values{"name": {"forms"}, "visibility": {"public"}}, http.StatusCreated, nil) // project 1
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where net/http's multipart parsing would spill
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("name", "p")
	f, _ := mw.CreateFormFile("file", "big.bin")
	f.Write(bytes.Repeat([]byte("x"), 3<<20))
	mw.Close()
	for _, path := range []string{"/api/v4/projects", "/api/v4/runners", "/api/v4/runners/verify", "/api/v4/jobs/request",
		"/api/v4/projects/1/trigger/pipeline", "/api/v4/projects/1/ref/main/trigger/pipeline", "/api/v4/user/runners", "/-/sign_in"} {
		for _, chunked := range []bool{false, true} {
			var rd io.Reader = bytes.NewReader(body.Bytes())
			if chunked {
				rd = io.MultiReader(rd)
			}
			req, _ := http.NewRequest("POST", in.url+path, rd)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			req.Header.Set("PRIVATE-TOKEN", in.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST %s: %v", path, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			// The UI parses no multipart forms: sign-in refuses it unread.
			if resp.StatusCode != http.StatusRequestEntityTooLarge && !(path == "/-/sign_in" && resp.StatusCode == http.StatusForbidden) {
				t.Errorf("POST %s (chunked %v) with a 3 MiB form: %d, want 413", path, chunked, resp.StatusCode)
			}
		}
	}
	left, _ := os.ReadDir(tmp)
	for _, e := range left {
		t.Errorf("left in TMPDIR: %s", e.Name())
	}
}

// TestSlowHeaders: a client trickling its request headers is disconnected
// once the header timeout passes.
func TestSlowHeaders(t *testing.T) {
	in := startBaton(t, engines()[0], func(c *Config) { c.ReadHeaderTimeout = 300 * time.Millisecond })
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		msg := "GET /-/health HTTP/1.1\r\nHost: x\r\nX-Slow: "
		for i := 0; ; i++ {
			if _, err := conn.Write([]byte{msg[min(i, len(msg)-1)]}); err != nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	// A safety net only: the server must close well before this.
	conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a trickling client for a minute")
	}
}

// TestMaxConnections: with --max-connections 2, two idle connections keep
// a third client waiting to be accepted; it is served once one closes.
func TestMaxConnections(t *testing.T) {
	in := startBaton(t, engines()[0], func(c *Config) { c.MaxConnections = 2 })
	ll, ok := in.main.listener.(*limitListener)
	if !ok {
		t.Fatalf("listener %T does not limit connections", in.main.listener)
	}
	addr := strings.TrimPrefix(in.url, "http://")
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	eventually(t, 10*time.Second, "two accepted connections", func() bool { return ll.Open() == 2 })
	third, err := net.Dial("tcp", addr) // completes in the kernel's backlog
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	fmt.Fprintf(third, "GET /-/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if n := ll.Open(); n > 2 {
		t.Fatalf("%d connections open, limit 2", n)
	}
	idle[0].Close()
	third.SetReadDeadline(time.Now().Add(60 * time.Second))
	got, err := io.ReadAll(third)
	if err != nil || !bytes.Contains(got, []byte("GitLab OK")) {
		t.Fatalf("third client after one closed: %q, %v", got, err)
	}
	if n := ll.Open(); n > 2 {
		t.Fatalf("%d connections open, limit 2", n)
	}
}
