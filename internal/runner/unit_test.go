package runner

import (
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"build/out.txt", "build/out.txt", true},
		{"build/*.txt", "build/out.txt", true},
		{"build/*.txt", "build/sub/out.txt", false},
		{"build/**/*.txt", "build/out.txt", true},
		{"build/**/*.txt", "build/a/b/out.txt", true},
		{"**/a.log", "a.log", true},
		{"**/a.log", "x/y/a.log", true},
		{"**", "anything/at/all", true},
		{"build", "build", true},
		{"build", "build2", false},
		{"b?ild/[a-o]ut.txt", "build/out.txt", true},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.name, func(t *testing.T) {
			if got := matchGlob(tc.pattern, tc.name); got != tc.want {
				t.Errorf("matchGlob(%q, %q) = %v", tc.pattern, tc.name, got)
			}
		})
	}
}

func TestMasker(t *testing.T) {
	tests := []struct {
		name     string
		secrets  []string
		writes   []string
		want     string
		prefixes []string
	}{
		{"token prefix", nil, []string{"pat glpat-abc_DEF-1.2 end"}, "pat glpat-[MASKED] end", []string{"glpat-"}},
		{"token split across writes", nil, []string{"x gl", "pat-ab", "cd", " y"}, "x glpat-[MASKED] y", []string{"glpat-"}},
		{"token at end of stream", nil, []string{"x glpat-abc"}, "x glpat-[MASKED]", []string{"glpat-"}},
		{"bare prefix is not a token", nil, []string{"glpat- glpat-"}, "glpat- glpat-", []string{"glpat-"}},
		{"secret and token", []string{"s3cret"}, []string{"glpat-1 s3cret glrt-2"}, "glpat-[MASKED] [MASKED] glrt-[MASKED]", []string{"glpat-", "glrt-"}},
		{"whole", []string{"secret"}, []string{"a secret b"}, "a [MASKED] b", nil},
		{"split across writes", []string{"secret"}, []string{"a sec", "r", "et b"}, "a [MASKED] b", nil},
		{"partial prefix at end is released on flush", []string{"secret"}, []string{"a sec"}, "a sec", nil},
		{"false start", []string{"secret"}, []string{"sesecret", "s"}, "se[MASKED]s", nil},
		{"longest wins", []string{"abc", "abcdef"}, []string{"xabcdefx abc"}, "x[MASKED]x [MASKED]", nil},
		{"no secrets", nil, []string{"plain"}, "plain", nil},
		{"repeated", []string{"tok"}, []string{"toktok"}, "[MASKED][MASKED]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			m := newMasker(&out, tc.secrets, tc.prefixes)
			for _, w := range tc.writes {
				if _, err := m.Write([]byte(w)); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Flush(); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.want {
				t.Errorf("got %q, want %q", out.String(), tc.want)
			}
		})
	}
}

func TestEntryName(t *testing.T) {
	tests := []struct {
		raw, want string
		unsafe    bool
	}{
		{"a/b.txt", "a/b.txt", false},
		{"./a/", "a", false},
		{"a/../b", "", true},
		{"../x", "", true},
		{"/etc/passwd", "", true},
		{"C:/x", "", true},
		{"a\x00b", "", true},
		{"..\\x", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := entryName(tc.raw)
			if errors.Is(err, errUnsafeEntry) != tc.unsafe || (!tc.unsafe && got != filepath.FromSlash(tc.want)) {
				t.Errorf("entryName(%q) = %q, %v", tc.raw, got, err)
			}
		})
	}
}

func TestAPIBase(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://h:8080", "http://h:8080/api/v4/"},
		{"http://h:8080/", "http://h:8080/api/v4/"},
		{"https://h/ci", "https://h/api/v4/"},
		{"https://h/gl/ci/", "https://h/gl/api/v4/"},
		{"unix:///x", ""},
		{"h:8080", ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			u, err := apiBase(tc.in)
			got := ""
			if err == nil {
				got = u.String()
			}
			if got != tc.want {
				t.Errorf("apiBase(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRangeEnd(t *testing.T) {
	for in, want := range map[string]int{"0-42": 42, "bytes=0-7": 7, "": 0, "garbage": 0, "0-": 0} {
		if got := rangeEnd(in); got != want {
			t.Errorf("rangeEnd(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestFailureReasonMapping(t *testing.T) {
	p := &jobPayload{Features: jobFeatures{FailureReasons: []string{"script_failure", "job_canceled"}}}
	for in, want := range map[string]string{
		"script_failure": "script_failure", "runner_system_failure": "runner_system_failure",
		"job_execution_timeout": "job_execution_timeout", "job_canceled": "job_canceled",
		"runner_interrupted": "unknown_failure", "": "",
	} {
		if got := p.failureReason(in); got != want {
			t.Errorf("failureReason(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestBashScriptEcho runs generated scripts through bash: every command is
// echoed verbatim, quotes and escapes included.
func TestBashScriptEcho(t *testing.T) {
	cmds := []string{`echo "it's \ a $HOME 'quoted' \"x\""`, "printf 'tab\\there\\n'", "if true; then\n  echo multi\nfi"}
	out, err := exec.Command("bash", "--noprofile", "--norc", "-c", bashScript(cmds)).CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		ansiBoldGreen + "$ " + cmds[0] + ansiReset + "\n",
		ansiBoldGreen + "$ printf 'tab\\there\\n'" + ansiReset + "\ntab\there\n",
		ansiBoldGreen + "$ if true; then # collapsed multi-line command" + ansiReset + "\nmulti\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%q", want, out)
		}
	}
}
