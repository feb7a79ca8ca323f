package scheduler

import (
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func (e *env) external(p *ci.Pipeline, name string, st ci.Status) *ci.Job {
	e.t.Helper()
	j, err := e.s.ReportExternal(e.ctx, p, name, st, 0)
	if err != nil {
		e.t.Fatalf("ReportExternal %s %s: %v", name, st, err)
	}
	return j
}

func TestExternalStatuses(t *testing.T) {
	runScenarios(t, []scenario{
		{"external statuses run the pipeline, outlive every sweep and are no runner's", func(e *env) {
			p := e.create(spec("build", "build"))
			e.report(e.take(), ci.StatusSuccess, 0)
			e.expect(p, "build:success", ci.StatusSuccess)
			e.external(p, "lint", ci.StatusRunning)
			e.external(p, "deploy-check", ci.StatusPending)
			e.expect(p, "build:success deploy-check:pending lint:running", ci.StatusRunning)
			if got := e.takeAll(); len(got) != 0 {
				e.t.Fatalf("the runner was handed %v", got)
			}
			// Past the stale, timeout and pending limits.
			e.clock.Add(48 * time.Hour)
			e.sweep()
			e.expect(p, "build:success deploy-check:pending lint:running", ci.StatusRunning)
			if j := e.job(p, "lint"); j.Stage != ci.ExternalStage || j.StageIdx != ci.ExternalStageIdx || !j.External() {
				e.t.Errorf("external job: stage %q (%d), external %v", j.Stage, j.StageIdx, j.External())
			}
		}},
		{"a failed external status fails the pipeline; reported again it is a new job", func(e *env) {
			p := e.create(spec("build", "build"))
			e.report(e.take(), ci.StatusSuccess, 0)
			first := e.external(p, "lint", ci.StatusPending)
			if j := e.external(p, "lint", ci.StatusFailed); j.ID != first.ID {
				e.t.Errorf("a pending status moved to failed became job %d, want %d", j.ID, first.ID)
			}
			e.expect(p, "build:success lint:failed", ci.StatusFailed)
			// A pipeline retry retries builds, not external statuses.
			if err := e.s.RetryPipeline(e.ctx, p.ID, 0); err != nil {
				e.t.Fatalf("RetryPipeline: %v", err)
			}
			e.expect(p, "build:success lint:failed", ci.StatusFailed)
			if _, err := e.s.RetryJob(e.ctx, first.ID, 0); ci.KindOf(err) != ci.KindInvalid {
				e.t.Errorf("RetryJob of an external status: %v, want KindInvalid", err)
			}
			next := e.external(p, "lint", ci.StatusRunning)
			if next.ID == first.ID || next.Attempt != 2 {
				e.t.Errorf("reported after it failed: job %d attempt %d, want a new attempt of %d", next.ID, next.Attempt, first.ID)
			}
			e.expect(p, "build:success lint:running", ci.StatusRunning)
			e.external(p, "lint", ci.StatusSuccess)
			e.expect(p, "build:success lint:success", ci.StatusSuccess)
		}},
		{"a running bridge outlives the stale and timeout sweeps", func(e *env) {
			p := e.create(spec("trigger", "test", func(s *ci.JobSpec) {
				s.Trigger = &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}, Depend: true}
			}))
			b := e.job(p, "trigger")
			if !b.Bridge() || b.Status != ci.StatusPending {
				e.t.Fatalf("bridge %v, status %s", b.Bridge(), b.Status)
			}
			now := e.clock.Now()
			b.Status, b.StartedAt, b.UpdatedAt = ci.StatusRunning, &now, now
			if err := e.db.UpdateJob(e.ctx, b, ci.StatusPending); err != nil {
				e.t.Fatalf("UpdateJob: %v", err)
			}
			e.clock.Add(48 * time.Hour)
			e.sweep()
			e.expect(p, "trigger:running", ci.StatusRunning)
		}},
		{"canceling the pipeline cancels its running external status at once", func(e *env) {
			p := e.create(spec("build", "build"))
			e.report(e.take(), ci.StatusSuccess, 0)
			e.external(p, "lint", ci.StatusRunning)
			if err := e.s.CancelPipeline(e.ctx, p.ID); err != nil {
				e.t.Fatalf("CancelPipeline: %v", err)
			}
			e.expect(p, "build:success lint:canceled", ci.StatusCanceled)
		}},
	})
}
