package scheduler

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// cancelTarget is the status canceling moves a job in status s to: canceled
// for a job no runner holds, canceling for a running one (its runner is told
// and confirms), "" for a job that cannot be canceled.
func cancelTarget(s ci.Status) ci.Status {
	switch s {
	case ci.StatusCreated, ci.StatusWaitingForResource, ci.StatusPreparing, ci.StatusPending,
		ci.StatusManual, ci.StatusScheduled:
		return ci.StatusCanceled
	case ci.StatusRunning:
		return ci.StatusCanceling
	}
	return ""
}

// cancel moves j to its cancel target, reloading it when another caller (a
// runner taking it, say) moved it first. It reports false if j turned out not
// to be cancelable.
func (s *Scheduler) cancel(ctx context.Context, j *ci.Job) (bool, error) {
	for round := 0; round < maxRounds; round++ {
		to := cancelTarget(j.Status)
		if to == "" {
			return false, nil
		}
		if to == ci.StatusCanceling && (j.Bridge() || j.External()) {
			// No runner holds a bridge (its downstream pipeline is canceled
			// with it) or an external status.
			to = ci.StatusCanceled
		}
		c := *j
		c.Status = to
		if to == ci.StatusCanceled {
			c.FailureReason = ""
		}
		s.stamp(&c)
		err := s.updateJob(ctx, &c, j.Status)
		if err == nil {
			s.log.InfoContext(ctx, "job canceled", "job_id", j.ID, "pipeline_id", j.PipelineID, "status", to)
			return true, nil
		}
		if !ci.IsConflict(err) {
			return false, fmt.Errorf("canceling job %d: %w", j.ID, err)
		}
		if j, err = s.store.JobByID(ctx, j.ID); err != nil {
			return false, fmt.Errorf("reloading job %d: %w", c.ID, err)
		}
	}
	return false, ci.Errorf(ci.KindUnavailable, "job %d keeps changing; try again", j.ID)
}

// CancelPipeline cancels every job of the pipeline that has not finished:
// jobs no runner holds are canceled at once, running ones become canceling
// until their runner confirms (the runner API answers it with
// Job-Status: canceling). Later jobs are not started any more. Canceling a
// finished pipeline changes nothing. A missing pipeline is KindNotFound.
func (s *Scheduler) CancelPipeline(ctx context.Context, pipelineID int64) error {
	if _, err := s.store.PipelineByID(ctx, pipelineID); err != nil {
		return fmt.Errorf("loading pipeline %d: %w", pipelineID, err)
	}
	jobs, err := s.pipelineJobs(ctx, pipelineID, false)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if _, err := s.cancel(ctx, j); err != nil {
			return err
		}
	}
	return s.syncPipeline(ctx, pipelineID)
}

// CancelJob cancels one job: at once if no runner holds it, through canceling
// if one does. Jobs after it are then skipped (GitLab skips successors of a
// canceled job; only canceling the pipeline cancels them). A finished job is
// KindInvalid ("job is not cancelable"), a missing one KindNotFound.
func (s *Scheduler) CancelJob(ctx context.Context, jobID int64) error {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return fmt.Errorf("loading job %d: %w", jobID, err)
	}
	ok, err := s.cancel(ctx, j)
	if err != nil {
		return err
	}
	if !ok {
		return ci.Errorf(ci.KindInvalid, "job is not cancelable")
	}
	return s.Advance(ctx, j.PipelineID)
}

// ForceCancelJob stops a job at once, GitLab's "force cancel": a running
// or canceling job becomes canceled without waiting for its runner, which
// is answered 403 (Job-Status: canceled) on its next call and abandons the
// job without after_script; the job token dies with it. A job no runner
// holds is canceled as by CancelJob. A finished job is KindInvalid.
func (s *Scheduler) ForceCancelJob(ctx context.Context, jobID int64) error {
	for round := 0; round < maxRounds; round++ {
		j, err := s.store.JobByID(ctx, jobID)
		if err != nil {
			return fmt.Errorf("loading job %d: %w", jobID, err)
		}
		if !j.Status.Active() {
			return s.CancelJob(ctx, jobID)
		}
		err = s.finish(ctx, j, ci.StatusCanceled, "", CauseNone)
		if err != nil {
			return err
		}
		// finish treats a lost race as done: check that the job really ended.
		if j, err = s.store.JobByID(ctx, jobID); err != nil {
			return fmt.Errorf("reloading job %d: %w", jobID, err)
		}
		if !j.Status.Active() {
			return nil
		}
	}
	return ci.Errorf(ci.KindUnavailable, "job %d keeps changing; try again", jobID)
}
