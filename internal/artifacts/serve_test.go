package artifacts

import (
	"archive/zip"
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/batonci/baton/internal/archive"
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
