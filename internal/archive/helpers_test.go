package archive

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"testing"
	"time"
)

// zipFile describes one entry written by mustZip.
type zipFile struct {
	name     string
	body     string
	method   uint16
	mode     fs.FileMode // 0: archive/zip's default
	modified time.Time
}

// mustZip writes files into a zip archive with archive/zip.
func mustZip(tb testing.TB, files ...zipFile) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: f.method, Modified: f.modified}
		if f.mode != 0 {
			h.SetMode(f.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			tb.Fatalf("adding %s: %v", f.name, err)
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			tb.Fatalf("writing %s: %v", f.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		tb.Fatalf("closing zip: %v", err)
	}
	return buf.Bytes()
}

// mustBuild indexes a zip held in memory.
func mustBuild(tb testing.TB, z []byte) *Index {
	tb.Helper()
	x, err := Build(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		tb.Fatalf("Build: %v", err)
	}
	return x
}

// mustPersist writes x and opens it again through Open (paged reads).
func mustPersist(tb testing.TB, x *Index) (*Reader, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	n, err := x.WriteTo(&buf)
	if err != nil {
		tb.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		tb.Fatalf("WriteTo returned %d, wrote %d", n, buf.Len())
	}
	r, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	if err := r.Verify(); err != nil {
		tb.Fatalf("Verify: %v", err)
	}
	return r, buf.Bytes()
}

// mustReader builds, persists and opens the index of files.
func mustReader(tb testing.TB, files ...zipFile) (*Reader, []byte) {
	tb.Helper()
	z := mustZip(tb, files...)
	r, _ := mustPersist(tb, mustBuild(tb, z))
	return r, z
}

// countingReaderAt counts ReadAt calls, as an S3 object would count requests.
type countingReaderAt struct {
	r     *bytes.Reader
	calls int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls++
	return c.r.ReadAt(p, off)
}
