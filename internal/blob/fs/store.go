// Package fs implements blob.Store on a local directory.
//
// Objects live under root/data/<key>; uploads are written to root/tmp/ first
// and renamed into place once complete and fsynced, so a crash never leaves a
// partial object under a key. Both directories must be on the same
// filesystem, which they are because they share root.
package fs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// copyBufferSize is the chunk size of the streaming copy in Put.
const copyBufferSize = 1 << 20

// Store is a blob.Store on a local directory. It is safe for concurrent use.
type Store struct {
	root string
	data string // root/data: the objects, one file per key
	tmp  string // root/tmp: uploads in progress
	open openFiles
}

var _ blob.Store = (*Store)(nil)

// New returns a Store rooted at root, creating root, root/data and root/tmp
// if needed.
func New(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving blob root %q: %w", root, err)
	}
	s := &Store{root: abs, data: filepath.Join(abs, "data"), tmp: filepath.Join(abs, "tmp")}
	for _, dir := range []string{s.data, s.tmp} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating blob directory: %w", err)
		}
	}
	return s, nil
}

// Put streams r into key through a temporary file, hashing it on the way,
// then fsyncs the file, renames it into place and fsyncs the directory. On
// any error (including a cancelled ctx or an error from r, which is wrapped)
// the temporary file is removed and key is left as it was. An invalid key is
// KindInvalid; a key that collides with an existing key's directory (putting
// "a/b" when "a" is an object, or the reverse) is KindConflict.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	dst, err := s.path(key)
	if err != nil {
		return blob.Info{}, err
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return blob.Info{}, fmt.Errorf("creating temporary file for %q: %w", key, err)
	}
	tmpName := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmpName)
		}
	}()

	h := sha256.New()
	buf := make([]byte, copyBufferSize)
	n, err := io.CopyBuffer(io.MultiWriter(f, h), fullReader{blob.ContextReader(ctx, r)}, buf)
	if err != nil {
		return blob.Info{}, fmt.Errorf("writing %q: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return blob.Info{}, fmt.Errorf("syncing %q: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return blob.Info{}, fmt.Errorf("closing %q: %w", key, err)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("writing %q: %w", key, err)
	}
	if err := s.publish(tmpName, dst); err != nil {
		return blob.Info{}, fmt.Errorf("publishing %q: %w", key, err)
	}
	s.open.forget(key) // a kept file of an earlier object under key
	done = true
	return blob.Info{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// publish renames tmp to dst, creating dst's directories, and fsyncs the
// directory so the rename survives a crash. A concurrent Delete may remove
// the freshly created directory between MkdirAll and Rename, so a missing
// directory is retried a few times.
func (s *Store) publish(tmp, dst string) error {
	dir := filepath.Dir(dst)
	var err error
	for range 3 {
		if err = os.MkdirAll(dir, 0o755); err != nil {
			break
		}
		if err = os.Rename(tmp, dst); !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) ||
			errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			return ci.Wrap(ci.KindConflict, err, "blob key collides with an existing key's directory")
		}
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so that entries renamed into it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	return nil
}

// Stat describes key. The SHA256 field is empty: the file system store does
// not keep the hash (callers record Put's Info). A missing key is
// KindNotFound, an invalid one KindInvalid.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	p, err := s.path(key)
	if err != nil {
		return blob.Info{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return blob.Info{}, notFound(err, key)
	}
	if !fi.Mode().IsRegular() {
		return blob.Info{}, ci.Errorf(ci.KindNotFound, "blob %q not found", key)
	}
	return blob.Info{Key: key, Size: fi.Size()}, nil
}

// Delete removes key and then any directories it leaves empty. Deleting a
// missing key is not an error; an invalid key is KindInvalid.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("deleting %q: %w", key, err)
	}
	s.open.forget(key)
	// Best effort: a directory that is not empty (or just got a new
	// object) simply stays.
	for dir := filepath.Dir(p); dir != s.data && len(dir) > len(s.data); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// SignedURL returns "" and a nil error: files on local disk are served by
// Baton itself, not by a signed URL.
func (s *Store) SignedURL(ctx context.Context, key string, ttl time.Duration, filename, contentType string) (string, error) {
	return "", nil
}

// notFound turns a missing file (or a path through a file) into
// KindNotFound and wraps anything else.
func notFound(err error, key string) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ci.Wrap(ci.KindNotFound, err, "blob %q not found", key)
	}
	return fmt.Errorf("opening %q: %w", key, err)
}

// fullReader fills each read as far as its source allows, so that a source
// of small reads (an HTTP body, a multipart part) still reaches the file in
// buffer-sized writes.
type fullReader struct{ r io.Reader }

func (f fullReader) Read(p []byte) (int, error) {
	n, err := io.ReadFull(f.r, p)
	if err == io.ErrUnexpectedEOF {
		err = io.EOF
	}
	if n > 0 && err == io.EOF {
		err = nil // report the data now, the end on the next call
	}
	return n, err
}
