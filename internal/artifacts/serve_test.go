package artifacts

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEntryRange(t *testing.T) {
	const etag = `"abc"`
	for _, tc := range []struct {
		rng, ifRange string
		start, end   int64
		status       int
	}{
		{"", "", 0, 100, 200},
		{"bytes=10-", "", 10, 100, 206},
		{"bytes=10-19", "", 10, 20, 206},
		{"bytes=90-500", "", 90, 100, 206},
		{"bytes=-30", "", 70, 100, 206},
		{"bytes=-300", "", 0, 100, 206},
		{"bytes=100-", "", 0, 0, 416},
		{"bytes=10-", etag, 10, 100, 206},
		{"bytes=10-", `"other"`, 0, 100, 200}, // the file changed: all of it
		{"bytes=0-1,5-6", "", 0, 100, 200},    // several ranges: ignored
		{"bytes=20-10", "", 0, 100, 200},
		{"bytes=x-", "", 0, 100, 200},
		{"bytes=-0", "", 0, 100, 200},
		{"items=1-2", "", 0, 100, 200},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.rng != "" {
			r.Header.Set("Range", tc.rng)
		}
		if tc.ifRange != "" {
			r.Header.Set("If-Range", tc.ifRange)
		}
		start, end, status := entryRange(r, etag, 100)
		if start != tc.start || end != tc.end || status != tc.status {
			t.Errorf("Range %q If-Range %q: [%d,%d) %d, want [%d,%d) %d", tc.rng, tc.ifRange, start, end, status, tc.start, tc.end, tc.status)
		}
	}
}

// TestEntryRangeEmptyFile: an empty file has no byte a 206's Content-Range
// could name (bytes 0--1/0): a suffix range gets the whole (empty) file, any
// other range 416.
func TestEntryRangeEmptyFile(t *testing.T) {
	for _, tc := range []struct {
		rng    string
		status int
	}{
		{"bytes=-5", http.StatusOK},
		{"bytes=0-", http.StatusRequestedRangeNotSatisfiable},
		{"bytes=0-0", http.StatusRequestedRangeNotSatisfiable},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Range", tc.rng)
		start, end, status := entryRange(r, `"e"`, 0)
		if start != 0 || end != 0 || status != tc.status {
			t.Errorf("Range %q of an empty file: [%d,%d) %d, want [0,0) %d", tc.rng, start, end, status, tc.status)
		}
	}
}
