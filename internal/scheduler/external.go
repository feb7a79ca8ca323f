package scheduler

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// ReportExternal sets the external commit status name of pipeline pl to
// st for userID, as GitLab's CreateCommitStatusService: the current job of
// that name moves to st while it is pending or running; once it finished
// (or when there is none) a new job is created, the finished one marked
// retried. The pipeline's status then follows its jobs: a pending or
// running status keeps it running, a failed one fails it.
func (s *Scheduler) ReportExternal(ctx context.Context, pl *ci.Pipeline, name string, st ci.Status, userID int64) (*ci.Job, error) {
	for round := 0; ; round++ {
		j, err := s.reportExternal(ctx, pl, name, st, userID)
		if ci.IsConflict(err) && round < maxRounds {
			continue // another report of the same name moved it first
		}
		if err != nil {
			return nil, err
		}
		s.opts.Events.Job(ctx, j)
		if !j.Status.Finished() {
			return j, s.syncPipeline(ctx, pl.ID)
		}
		s.opts.Finished(j.ProjectID, j.PipelineID)
		if err := s.jobFinished(ctx, j.ID, false, CauseNone); err != nil {
			return nil, err
		}
		return j, nil
	}
}

func (s *Scheduler) reportExternal(ctx context.Context, pl *ci.Pipeline, name string, st ci.Status, userID int64) (*ci.Job, error) {
	jobs, _, err := s.store.ListJobs(ctx, ci.JobFilter{PipelineID: pl.ID, Kind: ci.JobKindExternal, Page: ci.Page{Page: 1}})
	if err != nil {
		return nil, fmt.Errorf("listing external jobs of pipeline %d: %w", pl.ID, err)
	}
	now := s.opts.Now()
	for _, old := range jobs {
		if old.Name != name {
			continue
		}
		if !old.Status.Finished() {
			j := *old
			j.StampExternal(st, now)
			j.UserID = userID
			if err := s.store.UpdateJob(ctx, &j, old.Status); err != nil {
				return nil, err
			}
			return &j, nil
		}
		next := ci.NewExternalJob(pl, name, st, userID, now)
		next.Attempt = old.Attempt + 1
		if err := s.store.RetryJob(ctx, old, next); err != nil {
			return nil, err
		}
		return next, nil
	}
	j := ci.NewExternalJob(pl, name, st, userID, now)
	if err := s.store.AddJob(ctx, j); err != nil {
		return nil, err
	}
	return j, nil
}
