package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/wake"
)

// sweepBatch bounds how many rows one sweep step reads at once.
const sweepBatch = 100

// Run sweeps every Options.Interval until ctx is canceled, then returns nil.
// Errors of one sweep are logged and the next sweep tries again. Several
// replicas may run it at once.
func (s *Scheduler) Run(ctx context.Context) error {
	return wake.Loop[struct{}](ctx, nil, func(ctx context.Context) time.Duration {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "sweeping jobs", "err", err)
		}
		return s.opts.Interval
	})
}

// Sweep does one round of the background work:
//   - a running job whose runner has been silent for StuckAfter fails
//     (runner_system_failure: its runner vanished);
//   - a canceling job its runner has not confirmed within CancelGrace is canceled;
//   - a running job past its timeout (plus TimeoutGrace) fails (job_execution_timeout);
//   - a job pending for PendingTimeout fails (stuck_or_timeout_failure);
//   - a delayed job whose time has come is released (ReleaseDue), should
//     RunDelayed have missed a wake-up;
//   - every unfinished pipeline is advanced, which repairs whatever a crash
//     between a job's final update and its JobFinished left behind.
//
// Failed jobs go through JobFinished, so retry:when applies to them.
func (s *Scheduler) Sweep(ctx context.Context) error {
	return errors.Join(s.sweepStale(ctx), s.sweepTimeouts(ctx), s.sweepPending(ctx), s.ReleaseDue(ctx), s.sweepPipelines(ctx))
}

func (s *Scheduler) sweepStale(ctx context.Context) error {
	now := s.opts.Now()
	stuckBefore, cancelBefore := now.Add(-s.opts.StuckAfter), now.Add(-s.opts.CancelGrace)
	jobs, err := s.store.ListStaleJobs(ctx, later(stuckBefore, cancelBefore), sweepBatch)
	if err != nil {
		return fmt.Errorf("listing stale jobs: %w", err)
	}
	var errs []error
	for _, j := range jobs {
		switch {
		case j.Status == ci.StatusRunning && j.UpdatedAt.Before(stuckBefore):
			// The runner vanished: a system failure, not the job's own.
			errs = append(errs, s.fail(ctx, j, ci.FailureRunnerSystem, CauseRunnerLost))
		case j.Status == ci.StatusCanceling && j.UpdatedAt.Before(cancelBefore):
			errs = append(errs, s.finish(ctx, j, ci.StatusCanceled, "", CauseNone))
		}
	}
	return errors.Join(errs...)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *Scheduler) sweepTimeouts(ctx context.Context) error {
	// Builds only: a bridge waits as long as its downstream pipeline runs,
	// an external status as long as its outside system says.
	jobs, _, err := s.store.ListJobs(ctx, ci.JobFilter{Statuses: []ci.Status{ci.StatusRunning}, Kind: ci.JobKindBuilds,
		Ascending: true, Page: ci.Page{Page: 1}, ScheduleOnly: true})
	if err != nil {
		return fmt.Errorf("listing running jobs: %w", err)
	}
	now := s.opts.Now()
	var errs []error
	for _, j := range jobs {
		if j.StartedAt == nil {
			continue
		}
		if now.Sub(*j.StartedAt) > s.opts.JobTimeout(ctx, j)+s.opts.TimeoutGrace {
			errs = append(errs, s.fail(ctx, j, ci.FailureJobTimeout, CauseServerTimeout))
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) sweepPending(ctx context.Context) error {
	jobs, _, err := s.store.ListJobs(ctx, ci.JobFilter{Statuses: []ci.Status{ci.StatusPending}, Ascending: true, Page: ci.Page{Page: 1}, ScheduleOnly: true})
	if err != nil {
		return fmt.Errorf("listing pending jobs: %w", err)
	}
	before := s.opts.Now().Add(-s.opts.PendingTimeout)
	var errs []error
	for _, j := range jobs {
		if j.QueuedAt != nil && j.QueuedAt.Before(before) && !j.External() { // no runner waits for an external status
			errs = append(errs, s.fail(ctx, j, ci.FailureStuck, CauseStuckPending))
		}
	}
	return errors.Join(errs...)
}

// unfinished are the pipeline statuses the repair sweep advances.
var unfinished = []ci.Status{ci.StatusCreated, ci.StatusWaitingForResource, ci.StatusPreparing,
	ci.StatusPending, ci.StatusRunning, ci.StatusCanceling, ci.StatusManual, ci.StatusScheduled}

func (s *Scheduler) sweepPipelines(ctx context.Context) error {
	var errs []error
	for page := 1; ; page++ {
		ps, _, err := s.store.ListPipelines(ctx, ci.PipelineFilter{
			Statuses: unfinished, OrderBy: "id", Sort: "asc", Page: ci.Page{Page: page, PerPage: sweepBatch},
		})
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("listing unfinished pipelines: %w", err))...)
		}
		for _, p := range ps {
			if err := s.Advance(ctx, p.ID); err != nil && !ci.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("advancing pipeline %d: %w", p.ID, err))
			}
		}
		if len(ps) < sweepBatch || ctx.Err() != nil {
			return errors.Join(errs...)
		}
	}
}

// fail fails an unfinished job for reason, detected as cause, and runs
// JobFinished on it.
func (s *Scheduler) fail(ctx context.Context, j *ci.Job, reason, cause string) error {
	s.log.WarnContext(ctx, "failing job", "job_id", j.ID, "pipeline_id", j.PipelineID, "failure_reason", reason)
	return s.finish(ctx, j, ci.StatusFailed, reason, cause)
}

// finish moves j from its current status to a final one, unless someone
// moved it first, and runs JobFinished on it.
func (s *Scheduler) finish(ctx context.Context, j *ci.Job, to ci.Status, reason, cause string) error {
	c := *j
	c.Status, c.FailureReason = to, reason
	s.stamp(&c)
	err := s.updateJob(ctx, &c, j.Status)
	if ci.IsConflict(err) {
		return nil // the runner reported, or another replica was faster
	}
	if err != nil {
		return fmt.Errorf("moving job %d to %s: %w", j.ID, to, err)
	}
	if err := s.jobFinished(ctx, j.ID, false, cause); err != nil {
		return fmt.Errorf("finishing job %d: %w", j.ID, err)
	}
	return nil
}
