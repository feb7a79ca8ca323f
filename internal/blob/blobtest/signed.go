package blobtest

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/http"
	"testing"
	"time"

	"github.com/batonci/baton/internal/blob"
)

// CheckSignedURL asks s for a signed URL to key (which holds c), fetches it
// with a plain HTTP client and checks the bytes, the Content-Type and the
// attachment filename. A store that returns "" passes unless required.
func CheckSignedURL(t *testing.T, s blob.Store, key string, c Content, required bool) {
	t.Helper()
	tests := []struct {
		name        string
		filename    string
		contentType string
	}{
		{"plain", "job.log", "text/plain; charset=utf-8"},
		{"quotes and spaces", `my "report" v1.zip`, "application/zip"},
		{"non-ASCII", "résumé.txt", "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, err := s.SignedURL(context.Background(), key, 5*time.Minute, tt.filename, tt.contentType)
			if err != nil {
				t.Fatalf("SignedURL: %v", err)
			}
			if url == "" {
				if required {
					t.Fatal("SignedURL returned \"\"")
				}
				return
			}
			resp, err := http.Get(url)
			if err != nil {
				t.Fatalf("fetching signed URL: %v", err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatalf("reading signed URL: %v", err)
			}
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("signed URL: %s: %s", resp.Status, body)
			}
			if !bytes.Equal(body, c.Bytes()) {
				t.Errorf("signed URL served %d bytes that differ from the %d stored", len(body), c.Size)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", got, tt.contentType)
			}
			disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
			if err != nil || disp != "attachment" || params["filename"] != tt.filename {
				t.Errorf("Content-Disposition = %q (parsed %q %v, %v), want attachment with filename %q",
					resp.Header.Get("Content-Disposition"), disp, params, err, tt.filename)
			}
		})
	}
}
