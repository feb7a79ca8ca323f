package fs

import (
	"context"
	"os"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// Object is an open file in the store. Reads, ReadAt and Seek go straight to
// the file; ReadAt is safe for concurrent use (pread).
//
// For zero-copy downloads, serve File() rather than the Object: net/http
// uses sendfile only when the reader it copies from is an *os.File. Callers
// holding a blob.Object can check for it with
//
//	if f, ok := obj.(interface{ File() *os.File }); ok {
//		http.ServeContent(w, r, name, modtime, f.File())
//	}
type Object struct {
	f    *os.File
	size int64
}

var _ blob.Object = (*Object)(nil)

// Open opens key for reading. A missing key is KindNotFound, an invalid one
// KindInvalid. The caller must Close the Object.
func (s *Store) Open(ctx context.Context, key string) (blob.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, notFound(err, key)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, notFound(err, key)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, ci.Errorf(ci.KindNotFound, "blob %q not found", key)
	}
	return &Object{f: f, size: fi.Size()}, nil
}

// File returns the underlying file, for sendfile. It is closed by Close.
func (o *Object) File() *os.File { return o.f }

// Size returns the object's size in bytes.
func (o *Object) Size() int64 { return o.size }

// Read reads from the current offset.
func (o *Object) Read(p []byte) (int, error) { return o.f.Read(p) }

// ReadAt reads len(p) bytes at off; it returns io.EOF when fewer remain.
func (o *Object) ReadAt(p []byte, off int64) (int, error) { return o.f.ReadAt(p, off) }

// Seek sets the offset of the next Read.
func (o *Object) Seek(offset int64, whence int) (int64, error) { return o.f.Seek(offset, whence) }

// Close closes the file.
func (o *Object) Close() error { return o.f.Close() }
