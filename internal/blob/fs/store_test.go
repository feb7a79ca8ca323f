package fs_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/blob/blobtest"
	"github.com/batonci/baton/internal/blob/fs"
	"github.com/batonci/baton/internal/ci"
)

func newStore(t *testing.T) *fs.Store {
	t.Helper()
	s, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatalf("fs.New: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	blobtest.TestStore(t, func(t *testing.T) blob.Store { return newStore(t) })
}

func TestFailedPutLeavesNoTemporaryFile(t *testing.T) {
	root := t.TempDir()
	s, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(context.Background(), "x", failingReader{}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	entries, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("tmp holds %d entries after a failed Put, want 0", len(entries))
	}
}

type failingReader struct{}

func (failingReader) Read(p []byte) (int, error) { return 0, os.ErrDeadlineExceeded }

func TestObjectExposesFile(t *testing.T) {
	s := newStore(t)
	blobtest.MustPut(t, s, "f", blobtest.Content{Size: 10})
	obj := blobtest.MustOpen(t, s, "f")
	f, ok := obj.(interface{ File() (*os.File, error) })
	if !ok {
		t.Fatalf("%T has no File() (*os.File, error)", obj)
	}
	file, err := f.File()
	if err != nil {
		t.Fatal(err)
	}
	fi, err := file.Stat()
	if err != nil || fi.Size() != 10 {
		t.Errorf("File().Stat() = %v, %v; want size 10", fi, err)
	}
	// Each Object's File has its own position: sendfile moves it.
	other := blobtest.MustOpen(t, s, "f").(interface{ File() (*os.File, error) })
	otherFile, err := other.File()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := file.Seek(7, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if pos, _ := otherFile.Seek(0, io.SeekCurrent); pos != 0 {
		t.Errorf("seeking one Object's file moved another's to %d", pos)
	}
}

// TestKeptFiles: objects read repeatedly stay open between reads, yet a
// deleted key is gone for the next Open, a key put again reads its new
// bytes, Objects open across a Delete still read what they opened, and the
// store never keeps more than its bound of files open.
func TestKeptFiles(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	read := func(key string) string {
		t.Helper()
		obj, err := s.Open(ctx, key)
		if err != nil {
			t.Fatalf("open %s: %v", key, err)
		}
		defer obj.Close()
		b, err := io.ReadAll(obj)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if _, err := s.Put(ctx, "k", strings.NewReader("first")); err != nil {
		t.Fatal(err)
	}
	if got := read("k"); got != "first" {
		t.Fatalf("read %q", got)
	}
	held, err := s.Open(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, "k"); ci.KindOf(err) != ci.KindNotFound {
		t.Fatalf("open after delete: %v, want not found", err)
	}
	buf := make([]byte, 5)
	if n, err := held.ReadAt(buf, 0); n != 5 || string(buf) != "first" {
		t.Fatalf("an Object opened before the delete read %q, %v", buf[:n], err)
	}
	held.Close()
	if _, err := s.Put(ctx, "k", strings.NewReader("second")); err != nil {
		t.Fatal(err)
	}
	read("k")
	if _, err := s.Put(ctx, "k", strings.NewReader("third!")); err != nil {
		t.Fatal(err)
	}
	if got := read("k"); got != "third!" {
		t.Fatalf("after a second Put under the key, read %q", got)
	}

	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil && runtime.GOOS != "linux" {
			t.Skip("counting open files needs /proc/self/fd")
		}
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	before := fds()
	for i := range 3 * fs.MaxOpenFiles {
		key := fmt.Sprintf("many/%d", i)
		if _, err := s.Put(ctx, key, strings.NewReader(key)); err != nil {
			t.Fatal(err)
		}
		if got := read(key); got != key {
			t.Fatalf("read %q, want %q", got, key)
		}
	}
	if open := fds() - before; open > fs.MaxOpenFiles {
		t.Errorf("%d more files open after reading %d objects, want at most %d", open, 3*fs.MaxOpenFiles, fs.MaxOpenFiles)
	}
}

func TestDeleteRemovesEmptyDirectories(t *testing.T) {
	root := t.TempDir()
	s, err := fs.New(root)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.MustPut(t, s, "a/b/c", blobtest.Content{Size: 1})
	blobtest.MustPut(t, s, "a/d", blobtest.Content{Size: 1})
	if err := s.Delete(context.Background(), "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "a", "b")); !os.IsNotExist(err) {
		t.Errorf("empty directory a/b still there (stat error %v)", err)
	}
	if _, err := os.Stat(filepath.Join(root, "data", "a", "d")); err != nil {
		t.Errorf("sibling a/d gone: %v", err)
	}
}

func TestKeyCollidesWithDirectory(t *testing.T) {
	s := newStore(t)
	blobtest.MustPut(t, s, "file", blobtest.Content{Size: 1})
	blobtest.MustPut(t, s, "dir/child", blobtest.Content{Size: 1})
	ctx := context.Background()
	tests := []struct {
		name     string
		key      string
		wantPut  ci.Kind
		wantOpen ci.Kind
	}{
		{"object below an object", "file/child", ci.KindConflict, ci.KindNotFound},
		{"object over a directory", "dir", ci.KindConflict, ci.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Put(ctx, tt.key, strings.NewReader("x")); ci.KindOf(err) != tt.wantPut {
				t.Errorf("Put(%q) error = %v, want kind %q", tt.key, err, tt.wantPut)
			}
			if _, err := s.Stat(ctx, tt.key); ci.KindOf(err) != tt.wantOpen {
				t.Errorf("Stat(%q) error = %v, want kind %q", tt.key, err, tt.wantOpen)
			}
			if obj, err := s.Open(ctx, tt.key); ci.KindOf(err) != tt.wantOpen {
				if obj != nil {
					obj.Close()
				}
				t.Errorf("Open(%q) error = %v, want kind %q", tt.key, err, tt.wantOpen)
			}
		})
	}
}
