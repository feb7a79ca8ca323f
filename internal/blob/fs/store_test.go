package fs_test

import (
	"context"
	"os"
	"path/filepath"
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
	f, ok := obj.(interface{ File() *os.File })
	if !ok {
		t.Fatalf("%T has no File() *os.File", obj)
	}
	fi, err := f.File().Stat()
	if err != nil || fi.Size() != 10 {
		t.Errorf("File().Stat() = %v, %v; want size 10", fi, err)
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
