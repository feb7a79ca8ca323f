package ci

import (
	"strings"
	"testing"
)

func TestScanCoverage(t *testing.T) {
	for _, c := range []struct {
		name, pattern, log string
		want               float64
		found              bool
	}{
		{"slashes", `/Coverage: \d+\.\d+%/`, "start\nCoverage: 81.25%\nend\n", 81.25, true},
		{"bare", `total:\s+\d+%`, "total:   64%\n", 64, true},
		{"last match wins", `/cov \d+/`, "cov 10\ncov 20\nother\n", 20, true},
		{"colours stripped", `/Coverage: \d+\.\d+/`, "\x1b[32mCoverage: \x1b[1m95.50\x1b[0m\n", 95.5, true},
		{"no final newline", `/(\d+)% covered/`, "x\n77% covered", 77, true},
		{"no match", `/Coverage: \d+/`, "nothing here\n", 0, false},
		{"match without a number", `/Coverage/`, "Coverage: n/a\n", 0, false},
		{"overlong line skipped", `/cov \d+/`, "cov 5\n" + strings.Repeat("x", 200<<10) + " cov 99\n", 5, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			re, err := CoverageRegexp(c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			got, found, err := ScanCoverage(strings.NewReader(c.log), re)
			if err != nil || found != c.found || got != c.want {
				t.Errorf("ScanCoverage = %v, %v, %v; want %v, %v", got, found, err, c.want, c.found)
			}
		})
	}
	if _, err := CoverageRegexp(`/(unclosed/`); KindOf(err) != KindInvalid {
		t.Errorf("a broken regexp: %v, want KindInvalid", err)
	}
}
