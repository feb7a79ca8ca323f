package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		args []string
		want config
		err  bool
	}{
		{nil, defaultConfig(), false},
		{[]string{"-quick"}, quickConfig(), false},
		{[]string{"-quick", "-pipelines", "7", "-size-mib", "3"}, func() config {
			c := quickConfig()
			c.Pipelines, c.Size = 7, 3<<20
			return c
		}(), false},
		{[]string{"-consumers", "5"}, func() config { c := defaultConfig(); c.Consumers = 5; return c }(), false},
		{[]string{"-jobs", "0"}, config{}, true},
		{[]string{"-quick", "-download", "redirect"}, func() config { c := quickConfig(); c.Download = "redirect"; return c }(), false},
		{[]string{"-download", "presign"}, config{}, true},
	}
	for _, tt := range tests {
		got, err := parseFlags(tt.args, io.Discard)
		if (err != nil) != tt.err {
			t.Errorf("parseFlags(%q) error %v, want error %v", tt.args, err, tt.err)
			continue
		}
		if !tt.err && got != tt.want {
			t.Errorf("parseFlags(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestNoopYAML(t *testing.T) {
	y := noopYAML(3)
	if strings.Count(y, "script:") != 3 || !strings.Contains(y, "GIT_STRATEGY: none") || !strings.Contains(y, "noop-3:") {
		t.Errorf("noopYAML(3):\n%s", y)
	}
}

func TestPct(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i))
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{50, 50}, {99, 99}, {100, 100}, {1, 1}} {
		if got := pct(ds, tt.p); got != tt.want {
			t.Errorf("pct(1..100, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}
