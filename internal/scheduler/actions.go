package scheduler

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// JobFinished is called after a job reached a final status (the runner API
// saved it with UpdateJob). A failed job that ShouldRetry gets a new attempt,
// pending at once, unless its pipeline is being canceled; then the pipeline advances and its status is updated.
// Calling it twice for one job is harmless. A missing job is KindNotFound.
func (s *Scheduler) JobFinished(ctx context.Context, jobID int64) error {
	return s.jobFinished(ctx, jobID, true, CauseNone)
}

// jobFinished is JobFinished; tell says whether Events and Resources still
// have to hear of the job's final status (not when the scheduler's own
// updateJob finished it, which told them); cause is why the scheduler
// failed it, if it did (ShouldRetryCause).
func (s *Scheduler) jobFinished(ctx context.Context, jobID int64, tell bool, cause string) error {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return fmt.Errorf("loading job %d: %w", jobID, err)
	}
	if tell {
		s.opts.Events.Job(ctx, j)
		s.resources(ctx, j)
	}
	s.recordCoverage(ctx, j)
	retry := ShouldRetryCause(j, cause)
	if retry {
		// A job that failed while its pipeline was being canceled stays failed.
		p, err := s.store.PipelineByID(ctx, j.PipelineID)
		if err != nil {
			return fmt.Errorf("loading pipeline %d: %w", j.PipelineID, err)
		}
		retry = p.Status != ci.StatusCanceling && p.Status != ci.StatusCanceled
	}
	if retry {
		next, err := s.newAttempt(ctx, j, 0, true)
		switch {
		case ci.IsConflict(err): // another replica retried it already
		case err != nil:
			return err
		default:
			s.log.InfoContext(ctx, "job retried automatically", "job_id", j.ID, "new_job_id", next.ID,
				"failure_reason", j.FailureReason, "attempt", next.Attempt)
		}
	}
	if j.Attempt > 1 {
		// An Advance that read the pipeline just before this attempt was
		// made may have skipped jobs after it on the strength of the failed
		// attempt; let them be decided again now that this one finished.
		if err := s.reopen(ctx, j.PipelineID, j); err != nil {
			return err
		}
	}
	return s.Advance(ctx, j.PipelineID)
}

// JobStarted is called after a runner took a job (AssignNextJob); it brings
// the pipeline's status (running) and StartedAt up to date. A missing job is
// KindNotFound.
func (s *Scheduler) JobStarted(ctx context.Context, jobID int64) error {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return fmt.Errorf("loading job %d: %w", jobID, err)
	}
	s.opts.Events.Job(ctx, j)
	return s.syncPipeline(ctx, j.PipelineID)
}

// newAttempt stores a new attempt of old. With immediate (retries of single
// jobs, as GitLab's RetryJobService) it is pending, or skipped, at once if the
// jobs before it are complete, even for a manual job; otherwise it is created
// and Advance decides. old being retried already is KindConflict.
func (s *Scheduler) newAttempt(ctx context.Context, old *ci.Job, userID int64, immediate bool) (*ci.Job, error) {
	next := nextAttempt(old, userID)
	now := s.opts.Now()
	next.CreatedAt, next.UpdatedAt = now, now
	if immediate {
		jobs, err := s.pipelineJobs(ctx, old.PipelineID, false)
		if err != nil {
			return nil, err
		}
		for i, j := range jobs {
			if j.ID == old.ID {
				jobs[i] = next
			}
		}
		g := newGraph(jobs)
		for i, j := range g.jobs {
			if j == next {
				if to, ok := g.decide(i, true); ok {
					next.Status = to
					s.stamp(next)
				}
			}
		}
	}
	if err := s.store.RetryJob(ctx, old, next); err != nil {
		return nil, fmt.Errorf("retrying job %d: %w", old.ID, err)
	}
	if next.Status == ci.StatusPending {
		s.opts.Notify()
	}
	s.resources(ctx, next)
	return next, nil
}

// RetryJob starts a new attempt of a finished job (success, failed or
// canceled) for userID: pending if its turn has come, created otherwise. Skipped
// jobs after it are re-opened and the pipeline runs again. A job that is not
// finished or not the latest attempt is KindInvalid; losing a race to another
// retry of it is KindConflict; a missing job is KindNotFound.
func (s *Scheduler) RetryJob(ctx context.Context, jobID, userID int64) (*ci.Job, error) {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("loading job %d: %w", jobID, err)
	}
	if !retryable(j) {
		return nil, ci.Errorf(ci.KindInvalid, "job is not retryable")
	}
	next, err := s.newAttempt(ctx, j, userID, true)
	if err != nil {
		return nil, err
	}
	if err := s.reopen(ctx, j.PipelineID, next); err != nil {
		return nil, err
	}
	if err := s.Advance(ctx, j.PipelineID); err != nil {
		return nil, err
	}
	return s.reload(ctx, next.ID)
}

// reopen moves the skipped jobs after from back to created, so Advance decides
// them again (GitLab's ResetSkippedJobsService).
func (s *Scheduler) reopen(ctx context.Context, pipelineID int64, from ...*ci.Job) error {
	jobs, err := s.pipelineJobs(ctx, pipelineID, false)
	if err != nil {
		return err
	}
	return s.reset(ctx, Downstream(jobs, from...))
}

// reset moves skipped jobs back to created; a job someone moved meanwhile is left alone.
func (s *Scheduler) reset(ctx context.Context, jobs []*ci.Job) error {
	for _, j := range jobs {
		c := *j
		c.Status = ci.StatusCreated
		c.UpdatedAt = s.opts.Now()
		if err := s.updateJob(ctx, &c, ci.StatusSkipped); err != nil && !ci.IsConflict(err) {
			return fmt.Errorf("re-opening job %d: %w", j.ID, err)
		}
	}
	return nil
}

// RetryPipeline retries every failed or canceled job of the pipeline (new
// attempts, created) and re-opens all its skipped jobs, then advances it, as
// GitLab's RetryPipelineService. A pipeline with nothing to retry is left as
// it is. A missing pipeline is KindNotFound.
func (s *Scheduler) RetryPipeline(ctx context.Context, pipelineID, userID int64) error {
	if _, err := s.store.PipelineByID(ctx, pipelineID); err != nil {
		return fmt.Errorf("loading pipeline %d: %w", pipelineID, err)
	}
	jobs, err := s.pipelineJobs(ctx, pipelineID, false)
	if err != nil {
		return err
	}
	var skippedJobs []*ci.Job
	for _, j := range jobs {
		switch {
		case j.External(): // GitLab retries builds and bridges, not external statuses
		case j.Status == ci.StatusFailed || j.Status == ci.StatusCanceled:
			// The listing holds only the scheduling part of each spec; a new
			// attempt copies the whole one.
			full, err := s.store.JobByID(ctx, j.ID)
			if err != nil {
				return fmt.Errorf("loading job %d: %w", j.ID, err)
			}
			if _, err := s.newAttempt(ctx, full, userID, false); err != nil && !ci.IsConflict(err) {
				return err
			}
		case j.Status == ci.StatusSkipped:
			skippedJobs = append(skippedJobs, j)
		}
	}
	if err := s.reset(ctx, skippedJobs); err != nil {
		return err
	}
	return s.Advance(ctx, pipelineID)
}

// PlayJob starts a manual job for userID: pending at once. Playing a manual
// job that already finished retries it. Jobs that were skipped because they
// need it are re-opened. A job that is not manual is KindInvalid ("job is not
// playable"), losing a race for it KindConflict, a missing job KindNotFound.
func (s *Scheduler) PlayJob(ctx context.Context, jobID, userID int64) (*ci.Job, error) {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("loading job %d: %w", jobID, err)
	}
	switch {
	case j.Status == ci.StatusManual || j.Status == ci.StatusScheduled:
	case j.Spec.When == ci.WhenManual && retryable(j):
		return s.RetryJob(ctx, jobID, userID)
	default:
		return nil, ci.Errorf(ci.KindInvalid, "job is not playable")
	}
	from := j.Status
	j.Status = ready(&j.Spec)
	j.UserID = userID
	s.stamp(j)
	if err := s.updateJob(ctx, j, from); err != nil {
		if ci.IsConflict(err) {
			return nil, ci.Wrap(ci.KindConflict, err, "job is not playable")
		}
		return nil, fmt.Errorf("playing job %d: %w", jobID, err)
	}
	s.opts.Notify()
	if err := s.reopen(ctx, j.PipelineID, j); err != nil {
		return nil, err
	}
	if err := s.Advance(ctx, j.PipelineID); err != nil {
		return nil, err
	}
	return s.reload(ctx, j.ID)
}

func (s *Scheduler) reload(ctx context.Context, jobID int64) (*ci.Job, error) {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("reloading job %d: %w", jobID, err)
	}
	return j, nil
}
