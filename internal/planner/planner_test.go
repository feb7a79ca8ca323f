package planner

import "testing"

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
