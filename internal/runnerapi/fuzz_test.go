package runnerapi

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// FuzzDotenv checks ParseDotenv on any input: it never panics, fails only
// with KindInvalid, and what it accepts obeys GitLab's rules (at most 20
// variables from at most 5 KiB, unique [A-Za-z0-9_] keys, single-line
// values without surrounding whitespace) and survives a round trip through
// the KEY=value form and through a gzipped stored report.
func FuzzDotenv(f *testing.F) {
	for _, s := range []string{"A=1\nB=two words\n", "  A =  \"x\"  \r\n", "A=1\nA=2\n", "\n\nA=\n", "export A=1", "A-B=1", "=", "A=\x00\r\x1f", "A=1\r\rB=2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := ParseDotenv(data)
		if err != nil {
			if ci.KindOf(err) != ci.KindInvalid {
				t.Fatalf("ParseDotenv(%q): error %v is not KindInvalid", data, err)
			}
		} else {
			if len(data) > MaxDotenvSize || len(vars) > MaxDotenvVariables {
				t.Fatalf("ParseDotenv(%q) accepted %d bytes, %d variables", data, len(data), len(vars))
			}
			seen := map[string]bool{}
			var again strings.Builder
			for _, v := range vars {
				if !validDotenvKey(v.Key) || seen[v.Key] {
					t.Fatalf("ParseDotenv(%q): bad or repeated key %q", data, v.Key)
				}
				seen[v.Key] = true
				if strings.ContainsAny(v.Value, "\n") || v.Value != strings.TrimSpace(v.Value) {
					t.Fatalf("ParseDotenv(%q): value %q spans lines or has surrounding space", data, v.Value)
				}
				fmt.Fprintf(&again, "%s=%s\n", v.Key, v.Value)
			}
			if again.Len() <= MaxDotenvSize {
				if back, err := ParseDotenv([]byte(again.String())); err != nil || !sameVars(back, vars) {
					t.Fatalf("round trip of %v: %v, %v", vars, back, err)
				}
			}
		}
		// A stored report is read raw or gzipped to the same result.
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		zw.Write(data)
		zw.Close()
		for name, src := range map[string][]byte{"gzip": zipped.Bytes(), "raw": data} {
			if name == "raw" && len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
				continue // looks gzipped
			}
			got, gerr := decodeDotenv(bytes.NewReader(src))
			if (gerr == nil) != (err == nil) || ci.KindOf(gerr) != ci.KindOf(err) || !sameVars(got, vars) {
				t.Fatalf("%s report of %q: %v, %v; want %v, %v", name, data, got, gerr, vars, err)
			}
		}
	})
}

func sameVars(a, b []DotenvVariable) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

// FuzzContentRange checks ParseContentRange on any header value and on
// every well-formed one: it never panics, accepts only a non-negative
// start with end >= start-1 (end = start-1 is an empty patch), and what it
// accepts it reads back from its canonical forms.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{"0-511", "bytes 5-9/10", "bytes=5-9/*", "7-6", "", "-5", "10-3", " 1 - 2 ", "9223372036854775807-9223372036854775807", "1-2-3", "+1-+2"} {
		f.Add(s, int64(0), int64(0))
	}
	f.Add("", int64(5), int64(4))
	f.Add("", int64(-1), int64(3))
	f.Fuzz(func(t *testing.T, header string, a, b int64) {
		start, end, err := ParseContentRange(header)
		if err == nil {
			if start < 0 || end < start-1 {
				t.Fatalf("ParseContentRange(%q) = %d, %d: not a range", header, start, end)
			}
			for _, form := range []string{"%d-%d", "bytes %d-%d/*", "bytes=%d-%d/%[2]d"} {
				s := fmt.Sprintf(form, start, end)
				if s2, e2, err := ParseContentRange(s); err != nil || s2 != start || e2 != end {
					t.Fatalf("ParseContentRange(%q) = %d, %d, %v; want %d, %d", s, s2, e2, err, start, end)
				}
			}
		}
		// Every well-formed range parses to itself; every other pair fails.
		s := fmt.Sprintf("%d-%d", a, b)
		s2, e2, err := ParseContentRange(s)
		valid := a >= 0 && b >= a-1
		if valid != (err == nil) || (valid && (s2 != a || e2 != b)) {
			t.Fatalf("ParseContentRange(%q) = %d, %d, %v; valid range: %v", s, s2, e2, err, valid)
		}
	})
}
