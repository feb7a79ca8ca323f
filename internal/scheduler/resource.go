package scheduler

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// resources tells Resources of a resource group job that started
// waiting or finished.
func (s *Scheduler) resources(ctx context.Context, j *ci.Job) {
	if s.opts.Resources == nil || j.Spec.ResourceGroup == "" {
		return
	}
	if j.Status == ci.StatusWaitingForResource || j.Status.Finished() {
		s.opts.Resources.Process(ctx, j.ProjectID, j.Spec.ResourceGroup)
	}
}

// GrantResource moves a job that holds its resource group from
// waiting_for_resource to pending, wakes runners and brings its
// pipeline's status up to date. A job no longer waiting is KindConflict, a
// missing one KindNotFound.
func (s *Scheduler) GrantResource(ctx context.Context, jobID int64) error {
	j, err := s.store.JobByID(ctx, jobID)
	if err != nil {
		return fmt.Errorf("loading job %d: %w", jobID, err)
	}
	if j.Status != ci.StatusWaitingForResource {
		return ci.Errorf(ci.KindConflict, "job %d is %s, not waiting for a resource", jobID, j.Status)
	}
	j.Status = ci.StatusPending
	s.stamp(j)
	if err := s.store.UpdateJob(ctx, j, ci.StatusWaitingForResource); err != nil {
		return err
	}
	s.opts.Events.Job(ctx, j)
	s.opts.Notify()
	return s.syncPipeline(ctx, j.PipelineID)
}
