package deploy_test

import (
	"context"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/deploy"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// rig is a store, a scheduler that tells the deploy service of every job
// status change, and the service, as cmd/baton wires them.
type rig struct {
	db    *store.DB
	svc   *deploy.Service
	sched *scheduler.Scheduler
	clock *storetest.Clock
	proj  *ci.Project
	user  *ci.User
}

func newRig(t *testing.T, db *store.DB) *rig {
	c := storetest.NewClock(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
	svc := deploy.New(db, deploy.Options{Now: c.Now, MaxEnvironments: 3})
	sched := scheduler.New(db, scheduler.Options{Events: svc, Now: c.Now})
	svc.Jobs = sched
	u := storetest.MustUser(t, db)
	ns, err := db.NamespaceOfUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{db: db, svc: svc, sched: sched, clock: c, proj: storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate), user: u}
}

// pipeline stores a created pipeline of the given jobs (stage index = position
// in stages) and advances it.
func (r *rig) pipeline(t *testing.T, jobs ...*ci.Job) []*ci.Job {
	t.Helper()
	ctx := context.Background()
	p := &ci.Pipeline{ProjectID: r.proj.ID, Ref: "main", SHA: "0123456789abcdef0123456789abcdef01234567", Source: ci.SourcePush,
		Status: ci.StatusCreated, UserID: r.user.ID}
	for _, j := range jobs {
		j.Status, j.Attempt, j.UserID = ci.StatusCreated, 1, r.user.ID
		j.Spec.Name, j.Spec.Stage, j.Spec.Script = j.Name, j.Stage, []string{"true"}
		if j.Spec.When == "" {
			j.Spec.When = ci.WhenOnSuccess
		}
	}
	if err := r.db.CreatePipeline(ctx, p, jobs); err != nil {
		t.Fatal(err)
	}
	if err := r.sched.Advance(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	return jobs
}

// run moves job through running to final, as the runner API does.
func (r *rig) run(t *testing.T, j *ci.Job, final ci.Status) {
	t.Helper()
	ctx := context.Background()
	cur, err := r.db.JobByID(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Status != ci.StatusPending {
		t.Fatalf("job %s is %s, want pending", cur.Name, cur.Status)
	}
	cur.Status = ci.StatusRunning
	now := r.clock.Now()
	cur.StartedAt = &now
	if err := r.db.UpdateJob(ctx, cur, ci.StatusPending); err != nil {
		t.Fatal(err)
	}
	if err := r.sched.JobStarted(ctx, cur.ID); err != nil {
		t.Fatal(err)
	}
	r.deployment(t, j, ci.StatusRunning)
	cur.Status, cur.FinishedAt = final, &now
	if err := r.db.UpdateJob(ctx, cur, ci.StatusRunning); err != nil {
		t.Fatal(err)
	}
	if err := r.sched.JobFinished(ctx, cur.ID); err != nil {
		t.Fatal(err)
	}
}

// deployment checks job's deployment has status want ("" for none).
func (r *rig) deployment(t *testing.T, j *ci.Job, want ci.Status) {
	t.Helper()
	if j.Spec.Deploy == nil || !j.Spec.Deploy.Deploys() {
		want = ""
	}
	ds, _, err := r.db.ListDeployments(context.Background(), ci.DeploymentFilter{ProjectID: r.proj.ID})
	if err != nil {
		t.Fatal(err)
	}
	var got ci.Status
	for _, d := range ds {
		if d.JobID == j.ID {
			got = d.Status
		}
	}
	if got != want {
		t.Errorf("deployment of %s: status %q, want %q", j.Name, got, want)
	}
}

func (r *rig) env(t *testing.T, name string) *ci.Environment {
	t.Helper()
	envs, _, err := r.db.ListEnvironments(context.Background(), r.proj.ID, name, "", ci.Page{Page: 1, PerPage: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 1 {
		t.Fatalf("environments named %q: %d", name, len(envs))
	}
	return envs[0]
}

func deployJob(name, stage string, idx int, env ci.EnvironmentSpec, when string) *ci.Job {
	// A manual job does not block the pipeline (ciconfig's default).
	return &ci.Job{Name: name, Stage: stage, StageIdx: idx, Spec: ci.JobSpec{When: when, AllowFailure: when == ci.WhenManual,
		Environment: env.Name, Deploy: &env}}
}

// TestDeploymentFollowsJob: a deploying job's deployment is created when
// the job becomes pending and follows it to success; the environment gets
// its url, tier and auto-stop time; the on_stop job is no deployment.
func TestDeploymentFollowsJob(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		jobs := r.pipeline(t,
			deployJob("deploy", "deploy", 0, ci.EnvironmentSpec{Name: "review/main", URL: "https://main.example.com",
				OnStop: "stop", AutoStopIn: "1 hour"}, ""),
			deployJob("stop", "deploy", 0, ci.EnvironmentSpec{Name: "review/main", Action: "stop"}, ci.WhenManual),
			deployJob("check", "verify", 1, ci.EnvironmentSpec{Name: "review/main", Action: "verify"}, ""),
		)
		deployJ, stopJ, check := jobs[0], jobs[1], jobs[2]
		r.deployment(t, deployJ, ci.StatusCreated)
		r.deployment(t, stopJ, "")
		env := r.env(t, "review/main")
		if env.State != ci.EnvAvailable || env.Slug != ci.EnvironmentSlug("review/main") || env.AutoStopAt != nil {
			t.Errorf("new environment = %+v", env)
		}
		r.run(t, deployJ, ci.StatusSuccess)
		r.deployment(t, deployJ, ci.StatusSuccess)
		env = r.env(t, "review/main")
		wantStop := r.clock.Now().Add(time.Hour)
		if env.ExternalURL != "https://main.example.com" || env.Tier != "development" || env.AutoStopAt == nil || !env.AutoStopAt.Equal(wantStop) {
			t.Errorf("deployed environment = %+v, want url, tier development, auto-stop at %v", env, wantStop)
		}
		r.run(t, check, ci.StatusSuccess)
		r.deployment(t, check, "")
		last, err := db.LastDeployments(context.Background(), []int64{env.ID})
		if err != nil {
			t.Fatal(err)
		}
		if d := last[env.ID]; d == nil || d.JobID != deployJ.ID || d.OnStop != "stop" || d.Ref != "main" || d.IID != 1 {
			t.Errorf("last deployment = %+v", d)
		}
	})
}

// TestFailedDeployment: a failed job's deployment is failed and the
// environment keeps its last successful deployment.
func TestFailedDeployment(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		good := r.pipeline(t, deployJob("deploy", "deploy", 0, ci.EnvironmentSpec{Name: "production"}, ""))[0]
		r.run(t, good, ci.StatusSuccess)
		bad := r.pipeline(t, deployJob("deploy", "deploy", 0, ci.EnvironmentSpec{Name: "production", URL: "https://new"}, ""))[0]
		r.run(t, bad, ci.StatusFailed)
		r.deployment(t, bad, ci.StatusFailed)
		env := r.env(t, "production")
		if env.ExternalURL != "" || env.Tier != "production" {
			t.Errorf("environment after a failed deployment = %+v", env)
		}
		last, err := db.LastDeployments(context.Background(), []int64{env.ID})
		if err != nil {
			t.Fatal(err)
		}
		if d := last[env.ID]; d == nil || d.JobID != good.ID || d.IID != 1 {
			t.Errorf("last deployment = %+v, want the successful one", d)
		}
		ds, total, err := db.ListDeployments(context.Background(), ci.DeploymentFilter{ProjectID: r.proj.ID, Status: ci.StatusFailed})
		if err != nil || total != 1 || ds[0].IID != 2 {
			t.Errorf("failed deployments = %v %d %v", ds, total, err)
		}
	})
}

// TestStopPlaysOnStopJob: stopping plays the last deployment's on_stop job
// (stopping) and its success stops the environment; without one the
// environment stops at once.
func TestStopPlaysOnStopJob(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		jobs := r.pipeline(t,
			deployJob("deploy", "deploy", 0, ci.EnvironmentSpec{Name: "staging", OnStop: "stop"}, ""),
			deployJob("stop", "deploy", 0, ci.EnvironmentSpec{Name: "staging", Action: "stop"}, ci.WhenManual))
		r.run(t, jobs[0], ci.StatusSuccess)
		env := r.env(t, "staging")
		if err := r.svc.Stop(ctx, env, r.user.ID); err != nil {
			t.Fatal(err)
		}
		if env = r.env(t, "staging"); env.State != ci.EnvStopping {
			t.Errorf("state after Stop = %s, want stopping", env.State)
		}
		stop, err := db.JobByID(ctx, jobs[1].ID)
		if err != nil || stop.Status != ci.StatusPending || stop.UserID != r.user.ID {
			t.Fatalf("stop job = %+v %v, want pending, played by the user", stop, err)
		}
		r.run(t, stop, ci.StatusSuccess)
		if env = r.env(t, "staging"); env.State != ci.EnvStopped {
			t.Errorf("state after the stop job = %s, want stopped", env.State)
		}
		// Deploying again makes it available again.
		again := r.pipeline(t, deployJob("deploy", "deploy", 0, ci.EnvironmentSpec{Name: "staging"}, ""))[0]
		r.run(t, again, ci.StatusSuccess)
		if env = r.env(t, "staging"); env.State != ci.EnvAvailable {
			t.Errorf("state after deploying again = %s, want available", env.State)
		}
		// No on_stop: stopped at once.
		if err := r.svc.Stop(ctx, env, r.user.ID); err != nil {
			t.Fatal(err)
		}
		if env = r.env(t, "staging"); env.State != ci.EnvStopped {
			t.Errorf("state after Stop without on_stop = %s, want stopped", env.State)
		}
	})
}

// TestAutoStop: StopDue stops only environments whose auto_stop_in has
// passed, playing their stop job.
func TestAutoStop(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newRig(t, db)
		jobs := r.pipeline(t,
			deployJob("deploy", "deploy", 0, ci.EnvironmentSpec{Name: "review/a", OnStop: "stop", AutoStopIn: "30 minutes"}, ""),
			deployJob("stop", "deploy", 0, ci.EnvironmentSpec{Name: "review/a", Action: "stop"}, ci.WhenManual),
			deployJob("deploy-b", "deploy", 0, ci.EnvironmentSpec{Name: "review/b", AutoStopIn: "2 hours"}, ""))
		r.run(t, jobs[0], ci.StatusSuccess)
		r.run(t, jobs[2], ci.StatusSuccess)
		next, err := db.NextAutoStop(ctx)
		if err != nil || next == nil || !next.Equal(r.clock.Now().Add(30*time.Minute)) {
			t.Fatalf("NextAutoStop = %v %v", next, err)
		}
		if err := r.svc.StopDue(ctx); err != nil {
			t.Fatal(err)
		}
		if a := r.env(t, "review/a"); a.State != ci.EnvAvailable {
			t.Fatalf("review/a stopped early: %s", a.State)
		}
		r.clock.Set(r.clock.Now().Add(time.Hour))
		if err := r.svc.StopDue(ctx); err != nil {
			t.Fatal(err)
		}
		if a := r.env(t, "review/a"); a.State != ci.EnvStopping || a.AutoStopAt != nil {
			t.Errorf("review/a after its time = %+v, want stopping", a)
		}
		if b := r.env(t, "review/b"); b.State != ci.EnvAvailable {
			t.Errorf("review/b = %s, want available", b.State)
		}
		if stop, _ := db.JobByID(ctx, jobs[1].ID); stop.Status != ci.StatusPending {
			t.Errorf("stop job = %s, want pending", stop.Status)
		}
		r.clock.Set(r.clock.Now().Add(2 * time.Hour))
		if err := r.svc.StopDue(ctx); err != nil {
			t.Fatal(err)
		}
		if b := r.env(t, "review/b"); b.State != ci.EnvStopped {
			t.Errorf("review/b = %s, want stopped (no stop job)", b.State)
		}
		if next, err := db.NextAutoStop(ctx); err != nil || next != nil {
			t.Errorf("NextAutoStop after all stopped = %v %v", next, err)
		}
	})
}

// TestEnvironmentBound: a project's environments are bounded; the job
// past the bound has no deployment, and its status is untouched.
func TestEnvironmentBound(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db) // MaxEnvironments: 3
		var jobs []*ci.Job
		for _, n := range []string{"a", "b", "c", "d"} {
			jobs = append(jobs, deployJob("deploy-"+n, "deploy", 0, ci.EnvironmentSpec{Name: n}, ""))
		}
		r.pipeline(t, jobs...)
		envs, total, err := db.ListEnvironments(context.Background(), r.proj.ID, "", "", ci.Page{Page: 1, PerPage: 10})
		if err != nil || total != 3 || len(envs) != 3 {
			t.Fatalf("environments = %d (%d) %v, want 3", total, len(envs), err)
		}
		err = db.CreateEnvironment(context.Background(), &ci.Environment{ProjectID: r.proj.ID, Name: "e", Slug: "e"}, 3)
		storetest.WantKind(t, err, ci.KindInvalid)
	})
}

// TestRunStopsDueEnvironments: the loop, once running, stops an
// environment when its auto-stop time has passed, and ends with its
// context.
func TestRunStopsDueEnvironments(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		r := newRig(t, db)
		svc := deploy.New(db, deploy.Options{Now: r.clock.Now, MaxSleep: 20 * time.Millisecond})
		svc.Jobs = r.sched
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		j := r.pipeline(t, deployJob("deploy", "deploy", 0, ci.EnvironmentSpec{Name: "review/x", AutoStopIn: "1 hour"}, ""))[0]
		r.run(t, j, ci.StatusSuccess)
		time.Sleep(100 * time.Millisecond) // several sweeps before the time: nothing stops
		if e := r.env(t, "review/x"); e.State != ci.EnvAvailable {
			t.Fatalf("stopped before its time: %s", e.State)
		}
		r.clock.Set(r.clock.Now().Add(2 * time.Hour))
		deadline := time.Now().Add(10 * time.Second)
		for r.env(t, "review/x").State != ci.EnvStopped {
			if time.Now().After(deadline) {
				t.Fatal("the loop did not stop the environment")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	})
}
