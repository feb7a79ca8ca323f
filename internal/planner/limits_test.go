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

func TestCheckRequestInputs(t *testing.T) {
	l := Limits{MaxVariables: 2, MaxVariableBytes: 10}
	cases := []struct {
		name   string
		inputs map[string]any
		want   string
	}{
		{"none", nil, ""},
		{"within", map[string]any{"a": "12345678", "b": []any{1.0, 2.0}}, ""},
		{"too many", map[string]any{"a": 1.0, "b": 2.0, "c": 3.0}, "3 inputs given, the limit is 2 (--max-variables)"},
		{"too long", map[string]any{"a": "123456789"}, "input a is 11 bytes long, the limit is 10 bytes per value (--max-variable-bytes)"},
	}
	for _, c := range cases {
		err := l.checkRequestInputs(c.inputs)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
