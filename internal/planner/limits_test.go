package planner

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	l := Limits{MaxVariableBytes: 8}
	cases := []struct{ in, want string }{
		{"short", "short"},
		{"exactly8", "exactly8"},
		{"nine byte", "nine byt"},
		{"abcdefgé", "abcdefg"}, // é would end past byte 8: cut before it
		{"abcdeféz", "abcdefé"}, // é ends at byte 8: kept
		{strings.Repeat("€", 3), "€€"},
	}
	for _, c := range cases {
		got := l.clip(c.in)
		if got != c.want || !utf8.ValidString(got) || len(got) > 8 {
			t.Errorf("clip(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
