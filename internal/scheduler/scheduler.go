package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Options configure a Scheduler. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// StuckAfter fails a running job the runner has not reported on for this
	// long (default 10m).
	StuckAfter time.Duration
	// CancelGrace is how long a canceling job may wait for its runner to
	// confirm before it is canceled anyway (default 5m).
	CancelGrace time.Duration
	// PendingTimeout fails a job no runner picked up for this long (default
	// 24h, as GitLab).
	PendingTimeout time.Duration
	// TimeoutGrace is added to a job's timeout before the server fails it, so
	// that the runner, which enforces the timeout itself, reports first
	// (default 1m).
	TimeoutGrace time.Duration
	// Interval is how often Run sweeps (default 30s).
	Interval time.Duration
	// JobTimeout returns a running job's timeout; default DefaultJobTimeout.
	// Wiring may look up the runner's MaximumTimeout or the project's default here.
	JobTimeout func(ctx context.Context, j *ci.Job) time.Duration
	// Notify is called whenever jobs became pending, to wake long-polling runners.
	Notify func()
	// Delayed is called whenever jobs became scheduled (when: delayed), to
	// wake the RunDelayed loops of every replica (store.DB.Notify on
	// DelayedChannel); RunDelayed of this process is woken directly.
	Delayed func()
	// Finished is called whenever a job of the pipeline reached a final
	// status by any of the scheduler's paths (canceled, timed out, stuck,
	// skipped), to wake requests waiting for its artifacts
	// (artifacts.Hub.Notify): they answer at once that none is coming.
	Finished func(projectID, pipelineID int64)
	// Events is told of every status change the scheduler sees (a job
	// moved, started or finished; a pipeline's status changed), for
	// webhooks. Default: nobody.
	Events Events
	// Coverage, if set, reads the logs of finished jobs whose spec has a
	// coverage: regular expression and records the coverage they report.
	Coverage CoverageStore
	// Resources, if set, hands resource groups to waiting jobs
	// (resourcegroup.Service); without it jobs of a resource_group wait
	// forever.
	Resources Resources
}

// Resources is told whenever a job of a resource group started waiting
// for it or finished, and hands the group on (calling GrantResource).
type Resources interface {
	Process(ctx context.Context, projectID int64, key string)
}

// CoverageStore reads a job's log and records its coverage (store.DB).
type CoverageStore interface {
	ReadTrace(ctx context.Context, jobID, offset, limit int64) ([]byte, error)
	SetJobCoverage(ctx context.Context, jobID int64, coverage float64) error
}

// Events hears of status changes. Calls are synchronous and must not fail
// the change: implementations log their own errors.
type Events interface {
	Pipeline(ctx context.Context, p *ci.Pipeline)
	Job(ctx context.Context, j *ci.Job)
}

type noEvents struct{}

func (noEvents) Pipeline(context.Context, *ci.Pipeline) {}
func (noEvents) Job(context.Context, *ci.Job)           {}

// Scheduler drives pipelines through their states. It keeps no state of its
// own: every decision is made from the store, and every write is a
// compare-and-set on a job's status, so several replicas may run it at once.
type Scheduler struct {
	store Store
	opts  Options
	log   *slog.Logger
}

// Store is what the scheduler reads and compare-and-sets (store.DB).
type Store interface {
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	ListPipelines(ctx context.Context, f ci.PipelineFilter) ([]*ci.Pipeline, int, error)
	UpdatePipeline(ctx context.Context, p *ci.Pipeline) error
	JobByID(ctx context.Context, id int64) (*ci.Job, error)
	ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error)
	ListStaleJobs(ctx context.Context, before time.Time, limit int) ([]*ci.Job, error)
	// ListDueScheduledJobs lists scheduled jobs due at at, earliest first.
	ListDueScheduledJobs(ctx context.Context, at time.Time, limit int) ([]*ci.Job, error)
	// NextScheduledAt is the earliest due time of a scheduled job,
	// KindNotFound when none is scheduled.
	NextScheduledAt(ctx context.Context) (time.Time, error)
	UpdateJob(ctx context.Context, j *ci.Job, from ci.Status) error
	RetryJob(ctx context.Context, old, next *ci.Job) error
	// AddJob inserts a job into its existing pipeline; a second current
	// external job of one name is KindConflict.
	AddJob(ctx context.Context, j *ci.Job) error
}

// New returns a Scheduler on store.
func New(store Store, opts Options) *Scheduler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.StuckAfter <= 0 {
		opts.StuckAfter = 10 * time.Minute
	}
	if opts.CancelGrace <= 0 {
		opts.CancelGrace = 5 * time.Minute
	}
	if opts.PendingTimeout <= 0 {
		opts.PendingTimeout = 24 * time.Hour
	}
	if opts.TimeoutGrace <= 0 {
		opts.TimeoutGrace = time.Minute
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.JobTimeout == nil {
		opts.JobTimeout = func(_ context.Context, j *ci.Job) time.Duration { return DefaultJobTimeout(j) }
	}
	if opts.Notify == nil {
		opts.Notify = func() {}
	}
	if opts.Delayed == nil {
		opts.Delayed = func() {}
	}
	if opts.Finished == nil {
		opts.Finished = func(int64, int64) {}
	}
	if opts.Events == nil {
		opts.Events = noEvents{}
	}
	return &Scheduler{store: store, opts: opts, log: opts.Logger}
}

// DefaultJobTimeout is a job's timeout from its spec, one hour if it sets none.
func DefaultJobTimeout(j *ci.Job) time.Duration {
	if j.Spec.Timeout > 0 {
		return time.Duration(j.Spec.Timeout) * time.Second
	}
	return time.Hour
}

// maxRounds bounds the reload-and-retry loops that follow a lost
// compare-and-set; each lost round means another replica made progress.
const maxRounds = 20

// Advance moves the pipeline's created jobs whose turn has come to pending,
// manual or skipped, then brings the pipeline's status up to date. It is
// idempotent and safe to call concurrently: a job another caller moved first
// makes it reload and decide again. A missing pipeline is KindNotFound.
func (s *Scheduler) Advance(ctx context.Context, pipelineID int64) error {
	woke, delayed := false, false
	for round := 0; ; round++ {
		jobs, err := s.pipelineJobs(ctx, pipelineID, false)
		if err != nil {
			return err
		}
		lost := false
		for _, c := range Advance(jobs) {
			j := *c.Job
			j.Status = c.To
			s.stamp(&j)
			err := s.updateJob(ctx, &j, ci.StatusCreated)
			if ci.IsConflict(err) {
				lost = true
				break
			}
			if err != nil {
				return fmt.Errorf("moving job %d to %s: %w", j.ID, j.Status, err)
			}
			woke = woke || j.Status == ci.StatusPending
			delayed = delayed || j.Status == ci.StatusScheduled
			s.log.DebugContext(ctx, "job advanced", "job_id", j.ID, "pipeline_id", pipelineID, "status", j.Status)
		}
		if !lost {
			break
		}
		if round == maxRounds {
			return ci.Errorf(ci.KindUnavailable, "pipeline %d keeps changing; try again", pipelineID)
		}
	}
	if woke {
		s.opts.Notify()
	}
	if delayed {
		s.opts.Delayed()
	}
	return s.syncPipeline(ctx, pipelineID)
}

// updateJob saves j if its stored status is still from (UpdateJob), and
// tells Finished when j thereby reached a final status.
func (s *Scheduler) updateJob(ctx context.Context, j *ci.Job, from ci.Status) error {
	if err := s.store.UpdateJob(ctx, j, from); err != nil {
		return err
	}
	s.opts.Events.Job(ctx, j)
	if j.Status.Finished() {
		s.opts.Finished(j.ProjectID, j.PipelineID)
	}
	s.resources(ctx, j)
	return nil
}

// stamp sets the time fields that go with j's new status.
func (s *Scheduler) stamp(j *ci.Job) {
	now := s.opts.Now()
	switch j.Status {
	case ci.StatusPending:
		j.QueuedAt = &now
		j.ScheduledAt = nil
	case ci.StatusScheduled:
		at := now.Add(time.Duration(j.Spec.StartIn) * time.Second)
		j.ScheduledAt = &at
	case ci.StatusManual:
		j.ScheduledAt = nil
	case ci.StatusSuccess, ci.StatusFailed, ci.StatusCanceled:
		j.FinishedAt = &now
	}
	j.UpdatedAt = now
}

// pipelineJobs lists a pipeline's jobs in id order, with only the
// scheduling part of their specs (ScheduleOnly): advancing a pipeline must
// not read every job's scripts and variables.
func (s *Scheduler) pipelineJobs(ctx context.Context, pipelineID int64, withRetried bool) ([]*ci.Job, error) {
	jobs, _, err := s.store.ListJobs(ctx, ci.JobFilter{
		PipelineID: pipelineID, IncludeRetried: withRetried, Ascending: true, Page: ci.Page{Page: 1},
		ScheduleOnly: true,
	})
	if err != nil {
		return nil, fmt.Errorf("listing jobs of pipeline %d: %w", pipelineID, err)
	}
	return jobs, nil
}

// syncPipeline saves the pipeline's composite status and times if they
// changed. It reloads after writing until what is stored matches the jobs,
// so that of two replicas writing at once the later reader wins.
func (s *Scheduler) syncPipeline(ctx context.Context, pipelineID int64) error {
	for round := 0; round < maxRounds; round++ {
		p, err := s.store.PipelineByID(ctx, pipelineID)
		if err != nil {
			return fmt.Errorf("loading pipeline %d: %w", pipelineID, err)
		}
		jobs, err := s.pipelineJobs(ctx, pipelineID, false)
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			return nil
		}
		next := *p
		s.pipelineTimes(&next, jobs)
		if next.Status == p.Status && (next.StartedAt == nil) == (p.StartedAt == nil) &&
			(next.FinishedAt == nil) == (p.FinishedAt == nil) {
			return nil
		}
		if err := s.store.UpdatePipeline(ctx, &next); err != nil {
			return fmt.Errorf("updating pipeline %d: %w", pipelineID, err)
		}
		if next.Status != p.Status {
			s.opts.Events.Pipeline(ctx, &next)
		}
		s.log.InfoContext(ctx, "pipeline status", "pipeline_id", pipelineID, "status", next.Status, "was", p.Status)
	}
	return nil
}

// pipelineTimes sets p's status from its jobs, StartedAt when its first job
// started and FinishedAt while the status is final.
func (s *Scheduler) pipelineTimes(p *ci.Pipeline, jobs []*ci.Job) {
	p.Status = PipelineStatus(jobs)
	if p.StartedAt == nil {
		for _, j := range jobs {
			if j.StartedAt != nil && (p.StartedAt == nil || j.StartedAt.Before(*p.StartedAt)) {
				t := *j.StartedAt
				p.StartedAt = &t
			}
		}
	}
	switch {
	case !p.Status.Finished():
		p.FinishedAt = nil
	case p.FinishedAt == nil:
		now := s.opts.Now()
		p.FinishedAt = &now
	}
}
