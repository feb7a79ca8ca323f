package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/blob"
)

func testReadAt(t *testing.T, s blob.Store) {
	c := Content{Seed: 7, Size: 100_003}
	MustPut(t, s, "readat", c)
	obj := MustOpen(t, s, "readat")
	tests := []struct {
		name    string
		off     int64
		len     int
		wantN   int
		wantEOF bool // err must be io.EOF (otherwise nil or io.EOF for an exact fit at the end)
	}{
		{"start", 0, 10, 10, false},
		{"middle", 50_000, 4096, 4096, false},
		{"whole", 0, 100_003, 100_003, false},
		{"crossing the end", 100_000, 10, 3, true},
		{"at the end", 100_003, 10, 0, true},
		{"past the end", 200_000, 10, 0, true},
		{"one byte", 99_999, 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := make([]byte, tt.len)
			n, err := obj.ReadAt(p, tt.off)
			if n != tt.wantN {
				t.Errorf("ReadAt(len %d, off %d) n = %d, want %d", tt.len, tt.off, n, tt.wantN)
			}
			switch {
			case tt.wantEOF && !errors.Is(err, io.EOF):
				t.Errorf("ReadAt error = %v, want io.EOF", err)
			case !tt.wantEOF && err != nil && !(errors.Is(err, io.EOF) && tt.off+int64(tt.len) == c.Size):
				t.Errorf("ReadAt error = %v, want nil", err)
			}
			want := make([]byte, tt.wantN)
			c.Fill(want, tt.off)
			if !bytes.Equal(p[:n], want[:min(n, len(want))]) {
				t.Errorf("ReadAt(off %d) returned wrong bytes", tt.off)
			}
		})
	}
}

func testSeek(t *testing.T, s blob.Store) {
	c := Content{Seed: 8, Size: 10_000}
	MustPut(t, s, "seek", c)
	tests := []struct {
		name    string
		offset  int64
		whence  int
		wantPos int64
	}{
		{"start", 1234, io.SeekStart, 1234},
		{"current after 100 read", 50, io.SeekCurrent, 150},
		{"end", -7, io.SeekEnd, 9993},
		{"exactly end", 0, io.SeekEnd, 10_000},
		{"back to zero", 0, io.SeekStart, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := MustOpen(t, s, "seek")
			// Read a little first so the seek is not from a fresh object.
			if _, err := io.ReadFull(obj, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
			pos, err := obj.Seek(tt.offset, tt.whence)
			if err != nil || pos != tt.wantPos {
				t.Fatalf("Seek(%d, %d) = %d, %v; want %d", tt.offset, tt.whence, pos, err, tt.wantPos)
			}
			got, err := io.ReadAll(io.LimitReader(obj, 500))
			if err != nil {
				t.Fatalf("reading after Seek: %v", err)
			}
			want := make([]byte, min(500, c.Size-tt.wantPos))
			c.Fill(want, tt.wantPos)
			if !bytes.Equal(got, want) {
				t.Errorf("after Seek to %d read %d bytes, want %d matching", tt.wantPos, len(got), len(want))
			}
		})
	}
	t.Run("negative", func(t *testing.T) {
		obj := MustOpen(t, s, "seek")
		if _, err := obj.Seek(-1, io.SeekStart); err == nil {
			t.Error("Seek to -1 succeeded")
		}
	})
}

func testConcurrentReadAt(t *testing.T, s blob.Store) {
	c := Content{Seed: 9, Size: 4*mib + 17}
	MustPut(t, s, "concurrent", c)
	obj := MustOpen(t, s, "concurrent")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(g), 42))
			for range 20 {
				off := rnd.Int64N(c.Size)
				p := make([]byte, 1+rnd.IntN(300_000))
				n, err := obj.ReadAt(p, off)
				want := make([]byte, len(p))
				wn := c.Fill(want, off)
				if n != wn || (n < len(p) && !errors.Is(err, io.EOF)) || (n == len(p) && err != nil && !errors.Is(err, io.EOF)) {
					errs <- fmt.Errorf("ReadAt(len %d, off %d) = %d, %v; want %d", len(p), off, n, err, wn)
					return
				}
				if !bytes.Equal(p[:n], want[:wn]) {
					errs <- fmt.Errorf("ReadAt(len %d, off %d) returned wrong bytes", len(p), off)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func testLarge(t *testing.T, s blob.Store) {
	c := Content{Seed: 10, Size: 64*mib + 3}
	MustPut(t, s, "large/artifacts.zip", c)
	obj := MustOpen(t, s, "large/artifacts.zip")
	h := sha256.New()
	n, err := io.CopyBuffer(h, obj, make([]byte, 256<<10))
	if err != nil || n != c.Size {
		t.Fatalf("streaming back: %d bytes, %v; want %d", n, err, c.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != c.SHA256() {
		t.Errorf("streamed back SHA-256 %s, want %s", got, c.SHA256())
	}
	for _, off := range []int64{0, 16*mib - 2, 33 * mib, c.Size - 10} {
		p := make([]byte, 10)
		if _, err := obj.ReadAt(p, off); err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("ReadAt(%d): %v", off, err)
		}
		want := make([]byte, 10)
		c.Fill(want, off)
		if !bytes.Equal(p, want) {
			t.Errorf("ReadAt(%d) returned wrong bytes", off)
		}
	}
}

func testSignedURL(t *testing.T, s blob.Store) {
	c := Content{Seed: 11, Size: 5000}
	MustPut(t, s, "signed/job.log", c)
	url, err := s.SignedURL(context.Background(), "signed/job.log", 0, "x", "text/plain")
	if err == nil && url != "" {
		t.Errorf("SignedURL with a zero ttl = %q, want an error or \"\"", url)
	}
	CheckSignedURL(t, s, "signed/job.log", c, false)
}
