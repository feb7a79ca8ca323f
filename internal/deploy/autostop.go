package deploy

import (
	"context"
	"time"

	"github.com/batonci/baton/internal/wake"
)

// Run stops environments whose auto_stop_in has passed until ctx ends. It
// sleeps until the earliest auto-stop time the store knows, woken early
// when this replica sets a new one, and at most MaxSleep, so that times set
// by other replicas are seen too. Several replicas may run it: stopping an
// environment twice plays its stop job once (the play is a compare-and-set).
func (s *Service) Run(ctx context.Context) error {
	return wake.Loop(ctx, s.wake, func(ctx context.Context) time.Duration {
		if err := s.StopDue(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "stopping environments", "err", err)
		}
		return s.nextSleep(ctx)
	})
}

// nextSleep is how long Run waits: until the next auto-stop time, at most
// MaxSleep.
func (s *Service) nextSleep(ctx context.Context) time.Duration {
	next, err := s.Store.NextAutoStop(ctx)
	if err != nil || next == nil {
		return s.opts.MaxSleep
	}
	return min(max(next.Sub(s.opts.Now()), time.Second), s.opts.MaxSleep)
}

// StopDue stops up to Batch environments whose auto-stop time has passed,
// as their auto-stop (no user).
func (s *Service) StopDue(ctx context.Context) error {
	due, err := s.Store.DueEnvironments(ctx, s.opts.Now(), s.opts.Batch)
	if err != nil {
		return err
	}
	for _, env := range due {
		if err := s.Stop(ctx, env, 0); err != nil {
			s.log.ErrorContext(ctx, "auto-stopping environment", "environment_id", env.ID, "err", err)
			continue
		}
		s.log.InfoContext(ctx, "environment auto-stopped", "environment_id", env.ID, "project_id", env.ProjectID, "state", env.State)
	}
	return nil
}
