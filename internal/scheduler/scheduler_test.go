package scheduler

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// runScenarios runs each scenario on a fresh store of every engine.
func runScenarios(t *testing.T, scenarios []scenario) {
	forEachEngine(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		for _, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				sc.run(newEnv(t, open(t)))
			})
		}
	})
}

type scenario struct {
	name string
	run  func(e *env)
}

func TestPipelineLifecycle(t *testing.T) {
	runScenarios(t, []scenario{
		{"stages run in order", func(e *env) {
			p := e.create(spec("build", "build"), spec("unit", "test"), spec("lint", "test"), spec("ship", "deploy"))
			e.expect(p, "build:pending lint:created ship:created unit:created", ci.StatusPending)
			if e.notified.Load() == 0 {
				e.t.Error("no notification for the first pending job")
			}
			if p.IID != 1 || p.Status != ci.StatusPending {
				e.t.Errorf("persisting and advancing left p = %+v", p)
			}
			jobs := e.takeAll()
			e.expect(p, "build:running lint:created ship:created unit:created", ci.StatusPending)
			if err := e.s.JobStarted(e.ctx, jobs["build"].ID); err != nil {
				e.t.Fatalf("JobStarted: %v", err)
			}
			e.expect(p, "build:running lint:created ship:created unit:created", ci.StatusRunning)
			if e.pipeline(p).StartedAt == nil {
				e.t.Error("pipeline StartedAt not set once a job started")
			}
			e.report(jobs["build"], ci.StatusSuccess, 0)
			e.expect(p, "build:success lint:pending ship:created unit:pending", ci.StatusRunning)
			jobs = e.takeAll()
			e.report(jobs["unit"], ci.StatusSuccess, 0)
			e.expect(p, "build:success lint:running ship:created unit:success", ci.StatusRunning)
			e.report(jobs["lint"], ci.StatusSuccess, 0)
			e.expect(p, "build:success lint:success ship:pending unit:success", ci.StatusRunning)
			e.report(e.takeAll()["ship"], ci.StatusSuccess, 0)
			e.expect(p, "build:success lint:success ship:success unit:success", ci.StatusSuccess)
			if got := e.pipeline(p); got.FinishedAt == nil || got.StartedAt == nil {
				e.t.Errorf("finished pipeline times: started %v finished %v", got.StartedAt, got.FinishedAt)
			}
		}},
		{"failure skips later stages and runs on_failure and always jobs", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"), spec("ship", "deploy"),
				spec("cleanup", "deploy", sWhen(ci.WhenOnFailure)), spec("report", ".post", sWhen(ci.WhenAlways)))
			e.report(e.takeAll()["build"], ci.StatusSuccess, 0)
			e.report(e.takeAll()["test"], ci.StatusFailed, 1)
			e.expect(p, "build:success cleanup:pending report:created ship:skipped test:failed", ci.StatusRunning)
			e.report(e.takeAll()["cleanup"], ci.StatusSuccess, 0)
			e.expect(p, "build:success cleanup:success report:pending ship:skipped test:failed", ci.StatusRunning)
			e.report(e.takeAll()["report"], ci.StatusSuccess, 0)
			e.expect(p, "build:success cleanup:success report:success ship:skipped test:failed", ci.StatusFailed)
			if e.pipeline(p).FinishedAt == nil {
				e.t.Error("failed pipeline has no FinishedAt")
			}
		}},
		{"a skip decided before a retry existed is undone when the retry succeeds", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			e.report(e.takeAll()["build"], ci.StatusFailed, 1)
			e.expect(p, "build:failed test:skipped", ci.StatusFailed)
			// The retry, then a stale Advance's skip landing after its re-open.
			next, err := e.s.RetryJob(e.ctx, e.job(p, "build").ID, 0)
			if err != nil {
				e.t.Fatalf("RetryJob: %v", err)
			}
			stale := e.job(p, "test")
			stale.Status = ci.StatusSkipped
			if err := e.db.UpdateJob(e.ctx, stale, ci.StatusCreated); err != nil {
				e.t.Fatalf("skipping test: %v", err)
			}
			e.report(e.takeAll()["build"], ci.StatusSuccess, 0)
			if next.Attempt != 2 {
				e.t.Fatalf("retry attempt %d", next.Attempt)
			}
			e.expect(p, "build:success test:pending", ci.StatusRunning)
		}},
		{"allowed exit code passes with warnings", func(e *env) {
			p := e.create(spec("lint", "test", sAllowCodes(3)), spec("ship", "deploy"))
			e.report(e.takeAll()["lint"], ci.StatusFailed, 3)
			e.expect(p, "lint:failed ship:pending", ci.StatusPending)
			e.report(e.takeAll()["ship"], ci.StatusSuccess, 0)
			e.expect(p, "lint:failed ship:success", ci.StatusSuccess)
			jobs, _, _ := e.db.ListJobs(e.ctx, ci.JobFilter{PipelineID: p.ID, Page: ci.Page{Page: 1}})
			if !HasWarnings(jobs) {
				e.t.Error("HasWarnings = false for an allowed failure")
			}
		}},
		{"other exit code fails", func(e *env) {
			p := e.create(spec("lint", "test", sAllowCodes(3)), spec("ship", "deploy"))
			e.report(e.takeAll()["lint"], ci.StatusFailed, 1)
			e.expect(p, "lint:failed ship:skipped", ci.StatusFailed)
		}},
		{"needs start a job before its stage's turn", func(e *env) {
			p := e.create(spec("build-a", "build"), spec("build-b", "build"),
				spec("test-a", "test", sNeeds("build-a")), spec("test-all", "test"), spec("early", "deploy", sNeeds()))
			e.expect(p, "build-a:pending build-b:pending early:pending test-a:created test-all:created", ci.StatusPending)
			jobs := e.takeAll()
			e.report(jobs["build-a"], ci.StatusSuccess, 0)
			e.expect(p, "build-a:success build-b:running early:running test-a:pending test-all:created", ci.StatusRunning)
			e.report(jobs["build-b"], ci.StatusFailed, 1)
			e.expect(p, "build-a:success build-b:failed early:running test-a:pending test-all:skipped", ci.StatusRunning)
		}},
		{"automatic retry makes a new pending attempt", func(e *env) {
			p := e.create(spec("test", "test", sRetry(1, ci.FailureScriptFailure)), spec("ship", "deploy"))
			first := e.takeAll()["test"]
			e.report(first, ci.StatusFailed, 1)
			e.expect(p, "ship:created test:pending", ci.StatusPending)
			second := e.takeAll()["test"]
			if second.Attempt != 2 || second.ID == first.ID {
				e.t.Errorf("second attempt = %d (id %d, first %d)", second.Attempt, second.ID, first.ID)
			}
			e.report(second, ci.StatusFailed, 1)
			e.expect(p, "ship:skipped test:failed", ci.StatusFailed)
			all, _, _ := e.db.ListJobs(e.ctx, ci.JobFilter{PipelineID: p.ID, Name: "test", IncludeRetried: true, Page: ci.Page{Page: 1}})
			if len(all) != 2 {
				e.t.Errorf("%d attempts of test, want 2", len(all))
			}
			if err := e.s.JobFinished(e.ctx, first.ID); err != nil {
				e.t.Errorf("JobFinished again on the first attempt: %v", err)
			}
			e.expect(p, "ship:skipped test:failed", ci.StatusFailed)
		}},
		{"no automatic retry in a canceled pipeline", func(e *env) {
			p := e.create(spec("test", "test", sRetry(2)), spec("ship", "deploy"))
			j := e.take()
			if err := e.s.CancelPipeline(e.ctx, p.ID); err != nil {
				e.t.Fatalf("CancelPipeline: %v", err)
			}
			e.report(j, ci.StatusFailed, 1)
			e.expect(p, "ship:canceled test:failed", ci.StatusFailed)
		}},
		{"blocking manual job holds the pipeline until played", func(e *env) {
			p := e.create(spec("build", "build"), spec("approve", "test", sWhen(ci.WhenManual)), spec("ship", "deploy"))
			e.report(e.takeAll()["build"], ci.StatusSuccess, 0)
			e.expect(p, "approve:manual build:success ship:created", ci.StatusManual)
			if _, err := e.s.PlayJob(e.ctx, e.job(p, "ship").ID, 1); ci.KindOf(err) != ci.KindInvalid {
				e.t.Errorf("PlayJob on a created job: %v, want invalid", err)
			}
			played, err := e.s.PlayJob(e.ctx, e.job(p, "approve").ID, 7)
			if err != nil {
				e.t.Fatalf("PlayJob: %v", err)
			}
			if played.Status != ci.StatusPending || played.QueuedAt == nil {
				e.t.Errorf("played job = %s, queued at %v", played.Status, played.QueuedAt)
			}
			e.expect(p, "approve:pending build:success ship:created", ci.StatusRunning)
			e.report(e.takeAll()["approve"], ci.StatusSuccess, 0)
			e.expect(p, "approve:success build:success ship:pending", ci.StatusRunning)
		}},
		{"non-blocking manual job lets the pipeline pass and re-opens its needs when played", func(e *env) {
			p := e.create(spec("build", "build"), spec("review", "test", sWhen(ci.WhenManual), sAllowFailure),
				spec("stop", "deploy", sNeeds("review")), spec("ship", "deploy"))
			e.report(e.takeAll()["build"], ci.StatusSuccess, 0)
			e.expect(p, "build:success review:manual ship:pending stop:skipped", ci.StatusRunning)
			e.report(e.takeAll()["ship"], ci.StatusSuccess, 0)
			e.expect(p, "build:success review:manual ship:success stop:skipped", ci.StatusSuccess)
			if _, err := e.s.PlayJob(e.ctx, e.job(p, "review").ID, 1); err != nil {
				e.t.Fatalf("PlayJob: %v", err)
			}
			e.expect(p, "build:success review:pending ship:success stop:created", ci.StatusRunning)
			if e.pipeline(p).FinishedAt != nil {
				e.t.Error("re-opened pipeline keeps its FinishedAt")
			}
			e.report(e.takeAll()["review"], ci.StatusSuccess, 0)
			e.report(e.takeAll()["stop"], ci.StatusSuccess, 0)
			e.expect(p, "build:success review:success ship:success stop:success", ci.StatusSuccess)
			again, err := e.s.PlayJob(e.ctx, e.job(p, "review").ID, 1)
			if err != nil || again.Attempt != 2 || again.Status != ci.StatusPending {
				e.t.Fatalf("PlayJob on a finished manual job = %+v, %v; want a pending retry", again, err)
			}
		}},
	})
}

func TestCancelAndRetry(t *testing.T) {
	runScenarios(t, []scenario{
		{"cancel pipeline", func(e *env) {
			p := e.create(spec("build-a", "build"), spec("build-b", "build"), spec("test", "test"),
				spec("approve", "build", sWhen(ci.WhenManual)))
			a := e.take()
			e.expect(p, "approve:manual build-a:running build-b:pending test:created", ci.StatusRunning)
			if err := e.s.CancelPipeline(e.ctx, p.ID); err != nil {
				e.t.Fatalf("CancelPipeline: %v", err)
			}
			e.expect(p, "approve:canceled build-a:canceling build-b:canceled test:canceled", ci.StatusCanceling)
			e.report(a, ci.StatusCanceled, 0)
			e.expect(p, "approve:canceled build-a:canceled build-b:canceled test:canceled", ci.StatusCanceled)
			if e.pipeline(p).FinishedAt == nil {
				e.t.Error("canceled pipeline has no FinishedAt")
			}
			if err := e.s.CancelPipeline(e.ctx, p.ID); err != nil {
				e.t.Errorf("CancelPipeline on a canceled pipeline: %v", err)
			}
			if err := e.s.CancelPipeline(e.ctx, p.ID+100); !ci.IsNotFound(err) {
				e.t.Errorf("CancelPipeline on a missing pipeline: %v", err)
			}
		}},
		{"cancel one job skips the later ones", func(e *env) {
			p := e.create(spec("build", "build"), spec("lint", "build"), spec("test", "test"))
			build := e.job(p, "build")
			if err := e.s.CancelJob(e.ctx, build.ID); err != nil {
				e.t.Fatalf("CancelJob: %v", err)
			}
			e.expect(p, "build:canceled lint:pending test:created", ci.StatusRunning)
			e.report(e.takeAll()["lint"], ci.StatusSuccess, 0)
			e.expect(p, "build:canceled lint:success test:skipped", ci.StatusCanceled)
			if err := e.s.CancelJob(e.ctx, build.ID); ci.KindOf(err) != ci.KindInvalid {
				e.t.Errorf("CancelJob on a canceled job: %v, want invalid", err)
			}
		}},
		{"cancel a running job goes through canceling", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			j := e.take()
			if err := e.s.CancelJob(e.ctx, j.ID); err != nil {
				e.t.Fatalf("CancelJob: %v", err)
			}
			e.expect(p, "build:canceling test:created", ci.StatusRunning)
			e.report(j, ci.StatusCanceled, 0)
			e.expect(p, "build:canceled test:skipped", ci.StatusCanceled)
		}},
		{"retry a failed job re-opens skipped ones", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"), spec("ship", "deploy"))
			build := e.takeAll()["build"]
			e.report(build, ci.StatusFailed, 1)
			e.expect(p, "build:failed ship:skipped test:skipped", ci.StatusFailed)
			next, err := e.s.RetryJob(e.ctx, build.ID, 9)
			if err != nil {
				e.t.Fatalf("RetryJob: %v", err)
			}
			if next.Status != ci.StatusPending || next.Attempt != 2 || next.UserID != 9 || next.ID == build.ID {
				e.t.Errorf("retried job = %+v", next)
			}
			e.expect(p, "build:pending ship:created test:created", ci.StatusPending)
			if e.pipeline(p).FinishedAt != nil {
				e.t.Error("retried pipeline keeps its FinishedAt")
			}
			if _, err := e.s.RetryJob(e.ctx, build.ID, 9); ci.KindOf(err) != ci.KindInvalid {
				e.t.Errorf("RetryJob on the old attempt: %v, want invalid", err)
			}
			running := e.takeAll()["build"]
			if _, err := e.s.RetryJob(e.ctx, running.ID, 9); ci.KindOf(err) != ci.KindInvalid {
				e.t.Errorf("RetryJob on a running job: %v, want invalid", err)
			}
			e.report(running, ci.StatusSuccess, 0)
			e.report(e.takeAll()["test"], ci.StatusSuccess, 0)
			e.report(e.takeAll()["ship"], ci.StatusSuccess, 0)
			e.expect(p, "build:success ship:success test:success", ci.StatusSuccess)
		}},
		{"retry a job whose turn has not come yet again", func(e *env) {
			p := e.create(spec("build", "build"), spec("test", "test"))
			e.report(e.takeAll()["build"], ci.StatusSuccess, 0)
			test := e.takeAll()["test"]
			e.report(test, ci.StatusSuccess, 0)
			if _, err := e.s.RetryJob(e.ctx, e.job(p, "build").ID, 1); err != nil {
				e.t.Fatalf("RetryJob: %v", err)
			}
			e.expect(p, "build:pending test:success", ci.StatusRunning)
		}},
		{"retry pipeline", func(e *env) {
			p := e.create(spec("build-a", "build"), spec("build-b", "build"), spec("test", "test"),
				spec("fix", "test", sWhen(ci.WhenOnFailure)))
			jobs := e.takeAll()
			e.report(jobs["build-a"], ci.StatusFailed, 1)
			e.report(jobs["build-b"], ci.StatusSuccess, 0)
			e.report(e.takeAll()["fix"], ci.StatusSuccess, 0)
			e.expect(p, "build-a:failed build-b:success fix:success test:skipped", ci.StatusFailed)
			if err := e.s.RetryPipeline(e.ctx, p.ID, 3); err != nil {
				e.t.Fatalf("RetryPipeline: %v", err)
			}
			e.expect(p, "build-a:pending build-b:success fix:success test:created", ci.StatusRunning)
			if j := e.job(p, "build-a"); j.UserID != 3 || j.Attempt != 2 {
				e.t.Errorf("retried job user %d attempt %d", j.UserID, j.Attempt)
			}
			e.report(e.takeAll()["build-a"], ci.StatusSuccess, 0)
			e.report(e.takeAll()["test"], ci.StatusSuccess, 0)
			e.expect(p, "build-a:success build-b:success fix:success test:success", ci.StatusSuccess)
		}},
	})
}
