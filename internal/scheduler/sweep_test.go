package scheduler

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func (e *env) sweep() {
	e.t.Helper()
	if err := e.s.Sweep(e.ctx); err != nil {
		e.t.Fatalf("Sweep: %v", err)
	}
}

func TestSweep(t *testing.T) {
	runScenarios(t, []scenario{
		{"silent running job fails as stuck", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			e.take()
			e.clock.Add(9 * time.Minute)
			e.sweep()
			e.expect(p, "build:running test:created", ci.StatusRunning)
			e.clock.Add(2 * time.Minute)
			e.sweep()
			e.expect(p, "build:failed test:skipped", ci.StatusFailed)
			if j := e.job(p, "build"); j.FailureReason != ci.FailureRunnerSystem || j.FinishedAt == nil {
				e.t.Errorf("stuck job: reason %q finished %v", j.FailureReason, j.FinishedAt)
			}
		}},
		{"keepalive keeps a job from being stuck", func(e *env) {
			p := e.create(spec("build", "build"))
			j := e.take()
			e.clock.Add(8 * time.Minute)
			if err := e.db.TouchJob(e.ctx, j.ID, e.clock.Now()); err != nil {
				e.t.Fatalf("TouchJob: %v", err)
			}
			e.clock.Add(8 * time.Minute)
			e.sweep()
			e.expect(p, "build:running", ci.StatusRunning)
		}},
		{"stuck job is retried when retry:when says so", func(e *env) {
			p := e.create(spec("build", "build", sRetry(2, ci.FailureRunnerSystem)))
			e.take()
			e.clock.Add(11 * time.Minute)
			e.sweep()
			e.expect(p, "build:pending", ci.StatusPending)
		}},
		{"job past its timeout fails", func(e *env) {
			p := e.create(spec("build", "build", sTimeout(60)), spec("slow", "build"))
			e.takeAll()
			e.clock.Add(90 * time.Second)
			e.sweep()
			e.expect(p, "build:running slow:running", ci.StatusRunning)
			e.clock.Add(time.Minute)
			e.sweep()
			e.expect(p, "build:failed slow:running", ci.StatusRunning)
			if j := e.job(p, "build"); j.FailureReason != ci.FailureJobTimeout {
				e.t.Errorf("timed out job: reason %q", j.FailureReason)
			}
		}},
		{"timeout hook", func(e *env) {
			s := New(e.db, Options{Now: e.clock.Now, Logger: e.s.log,
				JobTimeout: func(context.Context, *ci.Job) time.Duration { return 10 * time.Second }})
			p := e.create(spec("build", "build"))
			e.take()
			e.clock.Add(2 * time.Minute)
			if err := s.Sweep(e.ctx); err != nil {
				e.t.Fatalf("Sweep: %v", err)
			}
			e.expect(p, "build:failed", ci.StatusFailed)
		}},
		{"canceling job its runner never confirms is canceled", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			e.take()
			if err := e.s.CancelPipeline(e.ctx, p.ID); err != nil {
				e.t.Fatalf("CancelPipeline: %v", err)
			}
			e.clock.Add(4 * time.Minute)
			e.sweep()
			e.expect(p, "build:canceling test:canceled", ci.StatusCanceling)
			e.clock.Add(2 * time.Minute)
			e.sweep()
			e.expect(p, "build:canceled test:canceled", ci.StatusCanceled)
		}},
		{"job pending for a day fails", func(e *env) {
			p := e.create(spec("build", "build"))
			e.clock.Add(23 * time.Hour)
			e.sweep()
			e.expect(p, "build:pending", ci.StatusPending)
			e.clock.Add(2 * time.Hour)
			e.sweep()
			e.expect(p, "build:failed", ci.StatusFailed)
		}},
		{"sweep repairs a pipeline whose JobFinished was lost", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			j := e.take()
			j.Status = ci.StatusSuccess
			if err := e.db.UpdateJob(e.ctx, j, ci.StatusRunning); err != nil {
				e.t.Fatalf("UpdateJob: %v", err)
			}
			e.sweep()
			e.expect(p, "build:success test:pending", ci.StatusRunning)
		}},
		{"run stops on cancel", func(e *env) {
			ctx, cancel := context.WithCancel(e.ctx)
			done := make(chan error)
			go func() { done <- e.s.Run(ctx) }()
			cancel()
			if err := <-done; err != nil {
				e.t.Errorf("Run = %v", err)
			}
		}},
	})
}

func TestReplicas(t *testing.T) {
	runScenarios(t, []scenario{
		{"concurrent advances move each job once", func(e *env) {
			var specs []ci.JobSpec
			for _, n := range []string{"b1", "b2", "b3"} {
				specs = append(specs, spec(n, "build"))
			}
			for _, n := range []string{"t1", "t2", "t3", "t4", "t5", "t6"} {
				specs = append(specs, spec(n, "test"))
			}
			p := e.create(append(specs, spec("ship", "deploy"))...)
			for _, j := range e.takeAll() {
				j.Status = ci.StatusSuccess
				if err := e.db.UpdateJob(e.ctx, j, ci.StatusRunning); err != nil {
					e.t.Fatalf("UpdateJob: %v", err)
				}
			}
			before := e.notified.Load()
			var wg sync.WaitGroup
			errs := make(chan error, 6)
			for range 6 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- e.scheduler().Advance(e.ctx, p.ID)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					e.t.Errorf("Advance: %v", err)
				}
			}
			e.expect(p, "b1:success b2:success b3:success ship:created t1:pending t2:pending t3:pending "+
				"t4:pending t5:pending t6:pending", ci.StatusRunning)
			if e.notified.Load() == before {
				e.t.Error("no notification for new pending jobs")
			}
			if got := len(e.takeAll()); got != 6 {
				e.t.Errorf("%d jobs assigned, want 6", got)
			}
		}},
		{"a restarted scheduler continues where the old one stopped", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			j := e.take()
			e.s = e.scheduler()
			e.report(j, ci.StatusSuccess, 0)
			e.expect(p, "build:success test:pending", ci.StatusRunning)
		}},
		{"a pipeline without jobs keeps its status", func(e *env) {
			p := &ci.Pipeline{ProjectID: e.project.ID, Ref: "main", SHA: "abc", Source: ci.SourcePush, YAMLErrors: "bad yaml", Status: ci.StatusFailed}
			if err := e.db.CreatePipeline(e.ctx, p, nil); err != nil {
				e.t.Fatalf("CreatePipeline: %v", err)
			}
			if err := e.s.Advance(e.ctx, p.ID); err != nil {
				e.t.Fatalf("Advance: %v", err)
			}
			if got := e.pipeline(p).Status; got != ci.StatusFailed {
				e.t.Errorf("status = %s, want failed", got)
			}
		}},
	})
}
