package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/wake"
)

// DelayedChannel is the store notification channel Options.Delayed sends
// on and RunDelayed's wake listens to.
const DelayedChannel = "baton_jobs_scheduled"

// RunDelayed releases delayed jobs when they fall due, until ctx ends (then
// it returns nil). It sleeps until the earliest ScheduledAt the store holds,
// with no polling in between, and re-reads it whenever woken delivers (a
// job became scheduled, on this replica or another: store.DB.Listen on
// DelayedChannel; a closed woken is ignored). Everything is read from the
// store, so a restart loses nothing and replicas may run it at once: each
// job is released by one compare-and-set. Sweep releases due jobs too, so
// a lost wake-up costs at most one Interval.
func (s *Scheduler) RunDelayed(ctx context.Context, woken <-chan string) error {
	return wake.Loop(ctx, woken, func(ctx context.Context) time.Duration {
		if err := s.ReleaseDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "releasing delayed jobs", "err", err)
		}
		next, err := s.store.NextScheduledAt(ctx)
		switch {
		case err == nil:
			return max(next.Sub(s.opts.Now()), 0)
		case ci.IsNotFound(err):
			return -1 // nothing scheduled: sleep until woken
		case ctx.Err() == nil:
			s.log.ErrorContext(ctx, "reading the next delayed job", "err", err)
		}
		return s.opts.Interval // after an error, try again later
	})
}

// StaleScheduleAfter is how long past its ScheduledAt a delayed job still
// scheduled (Baton was down) is failed with stale_schedule instead of
// released: GitLab's BUILD_SCHEDULED_OUTDATED_TIMEOUT.
const StaleScheduleAfter = time.Hour

// ReleaseDue moves the scheduled jobs whose ScheduledAt has come to
// pending, as GitLab's Ci::RunScheduledBuildService, and advances their
// pipelines; one more than StaleScheduleAfter late fails (stale_schedule,
// which retry:when may retry). A job another replica released, or a user
// played or unscheduled, first is left alone.
func (s *Scheduler) ReleaseDue(ctx context.Context) error {
	var errs []error
	for {
		now := s.opts.Now()
		jobs, err := s.store.ListDueScheduledJobs(ctx, now, sweepBatch)
		if err != nil {
			return fmt.Errorf("listing due delayed jobs: %w", err)
		}
		released := 0
		pipelines := map[int64]bool{}
		for _, j := range jobs {
			if j.ScheduledAt != nil && now.Sub(*j.ScheduledAt) > StaleScheduleAfter {
				errs = append(errs, s.fail(ctx, j, ci.FailureStaleSchedule, CauseNone))
				released++
				continue
			}
			j.Status = ci.StatusPending
			s.stamp(j)
			err := s.updateJob(ctx, j, ci.StatusScheduled)
			if ci.IsConflict(err) || ci.IsNotFound(err) {
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("releasing job %d: %w", j.ID, err))
				continue
			}
			released++
			pipelines[j.PipelineID] = true
			s.log.InfoContext(ctx, "delayed job released", "job_id", j.ID, "pipeline_id", j.PipelineID)
		}
		if released > 0 {
			s.opts.Notify()
		}
		for id := range pipelines {
			if err := s.Advance(ctx, id); err != nil {
				errs = append(errs, err)
			}
		}
		if len(jobs) < sweepBatch || released == 0 {
			return errors.Join(errs...)
		}
	}
}

// UnscheduleJob turns a scheduled (delayed) job into a manual one, as
// GitLab's unschedule: it then waits to be played. A job that is not
// scheduled is KindInvalid, losing a race for it KindConflict, a missing
// job KindNotFound.
func (s *Scheduler) UnscheduleJob(ctx context.Context, jobID, userID int64) (*ci.Job, error) {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("loading job %d: %w", jobID, err)
	}
	if j.Status != ci.StatusScheduled {
		return nil, ci.Errorf(ci.KindInvalid, "job is not scheduled")
	}
	j.Status = ci.StatusManual
	j.UserID = userID
	s.stamp(j)
	if err := s.updateJob(ctx, j, ci.StatusScheduled); err != nil {
		if ci.IsConflict(err) {
			return nil, ci.Wrap(ci.KindConflict, err, "job is not scheduled")
		}
		return nil, fmt.Errorf("unscheduling job %d: %w", jobID, err)
	}
	if err := s.syncPipeline(ctx, j.PipelineID); err != nil {
		return nil, err
	}
	return s.reload(ctx, j.ID)
}
