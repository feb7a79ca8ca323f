package ci

import (
	"strings"
	"testing"
)

// The expected values follow GitLab's
// str.downcase.gsub(/[^a-z0-9]/, '-')[0..62].gsub(/(\A-+|-+\z)/, ”).
func TestSlug(t *testing.T) {
	tests := []struct{ in, want string }{
		{"main", "main"},
		{"feature//x", "feature--x"}, // runs are not collapsed
		{"feature/Login_Page", "feature-login-page"},
		{"a__b", "a--b"},
		{"-v1.2.3-", "v1-2-3"},
		{"--x--", "x"},
		{"UPPER", "upper"},
		{"", ""},
		{"g/Sub/Proj", "g-sub-proj"},
		{"aé b", "a--b"}, // one '-' per character, not per byte
		{"Émile", "mile"},
		{strings.Repeat("a", 70), strings.Repeat("a", 63)},
		{strings.Repeat("a", 62) + "/b", strings.Repeat("a", 62)}, // cut at 63, then trimmed
		{strings.Repeat("ab-", 40), strings.TrimRight(strings.Repeat("ab-", 21), "-")},
	}
	for _, tt := range tests {
		if got := Slug(tt.in); got != tt.want {
			t.Errorf("Slug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPathFromName(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"My Project", "my-project"},
		{"My  Project", "my-project"},
		{" lead and trail ", "lead-and-trail"},
		{"a.b_c-d", "a.b_c-d"},
		{"x -- y", "x-y"},
		{"Ünïcode name", "n-code-name"},
		{"..hidden.", "hidden"},
		{"---", ""},
	} {
		if got := PathFromName(c.name); got != c.want {
			t.Errorf("PathFromName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}
