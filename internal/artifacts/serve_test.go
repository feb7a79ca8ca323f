package artifacts

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/blob"
	blobfs "github.com/batonci/baton/internal/blob/fs"
	"github.com/batonci/baton/internal/ci"
)

func TestEntryRange(t *testing.T) {
	const etag = `"abc"`
	for _, tc := range []struct {
		rng, ifRange string
		start, end   int64
		status       int
	}{
		{"", "", 0, 100, 200},
		{"bytes=10-", "", 10, 100, 206},
		{"bytes=10-19", "", 10, 20, 206},
		{"bytes=90-500", "", 90, 100, 206},
		{"bytes=-30", "", 70, 100, 206},
		{"bytes=-300", "", 0, 100, 206},
		{"bytes=100-", "", 0, 0, 416},
		{"bytes=10-", etag, 10, 100, 206},
		{"bytes=10-", `"other"`, 0, 100, 200}, // the file changed: all of it
		{"bytes=0-1,5-6", "", 0, 100, 200},    // several ranges: ignored
		{"bytes=20-10", "", 0, 100, 200},
		{"bytes=x-", "", 0, 100, 200},
		{"bytes=-0", "", 0, 100, 200},
		{"items=1-2", "", 0, 100, 200},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.rng != "" {
			r.Header.Set("Range", tc.rng)
		}
		if tc.ifRange != "" {
			r.Header.Set("If-Range", tc.ifRange)
		}
		start, end, status := entryRange(r, etag, 100)
		if start != tc.start || end != tc.end || status != tc.status {
			t.Errorf("Range %q If-Range %q: [%d,%d) %d, want [%d,%d) %d", tc.rng, tc.ifRange, start, end, status, tc.start, tc.end, tc.status)
		}
	}
}

// TestEntryRangeEmptyFile: an empty file has no byte a 206's Content-Range
// could name (bytes 0--1/0): a suffix range gets the whole (empty) file, any
// other range 416.
func TestEntryRangeEmptyFile(t *testing.T) {
	for _, tc := range []struct {
		rng    string
		status int
	}{
		{"bytes=-5", http.StatusOK},
		{"bytes=0-", http.StatusRequestedRangeNotSatisfiable},
		{"bytes=0-0", http.StatusRequestedRangeNotSatisfiable},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Range", tc.rng)
		start, end, status := entryRange(r, `"e"`, 0)
		if start != 0 || end != 0 || status != tc.status {
			t.Errorf("Range %q of an empty file: [%d,%d) %d, want [0,0) %d", tc.rng, start, end, status, tc.status)
		}
	}
}

// TestServeEntryRefusesDamagedFile: a small file whose bytes no longer
// match the archive's CRC-32 answers an error before any byte or status
// is sent, and an intact one is served whole, in both the stored and the
// deflated form.
func TestServeEntryRefusesDamagedFile(t *testing.T) {
	ctx := context.Background()
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		blobs, err := blobfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		content := bytes.Repeat([]byte("0123456789abcdef"), 200) // 3200 B
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		f, _ := zw.CreateHeader(&zip.FileHeader{Name: "out/file.txt", Method: method})
		f.Write(content)
		zw.Close()
		archiveBytes := zbuf.Bytes()
		x, err := archive.Build(bytes.NewReader(archiveBytes), int64(len(archiveBytes)))
		if err != nil {
			t.Fatal(err)
		}
		var ibuf bytes.Buffer
		if _, err := x.WriteTo(&ibuf); err != nil {
			t.Fatal(err)
		}
		x.Close()
		put := func(key string, b []byte) {
			if _, err := blobs.Put(ctx, key, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		put("index", ibuf.Bytes())
		put("good", archiveBytes)
		damaged := bytes.Clone(archiveBytes)
		at := bytes.Index(damaged, []byte("out/file.txt")) + len("out/file.txt") + 40
		if method == zip.Store {
			at = bytes.Index(damaged, content[:16]) + 100
		}
		damaged[at] ^= 0x01
		put("bad", damaged)
		s := &Service{Blobs: blobs, Indexes: archive.NewCache(1 << 20)}
		for _, c := range []struct {
			key  string
			good bool
		}{{"good", true}, {"bad", false}, {"gone", false}} {
			rec := httptest.NewRecorder()
			err := s.ServeEntry(rec, httptest.NewRequest("GET", "/x", nil), &ci.Artifact{ID: 1, BlobKey: c.key, IndexKey: "index", SHA256: c.key}, "out/file.txt", false)
			switch {
			case c.good && (err != nil || rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), content)):
				t.Errorf("method %d, intact: %v, %d, %d bytes", method, err, rec.Code, rec.Body.Len())
			case !c.good && (err == nil || rec.Body.Len() != 0):
				t.Errorf("method %d, %s: err %v, %d bytes sent", method, c.key, err, rec.Body.Len())
			case !c.good && (rec.Header().Get("Content-Length") != "" || rec.Header().Get("Etag") != ""):
				// The caller answers the error on this writer: the file's
				// headers would truncate or mislabel that answer.
				t.Errorf("method %d, %s: the error's answer would carry the file's headers %v", method, c.key, rec.Header())
			}
		}
	}
}

// countingStore counts the bytes read from the objects it opens.
type countingStore struct {
	blob.Store
	read *atomic.Int64
}

func (c countingStore) Open(ctx context.Context, key string) (blob.Object, error) {
	o, err := c.Store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	return countingObject{o, c.read}, nil
}

type countingObject struct {
	blob.Object
	read *atomic.Int64
}

func (c countingObject) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.Object.ReadAt(p, off)
	c.read.Add(int64(n))
	return n, err
}

func (c countingObject) Read(p []byte) (int, error) {
	n, err := c.Object.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// TestServeEntryRangeOfStoredFile: a range of a stored file is read where
// it lies, not after reading everything before it, and gives the same
// bytes as the whole file's slice; a deflated file's range too.
func TestServeEntryRangeOfStoredFile(t *testing.T) {
	ctx := context.Background()
	content := make([]byte, 3<<20)
	for i := range content {
		content[i] = byte(i*7 + i>>11)
	}
	for _, method := range []uint16{zip.Store, zip.Deflate} {
		fsStore, err := blobfs.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		f, _ := zw.CreateHeader(&zip.FileHeader{Name: "big.bin", Method: method})
		f.Write(content)
		zw.Close()
		x, err := archive.Build(bytes.NewReader(zbuf.Bytes()), int64(zbuf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		var ibuf bytes.Buffer
		x.WriteTo(&ibuf)
		x.Close()
		for key, b := range map[string][]byte{"index": ibuf.Bytes(), "archive": zbuf.Bytes()} {
			if _, err := fsStore.Put(ctx, key, bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		var read atomic.Int64
		s := &Service{Blobs: countingStore{fsStore, &read}, Indexes: archive.NewCache(1 << 20)}
		for _, rng := range []struct{ from, to int }{{len(content) - 100, len(content) - 1}, {2 << 20, 2<<20 + 40000}, {1 << 20, 1<<20 + 999}} {
			read.Store(0)
			req := httptest.NewRequest("GET", "/x", nil)
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", rng.from, rng.to))
			rec := httptest.NewRecorder()
			if err := s.ServeEntry(rec, req, &ci.Artifact{ID: 1, BlobKey: "archive", IndexKey: "index", SHA256: "x"}, "big.bin", false); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), content[rng.from:rng.to+1]) {
				t.Fatalf("method %d, range %d-%d: %d, %d bytes, not the file's", method, rng.from, rng.to, rec.Code, rec.Body.Len())
			}
			if method == zip.Store && read.Load() > int64(rng.to-rng.from+1)+64<<10 {
				t.Errorf("range %d-%d of a stored file read %d bytes of the archive", rng.from, rng.to, read.Load())
			}
		}
	}
}
