package runnerapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/ci"
)

// streamCounter is archive.Limits, remembering how many digests each Build
// was given from the upload stream.
type streamCounter struct {
	archive.Limits
	mu       sync.Mutex
	streamed []int
}

func (c *streamCounter) Build(r io.ReaderAt, size int64, streamed *archive.Digests) (*archive.Index, error) {
	c.mu.Lock()
	c.streamed = append(c.streamed, streamed.Len())
	c.mu.Unlock()
	return c.Limits.Build(r, size, streamed)
}

// TestUploadDigests: a zip upload is digested as it streams into the blob
// store; the stored index carries each file's SHA-256, and the files are
// recorded by digest with the archive.
func TestUploadDigests(t *testing.T) {
	ix := &streamCounter{}
	e := newEnv(t, func(s *Server) { s.Index = ix })
	ctx := context.Background()
	e.pipeline([]string{"build"}, ci.JobSpec{Name: "build", Stage: "build", Script: []string{"true"}})
	j := e.takeJob(e.runner)
	files := map[string]string{"bin/app": "binary", "lib/a.txt": "x", "lib/copy": "binary", "empty": ""}
	expect(t, upload(e, j, "artifact_format=zip&artifact_type=archive", "artifacts.zip", bytes.NewReader(zipOf(t, files))), http.StatusCreated)
	if len(ix.streamed) != 1 || ix.streamed[0] != len(files) {
		t.Fatalf("digests streamed to Build: %v; want [%d]", ix.streamed, len(files))
	}
	arts, err := e.db.ArtifactsOfJobs(ctx, []int64{j.ID})
	if err != nil || len(arts) != 1 {
		t.Fatalf("artifacts %v, %v", arts, err)
	}
	obj, err := e.srv.Blobs.Open(ctx, arts[0].IndexKey)
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	x, err := archive.Open(obj, obj.Size())
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		en, err := x.Lookup(name)
		if err != nil || en.SHA256 != sha256.Sum256([]byte(body)) {
			t.Errorf("%s: sha256 %x, %v; want that of %q", name, en.SHA256, err, body)
		}
	}
	sum := sha256.Sum256([]byte("binary"))
	got, total, err := e.db.FilesByDigest(ctx, e.project.ID, hex.EncodeToString(sum[:]), ci.Page{})
	if err != nil || total != 2 || len(got) != 2 {
		t.Fatalf("FilesByDigest = %+v, %d, %v", got, total, err)
	}
	for i, p := range []string{"bin/app", "lib/copy"} {
		if got[i].Path != p || got[i].JobID != j.ID || got[i].ArtifactID != arts[0].ID || got[i].JobName != "build" {
			t.Errorf("FilesByDigest[%d] = %+v; want %s of job %d", i, got[i], p, j.ID)
		}
	}
}
