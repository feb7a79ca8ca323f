package scheduler

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func sInterruptible(s *ci.JobSpec) { s.Interruptible = true }

// TestCancelRedundant: a new pipeline cancels the older unfinished
// pipelines of its branch for other commits unless a non-interruptible job
// of theirs has started (GitLab's conservative auto-cancel); other
// branches, tags, the same commit and finished pipelines are left alone.
func TestCancelRedundant(t *testing.T) {
	sha := func(c string) string { return strings.Repeat(c, 40) }
	runScenarios(t, []scenario{
		{"pending jobs count as interruptible", func(e *env) {
			old := e.createOn("main", sha("a"), false, spec("build", "build"), spec("test", "test"))
			other := e.createOn("feature", sha("a"), false, spec("build", "build"))
			tag := e.createOn("main", sha("a"), true, spec("build", "build"))
			same := e.createOn("main", sha("b"), false, spec("build", "build"))
			p := e.createOn("main", sha("b"), false, spec("build", "build"))
			got, err := e.s.CancelRedundant(e.ctx, p)
			if err != nil {
				e.t.Fatalf("CancelRedundant: %v", err)
			}
			if !slices.Equal(got, []int64{old.ID}) {
				e.t.Errorf("canceled %v, want only %d", got, old.ID)
			}
			e.expect(old, "build:canceled test:canceled", ci.StatusCanceled)
			for _, kept := range []*ci.Pipeline{other, tag, same, p} {
				if st := e.pipeline(kept).Status; st != ci.StatusPending {
					e.t.Errorf("pipeline %d (%s): %s, want pending", kept.ID, kept.Ref, st)
				}
			}
		}},
		{"a started job that is not interruptible keeps its pipeline", func(e *env) {
			old := e.createOn("main", sha("a"), false, spec("deploy", "build"), spec("test", "test", sInterruptible))
			if err := e.s.JobStarted(e.ctx, e.take().ID); err != nil {
				e.t.Fatal(err)
			}
			e.clock.Add(time.Second)
			p := e.createOn("main", sha("b"), false, spec("build", "build"))
			got, err := e.s.CancelRedundant(e.ctx, p)
			if err != nil || len(got) != 0 {
				e.t.Fatalf("CancelRedundant = %v, %v; want nothing canceled", got, err)
			}
			e.expect(old, "deploy:running test:created", ci.StatusRunning)
		}},
		{"running interruptible jobs are canceled", func(e *env) {
			old := e.createOn("main", sha("a"), false, spec("build", "build", sInterruptible), spec("test", "test"))
			if err := e.s.JobStarted(e.ctx, e.take().ID); err != nil {
				e.t.Fatal(err)
			}
			p := e.createOn("main", sha("b"), false, spec("build", "build"))
			if _, err := e.s.CancelRedundant(e.ctx, p); err != nil {
				e.t.Fatalf("CancelRedundant: %v", err)
			}
			e.expect(old, "build:canceling test:canceled", ci.StatusCanceling)
		}},
		{"finished jobs wake artifact waiters", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			before := e.finished.Load()
			if err := e.s.CancelJob(e.ctx, e.job(p, "build").ID); err != nil {
				e.t.Fatalf("CancelJob: %v", err)
			}
			// build canceled, test skipped after it.
			if got := e.finished.Load() - before; got < 2 {
				e.t.Errorf("Finished called %d times for a canceled and a skipped job, want 2 or more", got)
			}
		}},
	})
}
