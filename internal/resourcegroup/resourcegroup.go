// Package resourcegroup honours the resource_group: keyword: of the jobs
// of a project naming one group, at most one runs at a time, on any number
// of replicas. The group's holder is a column claimed by compare-and-set
// (ClaimResourceGroup), never an in-memory lock; whoever sees the holder
// finished frees the group and hands it to the next waiting job in the
// group's process_mode order.
package resourcegroup

import (
	"context"
	"log/slog"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/wake"
)

// Store is what the service reads and claims (store.DB).
type Store interface {
	ci.ResourceGroupStore
	JobByID(ctx context.Context, id int64) (*ci.Job, error)
}

// Jobs moves a job that was handed its group to pending
// (scheduler.Scheduler).
type Jobs interface {
	GrantResource(ctx context.Context, jobID int64) error
}

// Service hands resource groups to waiting jobs. Jobs must be set before
// it is used (the scheduler, built after the service it calls).
type Service struct {
	Store    Store
	Jobs     Jobs
	Logger   *slog.Logger
	Interval time.Duration // Run's safety sweep (default 30s)

	sweepBatch int // tests: a smaller page than sweepBatch
}

// maxRounds bounds the claim-and-retry loop of Process; each lost round
// means another caller made progress.
const maxRounds = 20

// Process hands the project's group key on if it is free, or held by a job
// that finished (or no longer exists), to the first waiting job in the
// group's order. Errors are logged: the next event or sweep tries again.
func (s *Service) Process(ctx context.Context, projectID int64, key string) {
	if err := s.process(ctx, projectID, key); err != nil && ctx.Err() == nil {
		s.log().ErrorContext(ctx, "processing resource group", "project_id", projectID, "resource_group", key, "err", err)
	}
}

func (s *Service) process(ctx context.Context, projectID int64, key string) error {
	for range maxRounds {
		g, err := s.Store.EnsureResourceGroup(ctx, projectID, key)
		if err != nil {
			return err
		}
		if g.HolderJobID != 0 {
			holder, err := s.Store.JobByID(ctx, g.HolderJobID)
			switch {
			case ci.IsNotFound(err):
			case err != nil:
				return err
			case holder.Status == ci.StatusWaitingForResource:
				// Claimed by a caller that did not get to grant it
				// (a crash between the two): grant it now.
				if err := s.Jobs.GrantResource(ctx, holder.ID); err != nil && !ci.IsConflict(err) {
					return err
				}
				return nil
			case !holder.Status.Finished():
				return nil // held: the holder's finish processes the group again
			}
			// A finished attempt never runs again (a retry is a new job):
			// freeing the group from it is safe.
			if err := s.Store.ReleaseResourceGroup(ctx, g.ID, g.HolderJobID); err != nil {
				return err
			}
			continue
		}
		next, err := s.Store.WaitingJobs(ctx, projectID, key, g.ProcessMode, 1)
		if err != nil || len(next) == 0 {
			return err
		}
		ok, err := s.Store.ClaimResourceGroup(ctx, g.ID, next[0].ID)
		if err != nil {
			return err
		}
		if !ok {
			continue // another caller claimed it; look again
		}
		err = s.Jobs.GrantResource(ctx, next[0].ID)
		if err == nil {
			s.log().InfoContext(ctx, "resource group granted", "project_id", projectID, "resource_group", key, "job_id", next[0].ID)
			return nil
		}
		// The job stopped waiting (canceled) between the list and the
		// claim: give the group back and pick again.
		if err := s.Store.ReleaseResourceGroup(ctx, g.ID, next[0].ID); err != nil {
			return err
		}
		if !ci.IsConflict(err) && !ci.IsNotFound(err) {
			return err
		}
	}
	return ci.Errorf(ci.KindUnavailable, "resource group %q keeps changing", key)
}

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// sweepBatch bounds the groups one page of a Sweep reads.
const sweepBatch = 100

// Run sweeps at once and then every Interval until ctx ends: the events that normally hand
// groups on are lost when a replica stops between a job's finish and its
// processing.
func (s *Service) Run(ctx context.Context) error {
	iv := s.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	return wake.Loop[struct{}](ctx, nil, func(ctx context.Context) time.Duration {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log().ErrorContext(ctx, "listing waiting resource groups", "err", err)
		}
		return iv
	})
}

// Sweep processes every group with waiting jobs, a page at a time, so that
// groups held by long-running jobs never keep the others from a sweep.
func (s *Service) Sweep(ctx context.Context) error {
	batch := s.sweepBatch
	if batch <= 0 {
		batch = sweepBatch
	}
	var after ci.ResourceGroupRef
	for {
		refs, err := s.Store.GroupsWithWaitingJobs(ctx, after, batch)
		if err != nil {
			return err
		}
		for _, r := range refs {
			s.Process(ctx, r.ProjectID, r.Key)
		}
		if len(refs) < batch || ctx.Err() != nil {
			return nil
		}
		after = refs[len(refs)-1]
	}
}
