package scheduler

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// maxRedundant bounds how many older pipelines one new pipeline cancels.
const maxRedundant = 100

// aliveStatuses are the statuses of pipelines a newer one may make
// redundant (GitLab's "alive" pipelines).
var aliveStatuses = []ci.Status{ci.StatusCreated, ci.StatusWaitingForResource, ci.StatusPreparing,
	ci.StatusPending, ci.StatusRunning, ci.StatusScheduled}

// CancelRedundant is GitLab's "auto-cancel redundant pipelines" for the
// new pipeline p, which the caller runs when the project has it enabled:
// every older unfinished pipeline of the same branch for another commit is
// canceled, unless one of its jobs that is not interruptible has already
// started; jobs that have not started count as interruptible, as in
// GitLab's default (conservative) mode. Tags are left alone. It returns
// the ids of the pipelines it canceled.
func (s *Scheduler) CancelRedundant(ctx context.Context, p *ci.Pipeline) ([]int64, error) {
	if p.Tag || p.Ref == "" {
		return nil, nil
	}
	older, _, err := s.store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: p.ProjectID, Ref: p.Ref,
		Statuses: aliveStatuses, Page: ci.Page{Page: 1, PerPage: maxRedundant}})
	if err != nil {
		return nil, fmt.Errorf("listing pipelines of %s: %w", p.Ref, err)
	}
	var canceled []int64
	for _, o := range older {
		if o.ID >= p.ID || o.Tag || o.SHA == p.SHA {
			continue
		}
		jobs, err := s.pipelineJobs(ctx, o.ID, false)
		if err != nil {
			return canceled, err
		}
		if !interruptible(jobs) {
			continue
		}
		if err := s.CancelPipeline(ctx, o.ID); err != nil && !ci.IsNotFound(err) {
			return canceled, err
		}
		s.log.InfoContext(ctx, "pipeline auto-canceled", "pipeline_id", o.ID, "by_pipeline_id", p.ID, "ref", p.Ref)
		canceled = append(canceled, o.ID)
	}
	return canceled, nil
}

// interruptible reports whether a pipeline may be auto-canceled: none of
// its jobs without interruptible: true has started.
func interruptible(jobs []*ci.Job) bool {
	for _, j := range jobs {
		if !j.Spec.Interruptible && j.StartedAt != nil {
			return false
		}
	}
	return true
}
