package fs

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// maxOpenFiles is how many objects the store keeps open between reads:
// reading one file of an archive then costs one pread instead of open,
// fstat, pread and close. Objects are immutable under their key (keys are
// unique per upload) and Put and Delete forget the key, so a kept file
// is always the key's content.
const maxOpenFiles = 128

// Object is an open object of the store. ReadAt is safe for concurrent use
// (pread on a file other Objects of the key may share); Read and Seek keep
// this Object's own position.
//
// For zero-copy downloads, serve File() rather than the Object: net/http
// uses sendfile only when the reader it copies from is an *os.File. Callers
// holding a blob.Object can check for it with
//
//	if f, ok := obj.(interface{ File() (*os.File, error) }); ok { ... }
type Object struct {
	s    *Store
	key  string
	sf   *sharedFile
	off  int64
	own  *os.File // File's, opened on first use: sendfile moves the file's position
	done bool
}

var _ blob.Object = (*Object)(nil)

// sharedFile is an open object file and the Objects reading it.
type sharedFile struct {
	f     *os.File
	size  int64
	refs  int
	kept  bool   // in openFiles.m
	stamp uint64 // last Open, for choosing which idle file to close
}

// openFiles are the files the store keeps open, by key.
type openFiles struct {
	mu    sync.Mutex
	m     map[string]*sharedFile
	clock uint64
}

// Open opens key for reading. A missing key is KindNotFound, an invalid one
// KindInvalid. The caller must Close the Object.
func (s *Store) Open(ctx context.Context, key string) (blob.Object, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	o := &s.open
	o.mu.Lock()
	o.clock++
	if sf, ok := o.m[key]; ok {
		sf.refs++
		sf.stamp = o.clock
		o.mu.Unlock()
		return &Object{s: s, key: key, sf: sf}, nil
	}
	o.mu.Unlock()
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
	sf := &sharedFile{f: f, size: fi.Size(), refs: 1}
	o.keep(key, sf)
	return &Object{s: s, key: key, sf: sf}, nil
}

// keep adds sf under key unless another Open was first or every kept file
// is in use; then sf stays the caller's own and closes with it.
func (o *openFiles) keep(key string, sf *sharedFile) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.m[key]; ok {
		return
	}
	if len(o.m) >= maxOpenFiles {
		var oldest *sharedFile
		var oldestKey string
		for k, c := range o.m {
			if c.refs == 0 && (oldest == nil || c.stamp < oldest.stamp) {
				oldest, oldestKey = c, k
			}
		}
		if oldest == nil {
			return
		}
		delete(o.m, oldestKey)
		oldest.kept = false
		oldest.f.Close()
	}
	if o.m == nil {
		o.m = map[string]*sharedFile{}
	}
	sf.kept, sf.stamp = true, o.clock
	o.m[key] = sf
}

// forget drops key's kept file, if any (Put and Delete): Objects still
// reading it keep it open until they close.
func (o *openFiles) forget(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	sf, ok := o.m[key]
	if !ok {
		return
	}
	delete(o.m, key)
	sf.kept = false
	if sf.refs == 0 {
		sf.f.Close()
	}
}

// release ends one Object's use of sf.
func (o *openFiles) release(sf *sharedFile) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	sf.refs--
	if sf.refs == 0 && !sf.kept {
		return sf.f.Close()
	}
	return nil
}

// File returns a file of this Object alone, positioned at its start, for
// sendfile (which reads from the file's position). It is closed by Close.
func (o *Object) File() (*os.File, error) {
	if o.own == nil {
		p, err := o.s.path(o.key)
		if err != nil {
			return nil, err
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, notFound(err, o.key)
		}
		o.own = f
	}
	return o.own, nil
}

// Size returns the object's size in bytes.
func (o *Object) Size() int64 { return o.sf.size }

// Read reads from the Object's position.
func (o *Object) Read(p []byte) (int, error) {
	if o.off >= o.sf.size {
		return 0, io.EOF
	}
	n, err := o.sf.f.ReadAt(p, o.off)
	o.off += int64(n)
	if errors.Is(err, io.EOF) && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt reads len(p) bytes at off; it returns io.EOF when fewer remain.
func (o *Object) ReadAt(p []byte, off int64) (int, error) { return o.sf.f.ReadAt(p, off) }

// Seek sets the position of the next Read.
func (o *Object) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += o.off
	case io.SeekEnd:
		offset += o.sf.size
	default:
		return 0, errors.New("fs: Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("fs: Seek: negative position")
	}
	o.off = offset
	return offset, nil
}

// Close ends the Object: its own file, if File opened one, and its use of
// the shared one. A second Close does nothing.
func (o *Object) Close() error {
	if o.done {
		return nil
	}
	o.done = true
	var err error
	if o.own != nil {
		err = o.own.Close()
	}
	if rerr := o.s.open.release(o.sf); err == nil {
		err = rerr
	}
	return err
}
