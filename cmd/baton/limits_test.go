package main

import (
	"strings"
	"testing"
	"time"
)

// TestServerLimits checks that --max-artifact-size and --trace-limit reach
// the runner API: an oversized artifact fails its job with a 413 naming
// the limit, an oversized log fails its job as trace_size_exceeded.
func TestServerLimits(t *testing.T) {
	in := startBaton(t, engines()[0], func(c *Config) { c.MaxArtifactMiB, c.TraceLimitMB = 1, 1 })
	in.startRunner(in.runnerToken(), 2)
	pid, _ := in.project("limits", map[string]string{".gitlab-ci.yml": `
big:
  script: head -c 3000000 /dev/urandom > big.bin
  artifacts:
    paths: [big.bin]
chatty:
  script: for i in $(seq 1 40000); do echo "line $i of a log that is far too long for this server"; done
`})
	pl := in.latestPipeline(pid)
	in.waitPipeline(pid, pl.ID, 90*time.Second, "failed")
	jobs := in.jobs(pid, pl.ID, false)
	big, chatty := jobs["big"][0], jobs["chatty"][0]
	if big.Status != "failed" || big.ArtifactsFile != nil || !strings.Contains(in.trace(pid, big.ID), "1 MiB") {
		t.Errorf("big = %+v; log:\n%s", big, in.trace(pid, big.ID))
	}
	if chatty.Status != "failed" || chatty.FailureReason != "trace_size_exceeded" {
		t.Errorf("chatty = %+v, want failed with trace_size_exceeded", chatty)
	}
}
