package planner

import "testing"

func TestRefSlug(t *testing.T) {
	cases := map[string]string{
		"main":                  "main",
		"feature/Login_Page":    "feature-login-page",
		"-v1.2.3-":              "v1-2-3",
		"UPPER":                 "upper",
		string(make([]byte, 0)): "",
	}
	long := ""
	for i := 0; i < 70; i++ {
		long += "a"
	}
	cases[long] = long[:63]
	for in, want := range cases {
		if got := RefSlug(in); got != want {
			t.Errorf("RefSlug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSkipCI(t *testing.T) {
	cases := []struct {
		msg  string
		want bool
	}{
		{"fix bug [skip ci]", true},
		{"[CI SKIP] docs", true},
		{"docs\n\nbody [skip ci]", true},
		{"skip ci", false},
		{"normal commit", false},
	}
	for _, c := range cases {
		if got := SkipCI(c.msg); got != c.want {
			t.Errorf("SkipCI(%q) = %v, want %v", c.msg, got, c.want)
		}
	}
}
