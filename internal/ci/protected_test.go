package ci

import (
	"strings"
	"testing"
)

// TestValidProtectedRefName: the names the API and the settings page
// accept for a protected branch or tag rule.
func TestValidProtectedRefName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"main", true},
		{"release/*", true},
		{"v*", true},
		{strings.Repeat("a", 255), true},
		{strings.Repeat("a", 256), false},
		{"", false},
		{"has space", false},
		{"tab\there", false},
		{"a~1", false},
		{"a^", false},
		{"a:b", false},
		{"a?", false},
		{"a[b", false},
		{`a\b`, false},
		{"nul\x00", false},
	} {
		if got := ValidProtectedRefName(tc.name); got != tc.want {
			t.Errorf("ValidProtectedRefName(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
