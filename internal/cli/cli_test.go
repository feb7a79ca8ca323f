package cli

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func TestShowProgress(t *testing.T) {
	var stderr, stdout bytes.Buffer
	for _, tc := range []struct {
		name     string
		terminal io.Writer // the writer IsTerminal says is a terminal
		json     bool
		want     bool
	}{
		{"stderr is a terminal", &stderr, false, true},
		{"stderr is a terminal, --json", &stderr, true, false},
		{"only stdout is a terminal", &stdout, false, false},
		{"no terminal", nil, false, false},
	} {
		env := Env{Stdout: &stdout, Stderr: &stderr, IsTerminal: func(w io.Writer) bool { return tc.terminal != nil && w == tc.terminal }}
		if got := showProgress(env, tc.json); got != tc.want {
			t.Errorf("%s: showProgress = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestExpectedDigest(t *testing.T) {
	sum := sha256.Sum256([]byte("hello\n"))
	hexSum, b64 := hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		name string
		h    http.Header
		k    kind
		want string
	}{
		{"Repr-Digest", http.Header{"Repr-Digest": {"sha-256=:" + b64 + ":"}}, kindRaw, hexSum},
		{"Digest", http.Header{"Digest": {"md5=xyz, SHA-256=" + b64}}, kindRaw, hexSum},
		{"archive ETag", http.Header{"Etag": {`"` + hexSum + `"`}}, kindArchive, hexSum},
		{"a file's ETag is no digest", http.Header{"Etag": {`"` + hexSum + `"`}}, kindRaw, ""},
		{"merged ETag", http.Header{"Etag": {`"merged-` + hexSum + `"`}}, kindArchive, ""},
		{"short digest", http.Header{"Digest": {"sha-256=" + base64.StdEncoding.EncodeToString(sum[:8])}}, kindRaw, ""},
		{"none", http.Header{}, kindArchive, ""},
	} {
		if got := expectedDigest(tc.h, tc.k); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestWaitable(t *testing.T) {
	wrap := func(status int, msg string) error {
		return &ExitError{Code: ExitNotFound, Err: errors.Join(errors.New("GET x"), &httpError{Status: status, Message: msg})}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{wrap(404, "404 job 'build' in pipeline 4 has no artifacts yet (status: running)"), true},
		{wrap(404, "404 job 'build' in pipeline 4 has no artifacts yet (status: created)"), true},
		{wrap(404, "404 job 'build' in pipeline 4 has no artifacts yet (status: success)"), false},
		{wrap(404, "404 job 'build' in pipeline 4 has no artifacts yet (status: manual)"), false},
		{wrap(404, "404 Job 'x' Not Found in pipeline 1"), false},
		{wrap(429, "429 too many waiters"), true},
		{wrap(500, "500 Internal Server Error"), false},
		{errors.New("dial tcp: refused"), false},
	} {
		if got := waitable(tc.err); got != tc.want {
			t.Errorf("waitable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestParseArgsInterleaved(t *testing.T) {
	fl := flag.NewFlagSet("x", flag.ContinueOnError)
	job := fl.String("job", "", "")
	js := fl.Bool("json", false, "")
	pos, err := parseArgs(fl, []string{"a/b.txt", "--job", "build", "--json", "--", "-odd"}, Env{Stderr: io.Discard}, 2, 2)
	if err != nil || *job != "build" || !*js || len(pos) != 2 || pos[0] != "a/b.txt" || pos[1] != "-odd" {
		t.Fatalf("pos %q job %q json %v err %v", pos, *job, *js, err)
	}
	fl = flag.NewFlagSet("x", flag.ContinueOnError)
	if _, err := parseArgs(fl, []string{"one", "two"}, Env{Stderr: io.Discard}, 0, 1); Code(err) != ExitUsage {
		t.Fatalf("too many arguments: %v (code %d)", err, Code(err))
	}
}

func TestResolvePrecedence(t *testing.T) {
	dir := t.TempDir()
	env := func(vars map[string]string) Env {
		return Env{ConfigDir: dir, Getenv: func(k string) string { return vars[k] }}
	}
	job := map[string]string{"CI_JOB_TOKEN": "jobtok", "CI_API_V4_URL": "http://ci.example:8080/api/v4"}
	if _, err := writeStored(env(nil), stored{URL: "http://stored.example", Token: "storedtok"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		flags     common
		vars      map[string]string
		base, tok string
		isJob     bool
	}{
		{"stored login", common{}, nil, "http://stored.example", "storedtok", false},
		{"a job's variables", common{}, job, "http://ci.example:8080", "jobtok", true},
		{"environment over the job", common{}, map[string]string{"BATON_URL": "http://env.example/", "BATON_TOKEN": "envtok",
			"CI_JOB_TOKEN": "jobtok", "CI_API_V4_URL": "http://ci.example/api/v4"}, "http://env.example", "envtok", false},
		{"flags over everything", common{url: "https://flag.example/api/v4", token: "flagtok"}, map[string]string{"BATON_TOKEN": "envtok"},
			"https://flag.example", "flagtok", false},
		{"token from the environment, URL stored", common{}, map[string]string{"BATON_TOKEN": "envtok"}, "http://stored.example", "envtok", false},
	} {
		cr, err := resolve(tc.flags, env(tc.vars))
		if err != nil || cr.base != tc.base || cr.token != tc.tok || cr.job != tc.isJob {
			t.Errorf("%s: %+v %v", tc.name, cr, err)
		}
	}
	// A job token goes in JOB-TOKEN, any other as a bearer token.
	for _, isJob := range []bool{true, false} {
		req, _ := newClient(&creds{base: "http://x", token: "t", job: isJob}, Env{}).request(t.Context(), "GET", "/api/v4/user", nil)
		if (req.Header.Get("JOB-TOKEN") == "t") != isJob || (req.Header.Get("Authorization") == "Bearer t") == isJob {
			t.Errorf("job=%v: headers %v", isJob, req.Header)
		}
	}
}

func TestStoredLoginPermissions(t *testing.T) {
	dir := t.TempDir()
	env := Env{ConfigDir: dir}
	p, err := writeStored(env, stored{URL: "http://x", Token: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{p: 0o600, filepath.Dir(p): 0o700} {
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %04o", path, st.Mode(), err, want)
		}
	}
	if s, _, err := readStored(env); err != nil || s.Token != "secret" {
		t.Fatalf("read back: %+v %v", s, err)
	}
	for _, mode := range []os.FileMode{0o644, 0o604, 0o660} {
		_ = os.Chmod(p, mode)
		if _, _, err := readStored(env); Code(err) != ExitAuth {
			t.Errorf("mode %04o: %v, want refused", mode, err)
		}
	}
}

// failing fails after n bytes.
type failing struct {
	r io.Reader
	n int
}

func (f *failing) Read(b []byte) (int, error) {
	if f.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	b = b[:min(len(b), f.n)]
	n, err := f.r.Read(b)
	f.n -= n
	return n, err
}

type badWriter struct{}

func (badWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCopyHashed(t *testing.T) {
	data := make([]byte, 5<<20+12345)
	_, _ = rand.Read(data)
	want := sha256.Sum256(data)
	var out bytes.Buffer
	h := sha256.New()
	n, err := copyHashed(&out, bytes.NewReader(data), h, &progress{})
	if err != nil || n != int64(len(data)) || !bytes.Equal(out.Bytes(), data) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("copy: n=%d err=%v equal=%v", n, err, bytes.Equal(out.Bytes(), data))
	}
	out.Reset()
	n, err = copyHashed(&out, &failing{r: bytes.NewReader(data), n: 1<<20 + 7}, sha256.New(), &progress{})
	if !errors.Is(err, io.ErrUnexpectedEOF) || n != 1<<20+7 || !bytes.Equal(out.Bytes(), data[:n]) {
		t.Fatalf("cut read: n=%d err=%v", n, err)
	}
	if _, err := copyHashed(badWriter{}, bytes.NewReader(data), sha256.New(), &progress{}); err == nil || err.Error() != "disk full" {
		t.Fatalf("failing writer: %v", err)
	}
}

func TestStripANSI(t *testing.T) {
	in := "section_start:1:x\x1b[0K\x1b[32;1m$ echo hi\x1b[0;m\nhi\n\x1b]8;;http://x\x07link\x1b]8;;\x07"
	if got := string(stripANSI([]byte(in))); got != "section_start:1:x$ echo hi\nhi\nlink" {
		t.Errorf("%q", got)
	}
}

func TestScopePath(t *testing.T) {
	for _, tc := range []struct {
		s    scope
		k    kind
		file string
		wait int
		want string
	}{
		{scope{project: "g/app", pipeline: "4", job: "build"}, kindArchive, "", 0, "/api/v4/projects/g%2Fapp/pipelines/4/artifacts?job=build"},
		{scope{project: "7", pipeline: "4", job: "test 1/2", artifact: "bin"}, kindRaw, "dir/a b.txt", 30,
			"/api/v4/projects/7/pipelines/4/artifacts/raw/dir/a%20b.txt?artifact=bin&job=test+1%2F2&wait=30"},
		{scope{project: "7", commit: "abc1234", job: "build"}, kindManifest, "", 0, "/api/v4/projects/7/repository/commits/abc1234/artifacts/manifest?job=build"},
		{scope{project: "7", ref: "release/1.0", job: "build"}, kindArchive, "", 0, "/api/v4/projects/7/jobs/artifacts/release/1.0/download?job=build"},
		{scope{project: "7", ref: "main", job: "build"}, kindRaw, "x.txt", 0, "/api/v4/projects/7/jobs/artifacts/main/raw/x.txt?job=build"},
		{scope{project: "7", job: "123"}, kindRaw, "x.txt", 0, "/api/v4/projects/7/jobs/123/artifacts/x.txt"},
		{scope{project: "7", job: "123"}, kindManifest, "", 0, "/api/v4/projects/7/jobs/123/artifacts/manifest"},
	} {
		got, err := tc.s.path(tc.k, tc.file, tc.wait)
		if err != nil || got != tc.want {
			t.Errorf("%+v: %q %v, want %q", tc.s, got, err, tc.want)
		}
	}
	// Inside a job, the pipeline and project come from CI_*.
	s := scope{job: "build"}
	if err := s.complete(Env{Getenv: func(k string) string {
		return map[string]string{"CI_PROJECT_ID": "7", "CI_PIPELINE_ID": "42"}[k]
	}}); err != nil || s.project != "7" || s.pipeline != "42" {
		t.Errorf("job defaults: %+v %v", s, err)
	}
	s = scope{project: "7"}
	if err := s.complete(Env{Getenv: func(string) string { return "" }}); Code(err) != ExitUsage {
		t.Errorf("no scope: %v", err)
	}
}

// TestDownloadThroughRedirect: an archive download redirected to another
// host (Baton's --artifact-download redirect to signed S3 URLs) sends no
// token there, and is verified against the digest Baton put on its 302.
func TestDownloadThroughRedirect(t *testing.T) {
	data := make([]byte, 300<<10)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	var mu sync.Mutex
	var storeSaw []http.Header
	store := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		storeSaw = append(storeSaw, r.Header.Clone())
		mu.Unlock()
		w.Header().Set("ETag", `"s3-etag-1"`)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
	}))
	defer store.Close()
	etag := hex.EncodeToString(sum[:])
	baton := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("JOB-TOKEN") != "jobtok" {
			http.Error(w, `{"message":"401 Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("ETag", `"`+etag+`"`)
		http.Redirect(w, r, store.URL+"/signed?X-Amz-Signature=abc", http.StatusFound)
	}))
	defer baton.Close()
	vars := map[string]string{"CI_JOB_TOKEN": "jobtok", "CI_API_V4_URL": baton.URL + "/api/v4", "CI_PROJECT_ID": "1", "CI_PIPELINE_ID": "2"}
	out := filepath.Join(t.TempDir(), "a.zip")
	run := func() error {
		return Main(t.Context(), []string{"artifacts", "get", "--job", "build", "--output", out}, Env{Getenv: func(k string) string { return vars[k] }})
	}
	if err := run(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, data) {
		t.Fatalf("downloaded %d bytes", len(got))
	}
	for _, h := range storeSaw {
		for _, k := range []string{"Job-Token", "Private-Token", "Authorization"} {
			if h.Get(k) != "" {
				t.Errorf("the object store got %s", k)
			}
		}
	}
	etag = hex.EncodeToString(make([]byte, 32)) // Baton names another digest
	if err := run(); Code(err) != ExitVerify {
		t.Fatalf("wrong digest on the 302: %v, want exit %d", err, ExitVerify)
	}
}
