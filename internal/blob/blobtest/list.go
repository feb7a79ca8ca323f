package blobtest

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// Uploads returns the store's unfinished uploads.
func Uploads(tb testing.TB, s blob.Store) []blob.Upload {
	tb.Helper()
	var out []blob.Upload
	if err := s.Uploads(context.Background(), func(u blob.Upload) error {
		out = append(out, u)
		return nil
	}); err != nil {
		tb.Fatalf("Uploads: %v", err)
	}
	return out
}

// Keys returns the keys List reports under prefix, sorted.
func Keys(tb testing.TB, s blob.Store, prefix string) []string {
	tb.Helper()
	var out []string
	if err := s.List(context.Background(), prefix, func(e blob.Entry) error {
		out = append(out, e.Key)
		return nil
	}); err != nil {
		tb.Fatalf("List(%q): %v", prefix, err)
	}
	slices.Sort(out)
	return out
}

func testList(t *testing.T, s blob.Store) {
	sizes := map[string]int64{"a/1": 1, "a/2": 2, "a/b/3": 3, "ab": 4, "b/1": 5}
	for k, n := range sizes {
		MustPut(t, s, k, Content{Size: n})
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a/1", "a/2", "a/b/3", "ab", "b/1"}},
		{"a/", []string{"a/1", "a/2", "a/b/3"}},
		{"a", []string{"a/1", "a/2", "a/b/3", "ab"}},
		{"a/b/", []string{"a/b/3"}},
		{"c/", nil},
	}
	for _, tt := range tests {
		if got := Keys(t, s, tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %v, want %v", tt.prefix, got, tt.want)
		}
	}
	err := s.List(context.Background(), "", func(e blob.Entry) error {
		if e.Size != sizes[e.Key] || e.ModTime.IsZero() {
			t.Errorf("entry %+v: want size %d and a modification time", e, sizes[e.Key])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	if err := s.List(context.Background(), "", func(blob.Entry) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List whose callback fails: error %v after %d calls, want %v after 1", err, calls, stop)
	}
	if err := s.Delete(context.Background(), "a/2"); err != nil {
		t.Fatal(err)
	}
	if got := Keys(t, s, "a/"); !slices.Equal(got, []string{"a/1", "a/b/3"}) {
		t.Errorf("List after Delete = %v", got)
	}
}

// testFailedPutLeavesNoUpload: a Put that fails, after more than one S3
// part or not, or is cancelled, leaves no upload and no object behind.
func testFailedPutLeavesNoUpload(t *testing.T, s blob.Store) {
	for _, after := range []int64{0, 1024, 17 * mib} {
		r := &errReader{r: Content{Size: 64 * mib}.Reader(), n: after, err: errBoom}
		if _, err := s.Put(context.Background(), "failed", r); !errors.Is(err, errBoom) {
			t.Fatalf("Put with a failing reader: %v", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Put(ctx, "cancelled", &cancellingReader{r: Content{Size: 40 * mib}.Reader(), n: 18 * mib, cancel: cancel}); err == nil {
		t.Fatal("cancelled Put succeeded")
	}
	if ups := Uploads(t, s); len(ups) != 0 {
		t.Errorf("uploads left after failed Puts: %+v", ups)
	}
	if keys := Keys(t, s, ""); len(keys) != 0 {
		t.Errorf("objects left after failed Puts: %v", keys)
	}
}

// testAbortUpload: an upload under way is listed by Uploads; aborting it
// makes the Put fail and leaves nothing; aborting it again is no error.
func testAbortUpload(t *testing.T, s blob.Store) {
	ctx := context.Background()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	before := time.Now()
	go func() {
		_, err := s.Put(ctx, "dir/aborted", pr)
		done <- err
	}()
	c := Content{Size: 40 * mib}
	go func() {
		// The first 17 MiB: more than one S3 part, so a multipart upload exists.
		_, _ = io.Copy(pw, io.LimitReader(c.Reader(), 17*mib))
	}()
	var ups []blob.Upload
	for deadline := time.Now().Add(time.Minute); len(ups) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no upload listed while a Put was under way")
		}
		time.Sleep(20 * time.Millisecond)
		ups = Uploads(t, s)
	}
	if len(ups) != 1 {
		t.Fatalf("uploads under way = %+v, want 1", ups)
	}
	u := ups[0]
	if u.ID == "" || (u.Key != "" && u.Key != "dir/aborted") || u.Started.IsZero() || u.Started.Before(before.Add(-time.Hour)) {
		t.Errorf("upload under way = %+v", u)
	}
	if err := s.AbortUpload(ctx, u); err != nil {
		t.Fatalf("AbortUpload: %v", err)
	}
	// Let the Put go on to the end: it must fail all the same.
	go func() {
		_, _ = io.Copy(pw, io.LimitReader(c.Reader(), 23*mib))
		pw.Close()
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Put of an aborted upload succeeded")
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("Put of an aborted upload did not return")
	}
	pr.CloseWithError(errBoom)
	assertAbsent(t, s, "dir/aborted")
	if ups := Uploads(t, s); len(ups) != 0 {
		t.Errorf("uploads left after an abort: %+v", ups)
	}
	if err := s.AbortUpload(ctx, u); err != nil {
		t.Errorf("aborting an aborted upload: %v", err)
	}
	if err := s.AbortUpload(ctx, blob.Upload{Key: "x"}); ci.KindOf(err) != ci.KindInvalid {
		t.Errorf("AbortUpload without an id: %v, want invalid", err)
	}
}
