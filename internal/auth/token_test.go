package auth

import (
	"strings"
	"testing"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{PrefixPersonal, PrefixJob, PrefixRunner, PrefixTrigger} {
		t.Run(prefix, func(t *testing.T) {
			for i := 0; i < 100; i++ {
				secret, hash := NewToken(prefix)
				if !strings.HasPrefix(secret, prefix) || len(secret) != len(prefix)+32 {
					t.Fatalf("secret %q: want prefix %q and 32 more characters", secret, prefix)
				}
				if seen[secret] {
					t.Fatalf("secret %q issued twice", secret)
				}
				seen[secret] = true
				if hash != Hash(secret) || len(hash) != 64 || strings.Contains(hash, secret) {
					t.Fatalf("hash %q of %q is not its hex sha256", hash, secret)
				}
			}
		})
	}
}

func TestEqual(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "abcd", false},
		{"", "", true},
	}
	for _, c := range cases {
		if got := Equal(c.a, c.b); got != c.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
