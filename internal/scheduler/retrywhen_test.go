package scheduler

import (
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestRetryWhenDetected fails jobs the ways the scheduler detects itself
// (runner lost, server-side timeout, pending too long, a delayed job an
// hour late) and checks which retry:when values bring a new attempt:
// GitLab's names for each case, and only those.
func TestRetryWhenDetected(t *testing.T) {
	type detect func(e *env) *ci.Pipeline
	runnerLost := func(when string) detect {
		return func(e *env) *ci.Pipeline {
			p := e.create(spec("build", "build", sRetry(1, when)))
			e.take()
			e.clock.Add(11 * time.Minute)
			e.sweep()
			return p
		}
	}
	serverTimeout := func(when string) detect {
		return func(e *env) *ci.Pipeline {
			p := e.create(spec("build", "build", sTimeout(60), sRetry(1, when)))
			e.take()
			// Keep the runner alive so that only the timeout applies.
			for range 4 {
				e.clock.Add(time.Minute)
				if err := e.db.TouchJob(e.ctx, e.job(p, "build").ID, e.clock.Now()); err != nil {
					e.t.Fatal(err)
				}
			}
			e.sweep()
			return p
		}
	}
	stuckPending := func(when string) detect {
		return func(e *env) *ci.Pipeline {
			p := e.create(spec("build", "build", sRetry(1, when)))
			e.clock.Add(25 * time.Hour)
			e.sweep()
			return p
		}
	}
	staleSchedule := func(when string) detect {
		return func(e *env) *ci.Pipeline {
			p := e.create(spec("build", "build", sDelayed(60), sRetry(1, when)))
			e.clock.Add(2 * time.Hour)
			if err := e.s.ReleaseDue(e.ctx); err != nil {
				e.t.Fatal(err)
			}
			return p
		}
	}
	tests := []struct {
		name    string
		run     detect
		reason  string
		retried bool
	}{
		{"runner lost, runner_interrupted", runnerLost("runner_interrupted"), ci.FailureRunnerSystem, true},
		{"runner lost, runner_system_failure", runnerLost(ci.FailureRunnerSystem), ci.FailureRunnerSystem, true},
		{"runner lost, stuck_or_timeout_failure", runnerLost(ci.FailureStuck), ci.FailureRunnerSystem, true},
		{"runner lost, no_updates_running", runnerLost("no_updates_running"), ci.FailureRunnerSystem, true},
		{"runner lost, script_failure", runnerLost(ci.FailureScriptFailure), ci.FailureRunnerSystem, false},
		{"runner lost, server_timeout_running", runnerLost("server_timeout_running"), ci.FailureRunnerSystem, false},
		{"server timeout, stuck_or_timeout_failure", serverTimeout(ci.FailureStuck), ci.FailureJobTimeout, true},
		{"server timeout, server_timeout_running", serverTimeout("server_timeout_running"), ci.FailureJobTimeout, true},
		{"server timeout, runner_interrupted", serverTimeout("runner_interrupted"), ci.FailureJobTimeout, false},
		{"stuck pending, stuck_or_timeout_failure", stuckPending(ci.FailureStuck), ci.FailureStuck, true},
		{"stuck pending, stuck_pending_no_matching_runners", stuckPending("stuck_pending_no_matching_runners"), ci.FailureStuck, true},
		{"stuck pending, runner_interrupted", stuckPending("runner_interrupted"), ci.FailureStuck, false},
		{"stale schedule, stale_schedule", staleSchedule(ci.FailureStaleSchedule), ci.FailureStaleSchedule, true},
		{"stale schedule, scheduler_failure", staleSchedule(ci.FailureScheduler), ci.FailureStaleSchedule, false},
	}
	forEachEngine(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, open(t))
				p := tt.run(e)
				all, _, err := e.db.ListJobs(e.ctx, ci.JobFilter{PipelineID: p.ID, IncludeRetried: true, Ascending: true, Page: ci.Page{Page: 1}})
				if err != nil {
					t.Fatal(err)
				}
				if all[0].Status != ci.StatusFailed || all[0].FailureReason != tt.reason {
					t.Fatalf("first attempt: %s %q, want failed %q", all[0].Status, all[0].FailureReason, tt.reason)
				}
				if retried := len(all) == 2; retried != tt.retried {
					t.Errorf("retried %v, want %v (%d attempts)", retried, tt.retried, len(all))
				}
			})
		}
	})
}
