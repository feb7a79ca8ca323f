// Package blobtest is the conformance suite every blob.Store implementation
// runs: the promises of the blob.Store interface, checked against a real
// backend.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

const mib = 1 << 20

// TestStore runs the conformance suite. newStore is called once per subtest
// and must return an empty store that is cleaned up with t.Cleanup.
func TestStore(t *testing.T, newStore func(t *testing.T) blob.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("ReadAt", func(t *testing.T) { testReadAt(t, newStore(t)) })
	t.Run("Seek", func(t *testing.T) { testSeek(t, newStore(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { testInvalidKeys(t, newStore(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("FailedPut", func(t *testing.T) { testFailedPut(t, newStore(t)) })
	t.Run("CancelledPut", func(t *testing.T) { testCancelledPut(t, newStore(t)) })
	t.Run("ConcurrentReadAt", func(t *testing.T) { testConcurrentReadAt(t, newStore(t)) })
	t.Run("Large", func(t *testing.T) { testLarge(t, newStore(t)) })
	t.Run("BoundedMemory", func(t *testing.T) { testBoundedMemory(t, newStore(t)) })
	t.Run("SignedURL", func(t *testing.T) { testSignedURL(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("FailedPutLeavesNoUpload", func(t *testing.T) { testFailedPutLeavesNoUpload(t, newStore(t)) })
	t.Run("AbortUpload", func(t *testing.T) { testAbortUpload(t, newStore(t)) })
}

// MustPut stores c under key and checks the returned Info.
func MustPut(tb testing.TB, s blob.Store, key string, c Content) blob.Info {
	tb.Helper()
	info, err := s.Put(context.Background(), key, c.Reader())
	if err != nil {
		tb.Fatalf("Put(%q): %v", key, err)
	}
	want := blob.Info{Key: key, Size: c.Size, SHA256: c.SHA256()}
	if info != want {
		tb.Fatalf("Put(%q) = %+v, want %+v", key, info, want)
	}
	return info
}

// MustOpen opens key and closes it at the end of the test.
func MustOpen(tb testing.TB, s blob.Store, key string) blob.Object {
	tb.Helper()
	obj, err := s.Open(context.Background(), key)
	if err != nil {
		tb.Fatalf("Open(%q): %v", key, err)
	}
	tb.Cleanup(func() { obj.Close() })
	return obj
}

// SHA256 returns the hex SHA-256 of the content, computed by streaming it.
func (c Content) SHA256() string {
	h := sha256.New()
	if _, err := io.CopyBuffer(h, c.Reader(), make([]byte, mib)); err != nil {
		panic(err) // the generator cannot fail
	}
	return hex.EncodeToString(h.Sum(nil))
}

func testRoundTrip(t *testing.T, s blob.Store) {
	tests := []struct {
		name string
		key  string
		size int64
	}{
		{"empty", "empty", 0},
		{"one byte", "one", 1},
		{"small nested", "a/b/c/small.zip", 1000},
		{"several MiB", "pipelines/1/jobs/2/artifacts.zip", 3*mib + 5},
		{"unicode and spaces", "dir with space/ünïcode file.txt", 77},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Content{Seed: uint64(i), Size: tt.size}
			info := MustPut(t, s, tt.key, c)

			obj := MustOpen(t, s, tt.key)
			if obj.Size() != tt.size {
				t.Errorf("Size() = %d, want %d", obj.Size(), tt.size)
			}
			got, err := io.ReadAll(obj)
			if err != nil {
				t.Fatalf("reading %q: %v", tt.key, err)
			}
			if !bytes.Equal(got, c.Bytes()) {
				t.Errorf("read %d bytes that differ from the %d written", len(got), tt.size)
			}

			st, err := s.Stat(context.Background(), tt.key)
			if err != nil {
				t.Fatalf("Stat(%q): %v", tt.key, err)
			}
			if st.Key != tt.key || st.Size != tt.size {
				t.Errorf("Stat(%q) = %+v, want key %q size %d", tt.key, st, tt.key, tt.size)
			}
			if st.SHA256 != "" && st.SHA256 != info.SHA256 {
				t.Errorf("Stat(%q).SHA256 = %s, want %s or empty", tt.key, st.SHA256, info.SHA256)
			}
		})
	}
}

func testOverwrite(t *testing.T, s blob.Store) {
	first, second := Content{Seed: 1, Size: 5000}, Content{Seed: 2, Size: 300}
	MustPut(t, s, "k", first)
	MustPut(t, s, "k", second)
	got, err := io.ReadAll(MustOpen(t, s, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, second.Bytes()) {
		t.Errorf("after overwrite read %d bytes, want the second object's %d", len(got), second.Size)
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	MustPut(t, s, "present", Content{Size: 10})
	ctx := context.Background()
	for _, key := range []string{"missing", "dir/missing", "present/child"} {
		t.Run(key, func(t *testing.T) {
			if obj, err := s.Open(ctx, key); ci.KindOf(err) != ci.KindNotFound {
				if obj != nil {
					obj.Close()
				}
				t.Errorf("Open(%q) error = %v (kind %q), want not_found", key, err, ci.KindOf(err))
			}
			if _, err := s.Stat(ctx, key); ci.KindOf(err) != ci.KindNotFound {
				t.Errorf("Stat(%q) error = %v (kind %q), want not_found", key, err, ci.KindOf(err))
			}
		})
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	for _, key := range []string{"", "/abs", "..", "../up", "a/../b", "a/..", "a\\b", "a\x00b", "a//b", "a/", "./a", "a/./b"} {
		t.Run(key, func(t *testing.T) {
			if _, err := s.Put(ctx, key, bytes.NewReader([]byte("x"))); ci.KindOf(err) != ci.KindInvalid {
				t.Errorf("Put(%q) error = %v, want invalid", key, err)
			}
			if obj, err := s.Open(ctx, key); ci.KindOf(err) != ci.KindInvalid {
				if obj != nil {
					obj.Close()
				}
				t.Errorf("Open(%q) error = %v, want invalid", key, err)
			}
			if _, err := s.Stat(ctx, key); ci.KindOf(err) != ci.KindInvalid {
				t.Errorf("Stat(%q) error = %v, want invalid", key, err)
			}
			if err := s.Delete(ctx, key); ci.KindOf(err) != ci.KindInvalid {
				t.Errorf("Delete(%q) error = %v, want invalid", key, err)
			}
		})
	}
}

func testDelete(t *testing.T, s blob.Store) {
	ctx := context.Background()
	MustPut(t, s, "dir/gone", Content{Size: 10})
	MustPut(t, s, "dir/kept", Content{Seed: 3, Size: 20})
	if err := s.Delete(ctx, "dir/gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Open(ctx, "dir/gone"); ci.KindOf(err) != ci.KindNotFound {
		t.Errorf("Open after Delete error = %v, want not_found", err)
	}
	if err := s.Delete(ctx, "dir/gone"); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if err := s.Delete(ctx, "never/existed"); err != nil {
		t.Errorf("Delete of a missing key = %v, want nil", err)
	}
	if st, err := s.Stat(ctx, "dir/kept"); err != nil || st.Size != 20 {
		t.Errorf("sibling after Delete: %+v, %v; want size 20", st, err)
	}
	// Deleting the last object of a directory must not get in the way of
	// putting into that directory again.
	if err := s.Delete(ctx, "dir/kept"); err != nil {
		t.Fatal(err)
	}
	MustPut(t, s, "dir/again", Content{Size: 5})
}

var errBoom = errors.New("boom: client went away")

func testFailedPut(t *testing.T, s blob.Store) {
	tests := []struct {
		name  string
		after int64 // bytes read before the error
	}{
		{"immediately", 0},
		{"after a KiB", 1024},
		{"after more than one 16 MiB part", 17 * mib},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "failed/" + string(rune('a'+i))
			r := &errReader{r: Content{Size: 64 * mib}.Reader(), n: tt.after, err: errBoom}
			if _, err := s.Put(context.Background(), key, r); !errors.Is(err, errBoom) {
				t.Fatalf("Put with a failing reader: error = %v, want it to wrap %v", err, errBoom)
			}
			assertAbsent(t, s, key)
		})
	}
}

func testCancelledPut(t *testing.T, s blob.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The reader cancels the upload's context after 2 MiB and would go on
	// producing 8 MiB if the store did not stop.
	r := &cancellingReader{r: Content{Size: 8 * mib}.Reader(), n: 2 * mib, cancel: cancel}
	if _, err := s.Put(ctx, "cancelled", r); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	assertAbsent(t, s, "cancelled")
}

type cancellingReader struct {
	r      io.Reader
	n      int64
	cancel func()
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n -= int64(n)
	if c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func assertAbsent(t *testing.T, s blob.Store, key string) {
	t.Helper()
	if _, err := s.Stat(context.Background(), key); ci.KindOf(err) != ci.KindNotFound {
		t.Errorf("Stat(%q) after a failed Put: error = %v, want not_found", key, err)
	}
	if obj, err := s.Open(context.Background(), key); ci.KindOf(err) != ci.KindNotFound {
		if obj != nil {
			obj.Close()
		}
		t.Errorf("Open(%q) after a failed Put: error = %v, want not_found", key, err)
	}
}
