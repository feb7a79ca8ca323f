// Package deploy honours the environment: keyword: every job that deploys
// records a deployment whose status follows the job's, environments come
// into being with their first job, stopping an environment plays its
// on_stop job, and auto_stop_in stops environments when their time comes.
// All state is in the store, so any replica may hear any job's events.
package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Store is what the service reads and writes (store.DB).
type Store interface {
	ci.EnvironmentStore
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error)
}

// Jobs plays a stop job (scheduler.Scheduler).
type Jobs interface {
	PlayJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
}

// Options configure a Service; zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// MaxEnvironments bounds a project's environments (default 1000).
	MaxEnvironments int
	// MaxSleep is the longest the auto-stop loop sleeps before it looks
	// again for environments another replica set to stop (default 1m).
	MaxSleep time.Duration
	// Batch is how many due environments one sweep stops (default 100).
	Batch int
}

// Service records deployments and stops environments. Jobs must be set
// before Stop or Run is used (the scheduler is built after the service,
// which hears its events).
type Service struct {
	Store Store
	Jobs  Jobs
	opts  Options
	log   *slog.Logger
	wake  chan struct{}
}

// New returns a Service on store.
func New(store Store, opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxEnvironments <= 0 {
		opts.MaxEnvironments = 1000
	}
	if opts.MaxSleep <= 0 {
		opts.MaxSleep = time.Minute
	}
	if opts.Batch <= 0 {
		opts.Batch = 100
	}
	return &Service{Store: store, opts: opts, log: opts.Logger, wake: make(chan struct{}, 1)}
}

// MaxEnvironments is the per-project bound on environments.
func (s *Service) MaxEnvironments() int { return s.opts.MaxEnvironments }

// Pipeline is part of scheduler.Events; deployments follow jobs only.
func (s *Service) Pipeline(context.Context, *ci.Pipeline) {}

// Job hears a job's new status (scheduler.Events). A job with an
// environment: creates the environment if needed; a deploying job records
// its deployment with the status that follows the job's; a successful
// deployment makes the environment available with its url and auto-stop
// time; a successful stop job stops it. Errors are logged: the job's
// status stands either way.
func (s *Service) Job(ctx context.Context, j *ci.Job) {
	if j.Spec.Deploy == nil || j.Spec.Deploy.Name == "" || j.Status == ci.StatusCreated {
		return
	}
	if err := s.record(ctx, j); err != nil {
		s.log.ErrorContext(ctx, "recording deployment", "job_id", j.ID, "environment", j.Spec.Deploy.Name, "err", err)
	}
}

func (s *Service) record(ctx context.Context, j *ci.Job) error {
	spec := j.Spec.Deploy
	env := &ci.Environment{ProjectID: j.ProjectID, Name: spec.Name, Slug: ci.EnvironmentSlug(spec.Name),
		ExternalURL: spec.URL, Tier: spec.TierOrGuess()}
	if err := s.Store.EnsureEnvironment(ctx, env, s.opts.MaxEnvironments); err != nil {
		return err
	}
	switch spec.ActionOrStart() {
	case ci.EnvActionStop:
		if j.Status == ci.StatusSuccess && env.State != ci.EnvStopped {
			env.State, env.AutoStopAt = ci.EnvStopped, nil
			return s.Store.UpdateEnvironment(ctx, env)
		}
		return nil
	case ci.EnvActionStart:
	default:
		return nil
	}
	pl, err := s.Store.PipelineByID(ctx, j.PipelineID)
	if err != nil {
		return err
	}
	d := &ci.Deployment{ProjectID: j.ProjectID, EnvironmentID: env.ID, JobID: j.ID, PipelineID: j.PipelineID,
		Ref: pl.Ref, SHA: pl.SHA, Tag: pl.Tag, UserID: j.UserID, Status: ci.DeploymentStatusOf(j.Status),
		OnStop: spec.OnStop, FinishedAt: j.FinishedAt}
	if err := s.Store.RecordDeployment(ctx, d); err != nil {
		return err
	}
	if j.Status != ci.StatusSuccess {
		return nil
	}
	// GitLab: a successful deployment (re)starts the environment, sets its
	// url and tier, and resets its auto-stop time.
	env.State = ci.EnvAvailable
	if spec.URL != "" {
		env.ExternalURL = spec.URL
	}
	env.Tier = spec.TierOrGuess()
	env.AutoStopAt = nil
	if spec.AutoStopIn != "" && spec.AutoStopIn != "never" {
		in, err := ci.ParseDuration(spec.AutoStopIn)
		if err != nil {
			return fmt.Errorf("auto_stop_in %q: %w", spec.AutoStopIn, err)
		}
		at := s.opts.Now().Add(in)
		env.AutoStopAt = &at
	}
	if err := s.Store.UpdateEnvironment(ctx, env); err != nil {
		return err
	}
	if env.AutoStopAt != nil {
		s.poke()
	}
	return nil
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stop stops env as GitLab does: the on_stop job of its last successful
// deployment is played (by userID) and the environment is stopping until
// that job succeeds; without a playable stop job it is stopped at once.
// A stopped environment is left as it is.
func (s *Service) Stop(ctx context.Context, env *ci.Environment, userID int64) error {
	if env.State == ci.EnvStopped {
		return nil
	}
	last, err := s.Store.LastDeployments(ctx, []int64{env.ID})
	if err != nil {
		return err
	}
	next := ci.EnvStopped
	if d := last[env.ID]; d != nil && d.OnStop != "" {
		played, err := s.playStopJob(ctx, d, userID)
		if err != nil {
			return err
		}
		if played {
			next = ci.EnvStopping
		}
	}
	env.State, env.AutoStopAt = next, nil
	return s.Store.UpdateEnvironment(ctx, env)
}

// playStopJob plays the newest attempt of d's on_stop job in d's pipeline;
// false if there is none or it cannot be played (then there is nothing to
// wait for).
func (s *Service) playStopJob(ctx context.Context, d *ci.Deployment, userID int64) (bool, error) {
	jobs, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: d.PipelineID, Name: d.OnStop, Page: ci.Page{Page: 1, PerPage: 1}})
	if err != nil {
		return false, err
	}
	if len(jobs) == 0 {
		return false, nil
	}
	_, err = s.Jobs.PlayJob(ctx, jobs[0].ID, userID)
	switch {
	case err == nil:
		return true, nil
	case ci.IsConflict(err):
		return true, nil // another replica or user played it first
	case ci.KindOf(err) == ci.KindInvalid:
		return false, nil // not playable: nothing runs, stop at once
	}
	return false, err
}
