package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/batonci/baton/internal/blob/blobtest"
	"github.com/batonci/baton/internal/blob/s3"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/tests3"
)

func TestSignedURLServesAttachment(t *testing.T) {
	s := newStore(t)
	c := blobtest.Content{Seed: 1, Size: 70_000}
	blobtest.MustPut(t, s, "jobs/1/artifacts.zip", c)
	blobtest.CheckSignedURL(t, s, "jobs/1/artifacts.zip", c, true)
}

func TestNew(t *testing.T) {
	b := tests3.Server(t)
	tests := []struct {
		name     string
		bucket   string
		create   bool
		wantKind ci.Kind
	}{
		{"existing bucket", b.Bucket, false, ""},
		{"missing bucket", b.Bucket + "-missing", false, ci.KindInvalid},
		{"missing bucket created", b.Bucket + "-created", true, ""},
		{"no bucket", "", false, ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config(b)
			cfg.Bucket, cfg.CreateBucket = tt.bucket, tt.create
			s, err := s3.New(context.Background(), cfg)
			if ci.KindOf(err) != tt.wantKind {
				t.Fatalf("New error = %v (kind %q), want kind %q", err, ci.KindOf(err), tt.wantKind)
			}
			if err == nil {
				blobtest.MustPut(t, s, "probe", blobtest.Content{Size: 3})
			}
		})
	}
	t.Run("replicas creating at once", func(t *testing.T) {
		cfg := config(b)
		cfg.Bucket, cfg.CreateBucket = b.Bucket+"-together", true
		errs := make(chan error, 3)
		for range cap(errs) {
			go func() {
				_, err := s3.New(context.Background(), cfg)
				errs <- err
			}()
		}
		for range cap(errs) {
			if err := <-errs; err != nil {
				t.Errorf("New of a bucket another replica creates too: %v", err)
			}
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		cfg := config(b)
		cfg.Endpoint = "127.0.0.1:1" // nothing listens on port 1
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s3.New(ctx, cfg); ci.KindOf(err) != ci.KindUnavailable {
			t.Errorf("New against a closed port: error = %v (kind %q), want unavailable", err, ci.KindOf(err))
		}
	})
}

func TestPrefix(t *testing.T) {
	b := tests3.Server(t)
	cfg := config(b)
	cfg.Prefix = "/baton/blobs"
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.MustPut(t, s, "a/b", blobtest.Content{Size: 12})
	oi, err := b.Client(t).StatObject(context.Background(), b.Bucket, "baton/blobs/a/b", minio.StatObjectOptions{})
	if err != nil || oi.Size != 12 {
		t.Errorf("object under the prefix: %+v, %v; want size 12", oi, err)
	}
}

// TestFailedPutAbortsUpload checks that no multipart upload is left behind
// (taking space in the bucket) when the source fails or the context ends.
func TestFailedPutAbortsUpload(t *testing.T) {
	b := tests3.Server(t)
	s, err := s3.New(context.Background(), config(b))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		r    io.Reader
	}{
		{"failing reader", context.Background(), io.MultiReader(blobtest.Content{Size: s3.PartSize + 1}.Reader(), errorReader{boom})},
		{"cancelled context", ctx, blobtest.Content{Size: 1000}.Reader()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Put(tt.ctx, "failed", tt.r); err == nil {
				t.Fatal("Put succeeded")
			}
			for u := range b.Client(t).ListIncompleteUploads(context.Background(), b.Bucket, "", true) {
				if u.Err != nil {
					t.Fatalf("listing uploads: %v", u.Err)
				}
				t.Errorf("multipart upload %s of %q left behind", u.UploadID, u.Key)
			}
		})
	}
}

type errorReader struct{ err error }

func (e errorReader) Read([]byte) (int, error) { return 0, e.err }

func TestReplacedWhileOpen(t *testing.T) {
	s := newStore(t)
	blobtest.MustPut(t, s, "k", blobtest.Content{Seed: 1, Size: 1000})
	obj := blobtest.MustOpen(t, s, "k")
	blobtest.MustPut(t, s, "k", blobtest.Content{Seed: 2, Size: 1000})
	if _, err := obj.ReadAt(make([]byte, 10), 0); ci.KindOf(err) != ci.KindConflict {
		t.Errorf("ReadAt of a replaced object: error = %v (kind %q), want conflict", err, ci.KindOf(err))
	}
}

// TestServeContentRanges serves an Object with http.ServeContent, as the
// download handler does, and asks for ranges, which exercise Seek and Read.
func TestServeContentRanges(t *testing.T) {
	s := newStore(t)
	c := blobtest.Content{Seed: 3, Size: 3 << 20}
	blobtest.MustPut(t, s, "served", c)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		obj, err := s.Open(r.Context(), "served")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer obj.Close()
		http.ServeContent(w, r, "served.bin", time.Time{}, obj)
	}))
	defer srv.Close()
	full := c.Bytes()
	tests := []struct {
		name       string
		rangeHdr   string
		wantStatus int
		want       []byte
	}{
		{"whole", "", http.StatusOK, full},
		{"first bytes", "bytes=0-99", http.StatusPartialContent, full[:100]},
		{"middle", "bytes=1048570-2097160", http.StatusPartialContent, full[1048570:2097161]},
		{"suffix", "bytes=-50", http.StatusPartialContent, full[len(full)-50:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || !bytes.Equal(body, tt.want) {
				t.Errorf("GET Range %q: %s with %d bytes, want %d with %d matching bytes",
					tt.rangeHdr, resp.Status, len(body), tt.wantStatus, len(tt.want))
			}
		})
	}
}
