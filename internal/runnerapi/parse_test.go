package runnerapi

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func TestParseExpireIn(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		in    string
		want  time.Duration
		never bool
		bad   bool
	}{
		{in: "never", never: true},
		{in: "Never", never: true},
		{in: "42", want: 42 * time.Second},
		{in: "1 week", want: 7 * day},
		{in: "3 mins 4 sec", want: 3*time.Minute + 4*time.Second},
		{in: "2 hrs 20 min", want: 2*time.Hour + 20*time.Minute},
		{in: "6 mos 1 day", want: 6*30*day + day},
		{in: "30 days", want: 30 * day},
		{in: "1 year", want: time.Duration(365.25 * float64(day))},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1.5 hours", want: 90 * time.Minute},
		{in: "1 day and 2 hours", want: 26 * time.Hour},
		{in: "2 weeks, 1 day", want: 15 * day},
		{in: "", bad: true},
		{in: "soon", bad: true},
		{in: "5 fortnights", bad: true},
		{in: "-1 day", bad: true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			got, never, err := ParseExpireIn(c.in)
			if c.bad {
				if ci.KindOf(err) != ci.KindInvalid {
					t.Fatalf("ParseExpireIn(%q) = %v, %v, %v; want KindInvalid", c.in, got, never, err)
				}
				return
			}
			if err != nil || got != c.want || never != c.never {
				t.Fatalf("ParseExpireIn(%q) = %v, %v, %v; want %v, %v", c.in, got, never, err, c.want, c.never)
			}
		})
	}
}

func TestParseDotenv(t *testing.T) {
	many := strings.Builder{}
	for i := 0; i < 21; i++ {
		many.WriteString("K" + strings.Repeat("X", i) + "=v\n")
	}
	cases := []struct {
		name string
		in   string
		want []DotenvVariable
		bad  string // substring of the error
	}{
		{name: "simple", in: "A=1\nB_2=two words\n", want: []DotenvVariable{{"A", "1"}, {"B_2", "two words"}}},
		{name: "whitespace stripped, quotes kept", in: "  A =  \"x\"  \r\n", want: []DotenvVariable{{"A", `"x"`}}},
		{name: "value with equals", in: "URL=http://h/?a=b", want: []DotenvVariable{{"URL", "http://h/?a=b"}}},
		{name: "repeated key keeps last", in: "A=1\nB=2\nA=3\n", want: []DotenvVariable{{"A", "3"}, {"B", "2"}}},
		{name: "blank lines tolerated", in: "A=1\n\nB=2\n", want: []DotenvVariable{{"A", "1"}, {"B", "2"}}},
		{name: "empty value", in: "A=\n", want: []DotenvVariable{{"A", ""}}},
		{name: "no equals", in: "A=1\nexport B\n", bad: "line 2"},
		{name: "bad key", in: "A-B=1\n", bad: "A-B"},
		{name: "empty key", in: "=1\n", bad: "line 1"},
		{name: "too many", in: many.String(), bad: "more than 20 variables"},
		{name: "too large", in: "A=" + strings.Repeat("x", MaxDotenvSize), bad: "larger than 5120"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseDotenv([]byte(c.in))
			if c.bad != "" {
				if ci.KindOf(err) != ci.KindInvalid || !strings.Contains(err.Error(), c.bad) {
					t.Fatalf("ParseDotenv = %v, %v; want KindInvalid containing %q", got, err, c.bad)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseDotenv = %v, %v; want %v", got, err, c.want)
			}
		})
	}
}

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in         string
		start, end int64
		bad        bool
	}{
		{in: "0-511", start: 0, end: 511},
		{in: "512-1023", start: 512, end: 1023},
		{in: "bytes 5-9/10", start: 5, end: 9},
		{in: "bytes=5-9/*", start: 5, end: 9},
		{in: "7-6", start: 7, end: 6}, // empty patch
		{in: "", bad: true},
		{in: "abc", bad: true},
		{in: "-5", bad: true},
		{in: "10-3", bad: true},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			s, e, err := ParseContentRange(c.in)
			if c.bad != (err != nil) || !c.bad && (s != c.start || e != c.end) {
				t.Fatalf("ParseContentRange(%q) = %d, %d, %v", c.in, s, e, err)
			}
		})
	}
}

func TestParseTagList(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"docker", []string{"docker"}},
		{"a, b ,c", []string{"a", "b", "c"}},
		{"a,,a, ,b", []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			if got := ParseTagList(c.in); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ParseTagList(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}
