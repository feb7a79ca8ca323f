package s3_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batonci/baton/internal/blob/blobtest"
	"github.com/batonci/baton/internal/blob/s3"
	"github.com/batonci/baton/internal/tests3"
)

// countingProxy sits between the store and the S3 server and counts the
// object GETs and the bytes they return.
type countingProxy struct {
	gets, bytes atomic.Int64
}

func (p *countingProxy) start(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Host = r.In.Host // the request is signed for the proxy's host
		},
		ModifyResponse: func(resp *http.Response) error {
			if resp.Request.Method == http.MethodGet && strings.Count(resp.Request.URL.Path, "/") >= 2 {
				p.gets.Add(1)
				resp.Body = countingBody{resp.Body, &p.bytes}
			}
			return nil
		},
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// TestReadAtRequests checks how ReadAt maps onto GETs: a small read fetches
// a small range, sequential small reads (a zip reader's) share requests,
// and a large read is one request of just its bytes.
func TestReadAtRequests(t *testing.T) {
	b := tests3.Server(t)
	proxy := &countingProxy{}
	cfg := config(b)
	cfg.Endpoint = proxy.start(t, b.URL())
	s, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := blobtest.Content{Seed: 4, Size: 8 << 20}
	blobtest.MustPut(t, s, "zip", c)

	tests := []struct {
		name      string
		read      func(t *testing.T, r io.ReaderAt)
		maxGets   int64
		maxBytes  int64
		wantBytes int64 // exact, when not 0
	}{
		{"one small read", func(t *testing.T, r io.ReaderAt) { mustReadAt(t, r, 10, 5<<20) }, 1, 256 << 10, 0},
		{"1 MiB in 4 KiB reads", func(t *testing.T, r io.ReaderAt) {
			for off := int64(0); off < 1<<20; off += 4096 {
				mustReadAt(t, r, 4096, off)
			}
		}, 4, 1 << 20, 0},
		{"one large read", func(t *testing.T, r io.ReaderAt) { mustReadAt(t, r, 3<<20, 1000) }, 1, 3 << 20, 3 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := blobtest.MustOpen(t, s, "zip")
			gets0, bytes0 := proxy.gets.Load(), proxy.bytes.Load()
			tt.read(t, obj)
			gets, n := proxy.gets.Load()-gets0, proxy.bytes.Load()-bytes0
			if gets > tt.maxGets || n > tt.maxBytes || (tt.wantBytes != 0 && n != tt.wantBytes) {
				t.Errorf("made %d GETs for %d bytes, want at most %d GETs and %d bytes", gets, n, tt.maxGets, tt.maxBytes)
			}
		})
	}
}

func mustReadAt(t *testing.T, r io.ReaderAt, n int, off int64) {
	t.Helper()
	if _, err := r.ReadAt(make([]byte, n), off); err != nil {
		t.Fatalf("ReadAt(%d, %d): %v", n, off, err)
	}
}
