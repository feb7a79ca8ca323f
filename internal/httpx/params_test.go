package httpx

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// TestReadParamsMultipart: multipart forms are parsed in memory, file
// parts counting against the limit, and nothing is written to TMPDIR.
func TestReadParamsMultipart(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	form := func(fileSize int) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("name", "demo")
		f, _ := mw.CreateFormFile("file", "f.bin")
		f.Write(bytes.Repeat([]byte("x"), fileSize))
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	cases := []struct {
		name     string
		fileSize int
		limit    int64 // route limit, 0 for none
		wantKind ci.Kind
	}{
		{"small form", 10, 0, ""},
		{"file part over the parameter limit", 3 << 20, 0, ci.KindTooLarge},
		{"file part within the parameter limit", 900 << 10, 0, ""},
		{"over the route limit", 100 << 10, SmallBody, ci.KindTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, ct := form(c.fileSize)
			r := httptest.NewRequest("POST", "/x", io.MultiReader(body))
			r.Header.Set("Content-Type", ct)
			if c.limit > 0 {
				r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, c.limit)
			}
			p, err := ReadParams(r)
			if c.wantKind != "" {
				if ci.KindOf(err) != c.wantKind {
					t.Fatalf("err %v, want %s", err, c.wantKind)
				}
			} else if err != nil || p.Get("name") != "demo" || len(p.Get("file")) != c.fileSize {
				t.Fatalf("params %v (file %d bytes), err %v", p.Get("name"), len(p.Get("file")), err)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Fatalf("%d files left in TMPDIR", len(left))
			}
		})
	}
}

func TestParamsTime(t *testing.T) {
	for _, c := range []struct {
		raw  string
		want string // RFC 3339 UTC, "" for absent, "invalid"
	}{
		{"", ""},
		{"2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"},
		{"2024-01-02T03:04:05.5+02:00", "2024-01-02T01:04:05.5Z"},
		{"2024-01-02T03:04:05", "2024-01-02T03:04:05Z"},
		{"2024-01-02T03:04:05.25", "2024-01-02T03:04:05.25Z"},
		{"2024-01-02", "2024-01-02T00:00:00Z"},
		{"yesterday", "invalid"},
	} {
		p := &Params{Values: url.Values{"t": {c.raw}}}
		got, err := p.Time("t")
		switch {
		case c.want == "invalid":
			if ci.KindOf(err) != ci.KindInvalid {
				t.Errorf("Time(%q) = %v, %v; want invalid", c.raw, got, err)
			}
		case c.want == "":
			if got != nil || err != nil {
				t.Errorf("Time(%q) = %v, %v; want nil", c.raw, got, err)
			}
		case err != nil || got.Format(time.RFC3339Nano) != c.want:
			t.Errorf("Time(%q) = %v, %v; want %s", c.raw, got, err, c.want)
		}
	}
}
