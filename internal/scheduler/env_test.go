package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

// env is a Scheduler on a real store with one project and one runner.
type env struct {
	t        testing.TB
	ctx      context.Context
	db       *store.DB
	s        *Scheduler
	clock    *storetest.Clock
	project  *ci.Project
	runner   *ci.Runner
	notified atomic.Int64
	finished atomic.Int64 // calls of Options.Finished
	tokens   atomic.Int64
}

// forEachEngine runs f once per store engine (SQLite and PostgreSQL).
func forEachEngine(t *testing.T, f func(t *testing.T, open func(tb testing.TB) *store.DB)) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) { f(t, e.Open) })
	}
}

// newEnv builds an env on db with a user, a project and an instance runner.
func newEnv(t testing.TB, db *store.DB) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, db: db, clock: storetest.NewClock(time.Now().UTC().Truncate(time.Second))}
	u := &ci.User{Username: "alice", Name: "Alice", Email: "alice@example.com"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatalf("creating user: %v", err)
	}
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("loading namespace: %v", err)
	}
	e.project = &ci.Project{NamespaceID: ns.ID, Path: "app", CreatorID: u.ID}
	if err := db.CreateProject(ctx, e.project); err != nil {
		t.Fatalf("creating project: %v", err)
	}
	e.runner = &ci.Runner{Description: "r", TokenHash: "runner-hash", RunnerType: ci.RunnerInstance, RunUntagged: true}
	if err := db.CreateRunner(ctx, e.runner); err != nil {
		t.Fatalf("creating runner: %v", err)
	}
	e.s = e.scheduler()
	return e
}

// scheduler returns a new Scheduler on e's store, as another replica or a
// restarted process would have.
func (e *env) scheduler() *Scheduler {
	return New(e.db, Options{Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler), Notify: func() { e.notified.Add(1) },
		Finished: func(projectID, _ int64) {
			if projectID == e.project.ID {
				e.finished.Add(1)
			}
		},
		StuckAfter: 10 * time.Minute, CancelGrace: 5 * time.Minute})
}

// spec is a job spec in a stage with options applied.
func spec(name, stage string, opts ...func(*ci.JobSpec)) ci.JobSpec {
	s := ci.JobSpec{Name: name, Stage: stage, When: ci.WhenOnSuccess, Script: []string{"true"}}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func sWhen(w string) func(*ci.JobSpec) { return func(s *ci.JobSpec) { s.When = w } }
func sAllowFailure(s *ci.JobSpec)      { s.AllowFailure = true }
func sAllowCodes(codes ...int) func(*ci.JobSpec) {
	return func(s *ci.JobSpec) { s.AllowFailureExitCodes = codes }
}
func sNeeds(names ...string) func(*ci.JobSpec) {
	return func(s *ci.JobSpec) {
		s.HasNeeds = true
		s.Needs = []ci.Need{}
		for _, n := range names {
			s.Needs = append(s.Needs, ci.Need{Job: n, Artifacts: true})
		}
	}
}
func sRetry(max int, when ...string) func(*ci.JobSpec) {
	return func(s *ci.JobSpec) { s.Retry = ci.RetrySpec{Max: max, When: when} }
}
func sTimeout(seconds int) func(*ci.JobSpec) { return func(s *ci.JobSpec) { s.Timeout = seconds } }

// create creates a pipeline running jobs in stages build, test, deploy.
func (e *env) create(jobs ...ci.JobSpec) *ci.Pipeline {
	e.t.Helper()
	return e.createOn("main", strings.Repeat("a", 40), false, jobs...)
}

// createOn is create for a given ref and commit.
func (e *env) createOn(ref, sha string, tag bool, jobs ...ci.JobSpec) *ci.Pipeline {
	e.t.Helper()
	p := &ci.Pipeline{ProjectID: e.project.ID, Ref: ref, Tag: tag, SHA: sha, Source: ci.SourcePush}
	plan := &ci.PipelinePlan{Stages: []string{".pre", "build", "test", "deploy", ".post"}, Jobs: jobs}
	e.persist(p, plan)
	return p
}

// persist stores p with plan's jobs and advances it, as the planner's
// Persist and Schedule steps do.
func (e *env) persist(p *ci.Pipeline, plan *ci.PipelinePlan) {
	e.t.Helper()
	jobs, err := plan.NewJobs(p, e.clock.Now())
	if err != nil {
		e.t.Fatalf("NewJobs: %v", err)
	}
	p.Spec, p.Status = plan.Spec, ci.StatusCreated
	if err := e.db.CreatePipeline(e.ctx, p, jobs); err != nil {
		e.t.Fatalf("CreatePipeline: %v", err)
	}
	if err := e.s.Advance(e.ctx, p.ID); err != nil {
		e.t.Fatalf("Advance: %v", err)
	}
	stored, err := e.db.PipelineByID(e.ctx, p.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	*p = *stored
}

// take assigns the next pending job to the runner, as a runner's request would.
func (e *env) take() *ci.Job {
	e.t.Helper()
	j, err := e.db.AssignNextJob(e.ctx, e.runner, fmt.Sprint("token-", e.tokens.Add(1)), e.clock.Now())
	if err != nil {
		e.t.Fatalf("AssignNextJob: %v", err)
	}
	return j
}

// takeAll assigns every pending job to the runner, by name.
func (e *env) takeAll() map[string]*ci.Job {
	e.t.Helper()
	out := map[string]*ci.Job{}
	for {
		j, err := e.db.AssignNextJob(e.ctx, e.runner, fmt.Sprint("token-", e.tokens.Add(1)), e.clock.Now())
		if ci.IsNotFound(err) {
			return out
		}
		if err != nil {
			e.t.Fatalf("AssignNextJob: %v", err)
		}
		out[j.Name] = j
	}
}

// report saves a runner's final state for j and calls JobFinished, as the
// runner API does.
func (e *env) report(j *ci.Job, status ci.Status, exitCode int) {
	e.t.Helper()
	stored, err := e.db.JobByID(e.ctx, j.ID)
	if err != nil {
		e.t.Fatalf("JobByID: %v", err)
	}
	from := stored.Status
	j.Status = status
	now := e.clock.Now()
	j.FinishedAt = &now
	if status == ci.StatusFailed {
		j.FailureReason = ci.FailureScriptFailure
		j.ExitCode = &exitCode
	}
	if err := e.db.UpdateJob(e.ctx, j, from); err != nil {
		e.t.Fatalf("UpdateJob %s: %v", j.Name, err)
	}
	if err := e.s.JobFinished(e.ctx, j.ID); err != nil {
		e.t.Fatalf("JobFinished %s: %v", j.Name, err)
	}
}

// states renders the latest jobs of a pipeline as sorted "name:status".
func (e *env) states(p *ci.Pipeline) string {
	e.t.Helper()
	jobs, _, err := e.db.ListJobs(e.ctx, ci.JobFilter{PipelineID: p.ID, Page: ci.Page{Page: 1}})
	if err != nil {
		e.t.Fatalf("ListJobs: %v", err)
	}
	var out []string
	for _, j := range jobs {
		out = append(out, j.Name+":"+string(j.Status))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func (e *env) pipeline(p *ci.Pipeline) *ci.Pipeline {
	e.t.Helper()
	got, err := e.db.PipelineByID(e.ctx, p.ID)
	if err != nil {
		e.t.Fatalf("PipelineByID: %v", err)
	}
	return got
}

// expect checks the pipeline's jobs and status.
func (e *env) expect(p *ci.Pipeline, states string, status ci.Status) {
	e.t.Helper()
	if got := e.states(p); got != states {
		e.t.Errorf("jobs = %q\n          want %q", got, states)
	}
	if got := e.pipeline(p).Status; got != status {
		e.t.Errorf("pipeline status = %s, want %s", got, status)
	}
}

func (e *env) job(p *ci.Pipeline, name string) *ci.Job {
	e.t.Helper()
	jobs, _, err := e.db.ListJobs(e.ctx, ci.JobFilter{PipelineID: p.ID, Name: name, Page: ci.Page{Page: 1}})
	if err != nil || len(jobs) != 1 {
		e.t.Fatalf("job %s: %v (%d found)", name, err, len(jobs))
	}
	return jobs[0]
}
