package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func sDelayed(seconds int) func(*ci.JobSpec) {
	return func(s *ci.JobSpec) { s.When, s.StartIn = ci.WhenDelayed, seconds }
}

func TestDelayedJobs(t *testing.T) {
	runScenarios(t, []scenario{
		{"a delayed job is scheduled when its turn comes and released at its time by another replica", func(e *env) {
			p := e.create(spec("build", "build"), spec("deploy", "deploy", sDelayed(60)), spec("verify", ".post"))
			e.report(e.takeAll()["build"], ci.StatusSuccess, 0)
			turn := e.clock.Now()
			e.expect(p, "build:success deploy:scheduled verify:created", ci.StatusScheduled)
			d := e.job(p, "deploy")
			if d.ScheduledAt == nil || !d.ScheduledAt.Equal(turn.Add(60*time.Second)) {
				e.t.Fatalf("deploy ScheduledAt = %v, want %v", d.ScheduledAt, turn.Add(60*time.Second))
			}
			e.clock.Add(59 * time.Second)
			if err := e.s.ReleaseDue(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			e.expect(p, "build:success deploy:scheduled verify:created", ci.StatusScheduled)
			e.clock.Add(time.Second)
			// A restarted process or another replica: the store is all it knows.
			other := e.scheduler()
			before := e.notified.Load()
			if err := other.ReleaseDue(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			e.expect(p, "build:success deploy:pending verify:created", ci.StatusRunning)
			if e.notified.Load() == before {
				e.t.Error("runners were not woken for the released job")
			}
			if d := e.job(p, "deploy"); d.ScheduledAt != nil || d.QueuedAt == nil {
				e.t.Errorf("released job ScheduledAt %v QueuedAt %v", d.ScheduledAt, d.QueuedAt)
			}
			// A second replica finds nothing left to release.
			if err := e.s.ReleaseDue(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			e.report(e.takeAll()["deploy"], ci.StatusSuccess, 0)
			e.expect(p, "build:success deploy:success verify:pending", ci.StatusRunning)
		}},
		{"playing a scheduled job starts it early", func(e *env) {
			p := e.create(spec("deploy", "deploy", sDelayed(3600)))
			e.expect(p, "deploy:scheduled", ci.StatusScheduled)
			if _, err := e.s.PlayJob(e.ctx, e.job(p, "deploy").ID, 0); err != nil {
				e.t.Fatalf("PlayJob: %v", err)
			}
			e.expect(p, "deploy:pending", ci.StatusPending)
		}},
		{"unscheduling makes it manual, to be played", func(e *env) {
			p := e.create(spec("deploy", "deploy", sDelayed(3600)), spec("after", ".post"))
			id := e.job(p, "deploy").ID
			j, err := e.s.UnscheduleJob(e.ctx, id, 0)
			if err != nil {
				e.t.Fatalf("UnscheduleJob: %v", err)
			}
			if j.Status != ci.StatusManual || j.ScheduledAt != nil {
				e.t.Errorf("unscheduled job: %s ScheduledAt %v", j.Status, j.ScheduledAt)
			}
			e.expect(p, "after:created deploy:manual", ci.StatusManual)
			e.clock.Add(2 * time.Hour)
			if err := e.s.ReleaseDue(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			e.expect(p, "after:created deploy:manual", ci.StatusManual)
			if _, err := e.s.UnscheduleJob(e.ctx, id, 0); ci.KindOf(err) != ci.KindInvalid {
				e.t.Errorf("unscheduling a manual job: %v, want KindInvalid", err)
			}
			if _, err := e.s.PlayJob(e.ctx, id, 0); err != nil {
				e.t.Fatalf("PlayJob: %v", err)
			}
			e.expect(p, "after:created deploy:pending", ci.StatusPending)
		}},
		{"a canceled pipeline cancels its scheduled job", func(e *env) {
			p := e.create(spec("deploy", "deploy", sDelayed(60)))
			if err := e.s.CancelPipeline(e.ctx, p.ID); err != nil {
				e.t.Fatalf("CancelPipeline: %v", err)
			}
			e.clock.Add(time.Minute)
			if err := e.s.ReleaseDue(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			e.expect(p, "deploy:canceled", ci.StatusCanceled)
		}},
		{"RunDelayed releases what fell due while it was down, and wakes on a notification", func(e *env) {
			p1 := e.create(spec("deploy", "deploy", sDelayed(60)))
			e.clock.Add(time.Minute)
			p2 := e.create(spec("later", "deploy", sDelayed(30)))
			ctx, cancel := context.WithCancel(e.ctx)
			wake := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- e.scheduler().RunDelayed(ctx, wake) }()
			e.eventually("the job due before the start to be released", func() bool {
				return e.job(p1, "deploy").Status == ci.StatusPending
			})
			if got := e.job(p2, "later").Status; got != ci.StatusScheduled {
				e.t.Errorf("the job not yet due is %s", got)
			}
			e.clock.Add(30 * time.Second)
			wake <- ""
			e.eventually("the woken loop to release the job now due", func() bool {
				return e.job(p2, "later").Status == ci.StatusPending
			})
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("RunDelayed: %v", err)
			}
		}},
	})
}

// eventually polls cond every 10 ms for up to 10 s.
func (e *env) eventually(what string, cond func() bool) {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	e.t.Fatalf("timed out waiting for %s", what)
}
