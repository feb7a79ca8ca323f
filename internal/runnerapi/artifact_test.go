package runnerapi

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/archive/ziptest"
	"github.com/batonci/baton/internal/ci"
)

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, content)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gzipOf(s string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, s)
	zw.Close()
	return buf.Bytes()
}

// upload sends an artifact the way gitlab-runner's artifacts-uploader does:
// a streamed (chunked) multipart body with one file part, settings in the
// query string, the job token in the Job-Token header.
func upload(e *env, j *specJob, query, filename string, content io.Reader) *http.Response {
	e.t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		part, err := mw.CreateFormFile("file", filename)
		if err == nil {
			_, err = io.Copy(part, content)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest("POST", e.url+"/api/v4/jobs/"+itoa(j.ID)+"/artifacts?"+query, pr)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Job-Token", j.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.ContentLength = -1 // unknown length: net/http sends Transfer-Encoding: chunked
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("uploading: %v", err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestArtifacts(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.MaxArtifactSize = 1 << 20; s.DefaultArtifactExpireIn = "30 days" })
	ctx := context.Background()
	e.pipeline([]string{"build", "test"},
		ci.JobSpec{Name: "build", Stage: "build", Script: []string{"make"}, Artifacts: &ci.ArtifactsSpec{Paths: []string{"bin/"}, Reports: map[string][]string{"dotenv": {"b.env"}}}},
		ci.JobSpec{Name: "other", Stage: "build", Script: []string{"true"}},
		ci.JobSpec{Name: "test", Stage: "test", Script: []string{"true"}, Variables: []ci.Variable{{Key: "BUILD_VERSION", Value: "yaml"}}},
	)
	build := e.takeJob(e.runner)
	other := e.takeJob(e.runner)
	if build.JobInfo.Name != "build" || other.JobInfo.Name != "other" {
		t.Fatalf("took %q and %q", build.JobInfo.Name, other.JobInfo.Name)
	}
	archive := zipOf(t, map[string]string{"bin/app": "binary", "bin/readme.txt": "hi"})

	cases := []struct {
		name     string
		job      *specJob
		query    string
		filename string
		body     []byte
		status   int
		message  string
	}{
		{"not a zip", build, "artifact_format=zip&artifact_type=archive", "artifacts.zip", []byte("garbage, not a zip"), http.StatusBadRequest, "not a valid zip"},
		{"too large", build, "artifact_format=raw&artifact_type=archive", "big", bytes.Repeat([]byte("x"), 1<<20+1), http.StatusRequestEntityTooLarge, "413 Request Entity Too Large: artifact is larger than the maximum of 1 MiB"},
		{"bad expire_in", build, "expire_in=soon", "artifacts.zip", archive, http.StatusBadRequest, "expire_in"},
		{"bad type", build, "artifact_type=../x", "artifacts.zip", archive, http.StatusBadRequest, "artifact_type"},
		{"invalid dotenv", build, "artifact_format=gzip&artifact_type=dotenv", "dotenv.gz", gzipOf("A=1\nnot valid\n"), http.StatusBadRequest, "line 2"},
		{"archive", build, "artifact_format=zip&artifact_type=archive&expire_in=1+week", "artifacts.zip", archive, http.StatusCreated, ""},
		{"second archive", build, "artifact_format=zip&artifact_type=archive", "artifacts.zip", archive, http.StatusConflict, "already has"},
		{"dotenv", build, "artifact_format=gzip&artifact_type=dotenv", "dotenv.gz", gzipOf("BUILD_VERSION=1.2.3\nBUILD_JOB=" + itoa(build.ID) + "\n"), http.StatusCreated, ""},
		{"wrong token", &specJob{ID: build.ID, Token: other.Token}, "", "artifacts.zip", archive, http.StatusForbidden, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := upload(e, c.job, c.query, c.filename, bytes.NewReader(c.body))
			var msg struct {
				Message string `json:"message"`
			}
			expectJSON(t, resp, c.status, &msg)
			if !strings.Contains(msg.Message, c.message) {
				t.Fatalf("message %q, want it to contain %q", msg.Message, c.message)
			}
		})
	}
	arts, err := e.db.ArtifactsOfJobs(ctx, []int64{build.ID})
	if err != nil || len(arts) != 2 {
		t.Fatalf("artifacts %v, %v; want archive and dotenv only", arts, err)
	}
	var zipArt *ci.Artifact
	for _, a := range arts {
		if a.FileType == ci.FileTypeArchive {
			zipArt = a
		}
	}
	sum := sha256.Sum256(archive)
	if zipArt == nil || zipArt.Size != int64(len(archive)) || zipArt.SHA256 != hex.EncodeToString(sum[:]) || zipArt.IndexKey == "" ||
		zipArt.Filename != "artifacts.zip" || zipArt.ExpireAt == nil || zipArt.ExpireAt.Sub(zipArt.CreatedAt).Hours() < 24*6.9 || zipArt.ExpireAt.Sub(zipArt.CreatedAt).Hours() > 24*7.1 {
		t.Fatalf("archive row %+v", zipArt)
	}
	if _, err := e.srv.Blobs.Stat(ctx, zipArt.IndexKey); err != nil {
		t.Fatalf("index blob: %v", err)
	}
	t.Run("rejected uploads left no blobs", func(t *testing.T) {
		// Only archive, its index and the dotenv report remain for the job.
		n := 0
		for _, a := range arts {
			for _, k := range []string{a.BlobKey, a.IndexKey} {
				if k != "" {
					if _, err := e.srv.Blobs.Stat(ctx, k); err == nil {
						n++
					}
				}
			}
		}
		if n != 3 {
			t.Fatalf("%d blobs of recorded artifacts, want 3", n)
		}
		if left := countFiles(t, e); left != 3 {
			t.Fatalf("%d blob files on disk, want 3", left)
		}
	})

	finish(t, e, build, "success")
	finish(t, e, other, "success")
	test := e.takeJob(e.runner)
	t.Run("dependencies and dotenv", func(t *testing.T) {
		if test.JobInfo.Name != "test" || len(test.Dependencies) != 2 {
			t.Fatalf("job %q dependencies %+v", test.JobInfo.Name, test.Dependencies)
		}
		d := test.Dependencies[0]
		if d.ID != build.ID || d.Name != "build" || d.Token != test.Token || d.ArtifactsFile.Filename != "artifacts.zip" || d.ArtifactsFile.Size != int64(len(archive)) {
			t.Fatalf("build dependency %+v", d)
		}
		if test.Dependencies[1].ArtifactsFile.Filename != "" {
			t.Fatalf("other has no archive: %+v", test.Dependencies[1])
		}
		if v, _ := test.variable("BUILD_VERSION"); v != "1.2.3" {
			t.Fatalf("BUILD_VERSION = %q, dotenv must win over YAML", v)
		}
	})
	t.Run("download", func(t *testing.T) {
		cases := []struct {
			name   string
			job    int64
			auth   []string
			query  string
			status int
		}{
			{"dependent job token header", build.ID, []string{"Job-Token", test.Token}, "direct_download=true", http.StatusOK},
			{"job_token param", build.ID, nil, "job_token=" + test.Token, http.StatusOK},
			{"no archive", other.ID, []string{"Job-Token", test.Token}, "", http.StatusNotFound},
			{"unknown token", build.ID, []string{"Job-Token", "glcbt-nope"}, "", http.StatusUnauthorized},
			{"finished job's token", build.ID, []string{"Job-Token", build.Token}, "", http.StatusForbidden},
			{"no token", build.ID, nil, "", http.StatusUnauthorized},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				resp := e.do("GET", "/api/v4/jobs/"+itoa(c.job)+"/artifacts?"+c.query, nil, c.auth...)
				body := expect(t, resp, c.status)
				if c.status != http.StatusOK {
					if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
						t.Fatalf("error Content-Type %q", resp.Header.Get("Content-Type"))
					}
					return
				}
				if !bytes.Equal(body, archive) || resp.Header.Get("Content-Type") != "application/zip" ||
					resp.Header.Get("ETag") != `"`+zipArt.SHA256+`"` || !strings.Contains(resp.Header.Get("Content-Disposition"), "artifacts.zip") {
					t.Fatalf("download: %d bytes, headers %v", len(body), resp.Header)
				}
			})
		}
	})
}

// countFiles counts the files in the blob store's directory (objects and
// leftover temporary files alike).
func countFiles(t *testing.T, e *env) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(e.blobRoot, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatalf("walking blob root: %v", err)
	}
	return n
}

// TestUploadFormFields covers older runners: token and settings as form
// fields placed before the file part, with a Content-Length.
func TestUploadFormFields(t *testing.T) {
	e := newEnv(t)
	e.pipeline([]string{"build"}, ci.JobSpec{Name: "b", Stage: "build", Script: []string{"true"}})
	j := e.takeJob(e.runner)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{{"token", j.Token}, {"artifact_type", "junit"}, {"artifact_format", "gzip"}, {"expire_in", "never"}} {
		mw.WriteField(kv[0], kv[1])
	}
	part, _ := mw.CreateFormFile("file", "junit.xml.gz")
	part.Write(gzipOf("<testsuites/>"))
	mw.Close()
	resp := e.do("POST", "/api/v4/jobs/"+itoa(j.ID)+"/artifacts", buf.Bytes(), "Content-Type", mw.FormDataContentType())
	expectJSON(t, resp, http.StatusCreated, nil)
	arts, err := e.db.ArtifactsOfJobs(context.Background(), []int64{j.ID})
	if err != nil || len(arts) != 1 || arts[0].FileType != "junit" || arts[0].FileFormat != "gzip" || arts[0].ExpireAt != nil || arts[0].Filename != "junit.xml.gz" {
		t.Fatalf("artifacts %+v, %v", arts, err)
	}
}

// TestUploadArchiveLimits uploads archives over the index's limits, or
// whose entries overlap, through the runner API: each is refused with the
// limit's message, and neither a blob, nor a row, nor a temporary file of
// the index stays behind. An archive within the limits is then stored.
func TestUploadArchiveLimits(t *testing.T) {
	tmp := t.TempDir()
	lim := archive.Limits{MaxEntries: 5, MaxUncompressed: 1 << 20, TempDir: tmp}
	e := newEnv(t, func(s *Server) {
		s.Index = lim
	})
	e.pipeline([]string{"build"}, ci.JobSpec{Name: "build", Stage: "build", Script: []string{"true"}})
	j := e.takeJob(e.runner)
	files := func(n int) []ziptest.File {
		var fs []ziptest.File
		for i := range n {
			fs = append(fs, ziptest.File{Name: "f" + itoa(int64(i)), Data: []byte("data")})
		}
		return fs
	}
	zipped := func(fs ...ziptest.File) []byte {
		var buf bytes.Buffer
		if _, err := ziptest.Write(&buf, fs); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	cases := []struct {
		name    string
		body    []byte
		status  int
		message string
	}{
		{"too many entries", zipped(files(6)...), http.StatusRequestEntityTooLarge,
			"artifact archive has 6 entries; at most 5 are allowed (--max-artifact-entries)"},
		{"too much declared", zipped(ziptest.File{Name: "a", Data: []byte("x"), Size: 1<<20 + 1}), http.StatusRequestEntityTooLarge,
			"artifact archive declares at least 1048577 bytes of uncompressed data; at most 1 MiB is allowed (--max-artifact-uncompressed)"},
		{"overlapping entries", zipped(ziptest.File{Name: "a", Data: []byte("x")}, ziptest.File{Name: "b", SharesWith: 1}), http.StatusBadRequest,
			"artifact archive has overlapping entries: 'a' and 'b' share bytes at offset 0 (refused as a zip bomb)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := upload(e, j, "artifact_format=zip&artifact_type=archive", "artifacts.zip", bytes.NewReader(c.body))
			var msg struct {
				Message string `json:"message"`
			}
			expectJSON(t, resp, c.status, &msg)
			if msg.Message != c.message {
				t.Fatalf("message %q; want %q", msg.Message, c.message)
			}
			if arts, err := e.db.ArtifactsOfJobs(t.Context(), []int64{j.ID}); err != nil || len(arts) != 0 {
				t.Fatalf("artifacts %v, %v; want none", arts, err)
			}
			if n := countFiles(t, e); n != 0 {
				t.Fatalf("%d blob files left", n)
			}
			if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
				t.Fatalf("temporary files left: %v, %v", left, err)
			}
		})
	}
	resp := upload(e, j, "artifact_format=zip&artifact_type=archive", "artifacts.zip", bytes.NewReader(zipped(files(5)...)))
	expect(t, resp, http.StatusCreated)
	if n := countFiles(t, e); n != 2 {
		t.Fatalf("%d blob files after a good upload; want the archive and its index", n)
	}
}
