package schedule

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// Store is what the loop reads and writes.
type Store interface {
	ci.ScheduleStore
	ProjectByID(ctx context.Context, id int64) (*ci.Project, error)
	UserByID(ctx context.Context, id int64) (*ci.User, error)
}

// Creator creates a pipeline (the planner's one entry point).
type Creator func(ctx context.Context, req ci.PipelineRequest) (*ci.Pipeline, error)

// Runner is the background loop that fires due schedules. Several
// replicas may run it on one database: a run is claimed by moving the
// schedule's next_run_at with a compare-and-set before its pipeline is
// created, so each due run creates one pipeline.
type Runner struct {
	store    Store
	policy   *policy.Policy
	create   Creator
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger
	passes   atomic.Int64
}

// Options configure a Runner. Zero values take the defaults.
type Options struct {
	Interval time.Duration    // between passes; default 10 s
	Now      func() time.Time // default time.Now
	Logger   *slog.Logger     // default slog.Default()
}

// NewRunner returns the loop creating pipelines with create, asking pol
// whether each schedule's owner still may.
func NewRunner(store Store, pol *policy.Policy, create Creator, opts Options) *Runner {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Runner{store: store, policy: pol, create: create, interval: opts.Interval, now: opts.Now, log: opts.Logger}
}

// Run fires due schedules every interval until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.log.ErrorContext(ctx, "running pipeline schedules", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Passes is how many passes have finished, for tests that wait for the
// loop to have looked again.
func (r *Runner) Passes() int64 { return r.passes.Load() }

// batch bounds the schedules one pass reads at once.
const batch = 100

// Pass fires every schedule due now and returns how many runs it claimed.
// A schedule down for a while runs once, not once per missed tick: its
// next run is the first after now, as GitLab does.
func (r *Runner) Pass(ctx context.Context) (int, error) {
	defer r.passes.Add(1)
	claimed := 0
	for {
		now := r.now().UTC()
		due, err := r.store.DuePipelineSchedules(ctx, now, batch)
		if err != nil {
			return claimed, fmt.Errorf("listing due schedules: %w", err)
		}
		progress := 0
		for _, s := range due {
			ok, err := r.claim(ctx, s, now)
			if err != nil {
				r.log.ErrorContext(ctx, "claiming a schedule run", "schedule_id", s.ID, "err", err)
				continue
			}
			progress++ // claimed, deactivated, or taken by another replica: no longer due
			if ok {
				claimed++
				r.fire(ctx, s)
			}
		}
		if len(due) < batch || progress == 0 || ctx.Err() != nil {
			return claimed, nil
		}
	}
}

// claim moves s's next run past now; it reports whether this caller won.
// A schedule whose expression no longer parses is deactivated.
func (r *Runner) claim(ctx context.Context, s *ci.PipelineSchedule, now time.Time) (bool, error) {
	c, err := Parse(s.Cron, s.CronTimezone)
	if err != nil {
		return false, r.deactivate(ctx, s, "its cron expression or time zone is invalid")
	}
	return r.store.ClaimPipelineScheduleRun(ctx, s.ID, *s.NextRunAt, c.Next(now))
}

// fire creates the pipeline of a claimed run as the schedule's owner, if
// the owner still may create pipelines in the project; otherwise the
// schedule is deactivated, saying why.
func (r *Runner) fire(ctx context.Context, claimed *ci.PipelineSchedule) {
	log := r.log.With("schedule_id", claimed.ID, "project_id", claimed.ProjectID)
	s, err := r.store.PipelineScheduleByID(ctx, claimed.ID) // with its variables
	if err != nil {
		log.ErrorContext(ctx, "loading schedule", "err", err)
		return
	}
	proj, err := r.store.ProjectByID(ctx, s.ProjectID)
	if err != nil {
		log.ErrorContext(ctx, "loading the schedule's project", "err", err)
		return
	}
	owner, err := r.store.UserByID(ctx, s.OwnerID)
	if ci.IsNotFound(err) {
		r.report(ctx, s, r.deactivate(ctx, s, "its owner no longer exists"))
		return
	}
	if err != nil {
		log.ErrorContext(ctx, "loading the schedule's owner", "err", err)
		return
	}
	if err := r.policy.Project(ctx, &auth.Principal{User: owner}, policy.CreatePipeline, proj); err != nil {
		if ci.KindOf(err) == ci.KindInternal {
			log.ErrorContext(ctx, "checking the owner's access", "err", err)
			return
		}
		r.report(ctx, s, r.deactivate(ctx, s, fmt.Sprintf("its owner %s may no longer create pipelines in %s", owner.Username, proj.FullPath)))
		return
	}
	pl, err := r.create(ctx, ci.PipelineRequest{Project: proj, Ref: s.Ref, Source: ci.SourceSchedule, UserID: owner.ID, Variables: s.Variables})
	if err != nil {
		// A missing ref or a broken configuration fails this run; the
		// schedule stays, as in GitLab, and tries again next time.
		log.WarnContext(ctx, "scheduled pipeline not created", "ref", s.Ref, "err", err)
		return
	}
	if err := r.store.SetPipelineScheduleLastPipeline(ctx, s.ID, pl.ID); err != nil {
		log.ErrorContext(ctx, "recording the scheduled pipeline", "pipeline_id", pl.ID, "err", err)
	}
	log.InfoContext(ctx, "scheduled pipeline created", "pipeline_id", pl.ID, "ref", s.Ref)
}

func (r *Runner) report(ctx context.Context, s *ci.PipelineSchedule, err error) {
	if err != nil {
		r.log.ErrorContext(ctx, "deactivating schedule", "schedule_id", s.ID, "err", err)
		return
	}
	r.log.WarnContext(ctx, "schedule deactivated", "schedule_id", s.ID, "reason", s.InactiveReason)
}

// deactivate turns s off with reason.
func (r *Runner) deactivate(ctx context.Context, s *ci.PipelineSchedule, reason string) error {
	s.Active, s.NextRunAt, s.InactiveReason = false, nil, reason
	return r.store.UpdatePipelineSchedule(ctx, s)
}
