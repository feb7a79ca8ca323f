package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// TestRunTiny builds baton and runs both parts with tiny sizes: every
// pickup must deliver the job of the pipeline just created and every no-op
// pipeline must succeed with all its jobs (run fails otherwise).
func TestRunTiny(t *testing.T) {
	ctx := context.Background()
	bin, err := benchkit.BuildBaton(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := options{baton: bin, pollers: 2, pickups: 3, baselinePickups: 2, pollInterval: 100 * time.Millisecond,
		noopJobs: 2, part: "both"} // runnerSettle 0: the first no-op job may wait out the runner's poll interval

	if err := run(ctx, &out, o); err != nil {
		t.Fatalf("%v\noutput so far:\n%s", err, out.String())
	}
	for _, want := range []string{
		`long polling \(--long-poll 50s\), 2 requests held +3 +create response`,
		`baseline: --long-poll -1s, 1 runner polling every 100ms +2 +create request`,
		`no-op, GIT_STRATEGY: none +[0-9.]+ms`, `no-op, git fetch \(default\) +[0-9.]+ms`, `floor: bash -c ':' 2 times`,
	} {
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Errorf("output does not match %q:\n%s", want, out.String())
		}
	}
}

func TestNoopYAML(t *testing.T) {
	for _, c := range []struct {
		name      string
		skipClone bool
		want      string
	}{
		{"none", true, "variables:\n  GIT_STRATEGY: none\nnoop-0:\n  script: [\":\"]\nnoop-1:\n  script: [\":\"]\n"},
		{"clone", false, "noop-0:\n  script: [\":\"]\nnoop-1:\n  script: [\":\"]\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := noopYAML(2, c.skipClone); got != c.want {
				t.Errorf("noopYAML(2, %v) = %q, want %q", c.skipClone, got, c.want)
			}
		})
	}
}
