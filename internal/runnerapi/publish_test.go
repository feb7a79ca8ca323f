package runnerapi

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store/storetest"
)

// publish PUTs body as the named artifact of job j with token.
func publish(e *env, jobID int64, token, name, query string, body io.Reader) *http.Response {
	e.t.Helper()
	path := "/api/v4/jobs/" + itoa(jobID) + "/artifacts/publish/" + name
	if query != "" {
		path += "?" + query
	}
	if token == "" {
		return e.do("PUT", path, body)
	}
	return e.do("PUT", path, body, "JOB-TOKEN", token)
}

// blobBytes reads an artifact's stored bytes.
func blobBytes(t *testing.T, e *env, key string) []byte {
	t.Helper()
	obj, err := e.srv.Blobs.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("opening %s: %v", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func publishedRows(t *testing.T, e *env, jobID int64) map[string]*ci.Artifact {
	t.Helper()
	arts, err := e.db.ArtifactsOfJobs(context.Background(), []int64{jobID})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*ci.Artifact{}
	for _, a := range arts {
		if a.FileType == ci.FileTypePublished {
			out[a.Name] = a
		}
	}
	return out
}

// TestPublish: a running job publishes named artifacts with its own token
// on both engines: a zip as is (indexed), anything else as a one-entry zip;
// a name once (409, or replaced with replace=true, whose old bytes go); no
// other token, no finished job, no bad name, nothing over the size and
// count limits; and the token is checked before the body is read.
func TestPublish(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			testPublish(t, newEnvOn(t, eng.Open(t), func(s *Server) { s.MaxArtifactSize = 1 << 20; s.MaxPublished = 3 }))
		})
	}
}

func testPublish(t *testing.T, e *env) {
	ctx := context.Background()
	e.pipeline([]string{"build"},
		ci.JobSpec{Name: "build", Stage: "build", Script: []string{"make"}, Artifacts: &ci.ArtifactsSpec{Paths: []string{"bin/"}, ExpireIn: "2 days"}},
		ci.JobSpec{Name: "other", Stage: "build", Script: []string{"true"}},
	)
	build := e.takeJob(e.runner)
	other := e.takeJob(e.runner)
	if build.JobInfo.Name != "build" {
		build, other = other, build
	}
	zipped := zipOf(t, map[string]string{"bin/app": "binary"})

	t.Run("a zip is stored as is and indexed", func(t *testing.T) {
		var got publishedEntity
		expectJSON(t, publish(e, build.ID, build.Token, "bundle", "", bytes.NewReader(zipped)), http.StatusCreated, &got)
		sum := sha256.Sum256(zipped)
		a := publishedRows(t, e, build.ID)["bundle"]
		if got.Name != "bundle" || got.FileType != ci.FileTypePublished || got.SHA256 != hex.EncodeToString(sum[:]) || a == nil ||
			a.ID != got.ID || a.IndexKey == "" || !bytes.Equal(blobBytes(t, e, a.BlobKey), zipped) {
			t.Fatalf("answer %+v, row %+v", got, a)
		}
		// The job's artifacts:expire_in applies.
		if a.ExpireAt == nil || a.ExpireAt.Sub(a.CreatedAt) < 47*time.Hour || a.ExpireAt.Sub(a.CreatedAt) > 49*time.Hour {
			t.Fatalf("expire_at %v for a job expiring its artifacts in 2 days", a.ExpireAt)
		}
	})

	t.Run("one file becomes a one-entry zip", func(t *testing.T) {
		expect(t, publish(e, build.ID, build.Token, "notes", "filename=notes.txt", strings.NewReader("release notes\n")), http.StatusCreated)
		a := publishedRows(t, e, build.ID)["notes"]
		data := blobBytes(t, e, a.BlobKey)
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil || len(zr.File) != 1 || zr.File[0].Name != "notes.txt" || a.IndexKey == "" {
			t.Fatalf("stored %d bytes: %v, index %q", len(data), err, a.IndexKey)
		}
		rc, _ := zr.File[0].Open()
		content, _ := io.ReadAll(rc)
		if string(content) != "release notes\n" {
			t.Fatalf("entry holds %q", content)
		}
	})

	t.Run("a name once per job, unless replaced", func(t *testing.T) {
		expect(t, publish(e, build.ID, build.Token, "notes", "", strings.NewReader("again")), http.StatusConflict)
		old := publishedRows(t, e, build.ID)["notes"]
		var got publishedEntity
		expectJSON(t, publish(e, build.ID, build.Token, "notes", "replace=true", strings.NewReader("v2")), http.StatusCreated, &got)
		now := publishedRows(t, e, build.ID)["notes"]
		if !got.Replaced || now.BlobKey == old.BlobKey || now.ID != got.ID || now.SHA256 != got.SHA256 {
			t.Fatalf("replace answered %+v; row %+v, was %+v", got, now, old)
		}
		if _, err := e.srv.Blobs.Stat(ctx, old.BlobKey); !ci.IsNotFound(err) {
			t.Fatalf("replaced bytes still stored: %v", err)
		}
		// Another job may use the same name.
		expect(t, publish(e, other.ID, other.Token, "notes", "", strings.NewReader("other's")), http.StatusCreated)
	})

	before := countFiles(t, e)
	cases := []struct {
		name   string
		job    int64
		token  string
		art    string
		query  string
		body   io.Reader
		status int
	}{
		{"another job's token", build.ID, other.Token, "x", "", strings.NewReader("x"), http.StatusForbidden},
		{"no token", build.ID, "", "x", "", strings.NewReader("x"), http.StatusForbidden},
		{"a personal token", build.ID, e.pat, "x", "", strings.NewReader("x"), http.StatusForbidden},
		{"unknown job", 999999, build.Token, "x", "", strings.NewReader("x"), http.StatusNotFound},
		{"bad name", build.ID, build.Token, ".hidden", "", strings.NewReader("x"), http.StatusBadRequest},
		{"bad filename", build.ID, build.Token, "x", "filename=../etc", strings.NewReader("x"), http.StatusBadRequest},
		{"bad replace", build.ID, build.Token, "x", "replace=maybe", strings.NewReader("x"), http.StatusBadRequest},
		{"bad expire_in", build.ID, build.Token, "x", "expire_in=soon", strings.NewReader("x"), http.StatusBadRequest},
		{"too large, chunked", build.ID, build.Token, "x", "", io.MultiReader(bytes.NewReader(make([]byte, 1<<20)), strings.NewReader("!")), http.StatusRequestEntityTooLarge},
		{"too large, declared", build.ID, build.Token, "x", "", bytes.NewReader(make([]byte, 1<<20+1)), http.StatusRequestEntityTooLarge},
		{"a corrupt zip", build.ID, build.Token, "x", "", bytes.NewReader(append([]byte("PK\x03\x04"), "garbage"...)), http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, publish(e, c.job, c.token, c.art, c.query, c.body), c.status)
		})
	}
	if rows := publishedRows(t, e, build.ID); len(rows) != 2 {
		t.Fatalf("published rows %v, want bundle and notes", rows)
	}
	if after := countFiles(t, e); after != before {
		t.Fatalf("refused publishes left blobs: %d files, were %d", after, before)
	}
	t.Run("at most MaxPublished names per job", func(t *testing.T) {
		expect(t, publish(e, build.ID, build.Token, "third", "", strings.NewReader("3")), http.StatusCreated)
		expect(t, publish(e, build.ID, build.Token, "fourth", "", strings.NewReader("4")), http.StatusTooManyRequests)
		// Replacing one of them is no new name.
		expect(t, publish(e, build.ID, build.Token, "third", "replace=true", strings.NewReader("3b")), http.StatusCreated)
	})

	t.Run("the token is checked before the body is read", func(t *testing.T) {
		// The real route table, served in process, with a body that
		// records whether anything read it.
		mux := http.NewServeMux()
		e.srv.Register(mux)
		for _, c := range []struct {
			token, name, query string
			status             int
			wantRead           bool
		}{
			{other.Token, "sneaky", "", http.StatusForbidden, false},
			{"", "sneaky", "", http.StatusForbidden, false},
			{build.Token, "fifth", "", http.StatusTooManyRequests, false},    // over the count: refused before reading too
			{build.Token, "third", "replace=true", http.StatusCreated, true}, // the control
		} {
			body := &readFlag{r: strings.NewReader("payload")}
			req := httptest.NewRequest("PUT", "/api/v4/jobs/"+itoa(build.ID)+"/artifacts/publish/"+c.name+"?"+c.query, body)
			if c.token != "" {
				req.Header.Set("JOB-TOKEN", c.token)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != c.status || body.read() != c.wantRead {
				t.Fatalf("%s: status %d (%s), body read %v; want %d, %v", c.name, rec.Code, rec.Body, body.read(), c.status, c.wantRead)
			}
		}
	})

	t.Run("a finished job publishes nothing", func(t *testing.T) {
		finish(t, e, other, "success")
		expect(t, publish(e, other.ID, other.Token, "late", "", strings.NewReader("x")), http.StatusForbidden)
	})
}

// readFlag records whether anything read it.
type readFlag struct {
	r  io.Reader
	mu sync.Mutex
	n  int
}

func (f *readFlag) Read(p []byte) (int, error) {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
	return f.r.Read(p)
}

func (f *readFlag) read() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n > 0
}
