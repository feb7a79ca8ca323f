package resourcegroup_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/resourcegroup"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// replica is one server's scheduler and resource group service, as
// cmd/baton wires them; several share one database.
type replica struct {
	sched *scheduler.Scheduler
	svc   *resourcegroup.Service
}

func newReplica(db *store.DB) replica {
	svc := &resourcegroup.Service{Store: db}
	sched := scheduler.New(db, scheduler.Options{Resources: svc})
	svc.Jobs = sched
	return replica{sched, svc}
}

func project(t *testing.T, db *store.DB) *ci.Project {
	u := storetest.MustUser(t, db)
	ns, err := db.NamespaceOfUser(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return storetest.MustProject(t, db, ns.ID, ci.VisibilityPrivate)
}

// pipeline stores a pipeline of one-stage jobs name → resource group and
// advances it.
func pipeline(t *testing.T, db *store.DB, r replica, proj *ci.Project, jobs ...[2]string) []*ci.Job {
	t.Helper()
	p := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "0123456789abcdef0123456789abcdef01234567", Source: ci.SourcePush, Status: ci.StatusCreated}
	var js []*ci.Job
	for _, j := range jobs {
		js = append(js, &ci.Job{Name: j[0], Stage: "deploy", Status: ci.StatusCreated, Attempt: 1,
			Spec: ci.JobSpec{Name: j[0], Stage: "deploy", When: ci.WhenOnSuccess, Script: []string{"true"}, ResourceGroup: j[1]}})
	}
	if err := db.CreatePipeline(context.Background(), p, js); err != nil {
		t.Fatal(err)
	}
	if err := r.sched.Advance(context.Background(), p.ID); err != nil {
		t.Fatal(err)
	}
	return js
}

func status(t *testing.T, db *store.DB, j *ci.Job) ci.Status {
	t.Helper()
	got, err := db.JobByID(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.Status
}

// finish runs a pending job to final as the runner API does.
func finish(t *testing.T, db *store.DB, r replica, j *ci.Job, final ci.Status) {
	t.Helper()
	ctx := context.Background()
	cur, err := db.JobByID(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Status != ci.StatusPending {
		t.Fatalf("job %s is %s, want pending", cur.Name, cur.Status)
	}
	cur.Status = ci.StatusRunning
	if err := db.UpdateJob(ctx, cur, ci.StatusPending); err != nil {
		t.Fatal(err)
	}
	cur.Status = final
	if err := db.UpdateJob(ctx, cur, ci.StatusRunning); err != nil {
		t.Fatal(err)
	}
	if err := r.sched.JobFinished(ctx, cur.ID); err != nil {
		t.Fatal(err)
	}
}

// TestProcessModes: one job of a group at a time, handed on in the
// group's order; jobs of other groups and without one run at once.
func TestProcessModes(t *testing.T) {
	for _, tc := range []struct {
		mode  string
		order []int // pipelines 1..3, in the order they get the group
	}{
		{ci.ProcessUnordered, []int{0, 1, 2}},
		{ci.ProcessOldestFirst, []int{0, 1, 2}},
		{ci.ProcessNewestFirst, []int{0, 2, 1}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				r := newReplica(db)
				proj := project(t, db)
				g, err := db.EnsureResourceGroup(ctx, proj.ID, "production")
				if err != nil {
					t.Fatal(err)
				}
				g.ProcessMode = tc.mode
				if err := db.SetProcessMode(ctx, g); err != nil {
					t.Fatal(err)
				}
				var deploys []*ci.Job
				for i := range 3 {
					js := pipeline(t, db, r, proj, [2]string{"deploy", "production"}, [2]string{"test", ""}, [2]string{"other", "staging"})
					deploys = append(deploys, js[0])
					if s := status(t, db, js[1]); s != ci.StatusPending {
						t.Errorf("job without a group: %s", s)
					}
					if s := status(t, db, js[2]); s != ci.StatusPending && i == 0 {
						t.Errorf("first job of another group: %s", s)
					}
				}
				for step, next := range tc.order {
					for i, d := range deploys {
						want := ci.StatusWaitingForResource
						switch {
						case i == next:
							want = ci.StatusPending
						case indexOf(tc.order[:step], i) >= 0:
							want = ci.StatusSuccess
						}
						if s := status(t, db, d); s != want {
							t.Fatalf("step %d: deploy of pipeline %d is %s, want %s", step, i+1, s, want)
						}
					}
					finish(t, db, r, deploys[next], ci.StatusSuccess)
				}
				g, err = db.ResourceGroupByKey(ctx, proj.ID, "production")
				if err != nil || g.HolderJobID != 0 {
					// Released by the last finish's processing.
					t.Errorf("group after all ran = %+v %v", g, err)
				}
			})
		})
	}
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// TestCanceledWaiterAndFailedHolder: a canceled waiting job never gets the
// group; a failed holder hands it on.
func TestCanceledWaiterAndFailedHolder(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newReplica(db)
		proj := project(t, db)
		a := pipeline(t, db, r, proj, [2]string{"deploy", "prod"})[0]
		b := pipeline(t, db, r, proj, [2]string{"deploy", "prod"})[0]
		c := pipeline(t, db, r, proj, [2]string{"deploy", "prod"})[0]
		if err := r.sched.CancelJob(ctx, b.ID); err != nil {
			t.Fatal(err)
		}
		finish(t, db, r, a, ci.StatusFailed)
		if s := status(t, db, b); s != ci.StatusCanceled {
			t.Errorf("canceled waiter is %s", s)
		}
		if s := status(t, db, c); s != ci.StatusPending {
			t.Errorf("after a failed holder, the next waiter is %s, want pending", s)
		}
	})
}

// TestNoOverlapAcrossReplicas: jobs of one group, advanced, run and
// finished by goroutines of several replicas at once, never overlap: at
// any moment at most one is pending or running, and all run.
func TestNoOverlapAcrossReplicas(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		reps := []replica{newReplica(db), newReplica(db), newReplica(db)}
		proj := project(t, db)
		const n = 12
		var all []*ci.Job
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				js := pipeline(t, db, reps[i%len(reps)], proj, [2]string{fmt.Sprint("deploy-", i), "prod"})
				mu.Lock()
				all = append(all, js[0])
				mu.Unlock()
			}()
		}
		var active, maxActive, done atomic.Int64
		stop := make(chan struct{})
		var runners sync.WaitGroup
		for w := range 4 {
			runners.Add(1)
			go func() {
				defer runners.Done()
				r := reps[w%len(reps)]
				for {
					select {
					case <-stop:
						return
					default:
					}
					pending, _, err := db.ListJobs(ctx, ci.JobFilter{ProjectID: proj.ID, Statuses: []ci.Status{ci.StatusPending}, Page: ci.Page{Page: 1, PerPage: 5}})
					if err != nil {
						t.Error(err)
						return
					}
					for _, j := range pending {
						j.Status = ci.StatusRunning
						if db.UpdateJob(ctx, j, ci.StatusPending) != nil {
							continue // another runner took it
						}
						if a := active.Add(1); a > maxActive.Load() {
							maxActive.Store(a)
						}
						time.Sleep(time.Millisecond)
						active.Add(-1)
						j.Status = ci.StatusSuccess
						if err := db.UpdateJob(ctx, j, ci.StatusRunning); err != nil {
							t.Error(err)
							return
						}
						if err := r.sched.JobFinished(ctx, j.ID); err != nil {
							t.Error(err)
							return
						}
						done.Add(1)
					}
					time.Sleep(time.Millisecond)
				}
			}()
		}
		wg.Wait()
		deadline := time.After(60 * time.Second)
		for done.Load() < n {
			select {
			case <-deadline:
				t.Fatalf("%d of %d jobs ran", done.Load(), n)
			case <-time.After(10 * time.Millisecond):
			}
		}
		close(stop)
		runners.Wait()
		if maxActive.Load() != 1 {
			t.Errorf("at most %d jobs of one group ran at once, want 1", maxActive.Load())
		}
	})
}

// TestSweepPagesThroughGroups: a sweep hands out every free group whose
// waiting jobs no event processed (a replica stopped in between), however
// many groups held by running jobs come before it in a page.
func TestSweepPagesThroughGroups(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		r := newReplica(db)
		resourcegroup.SetSweepBatch(r.svc, 2)
		proj := project(t, db)
		// Groups a, b and c: held by their first job, the second waiting.
		held := pipeline(t, db, r, proj, [2]string{"a1", "a"}, [2]string{"a2", "a"}, [2]string{"b1", "b"},
			[2]string{"b2", "b"}, [2]string{"c1", "c"}, [2]string{"c2", "c"})
		// Groups d and e: waiting, and nobody told the service.
		deaf := replica{sched: scheduler.New(db, scheduler.Options{})}
		lost := pipeline(t, db, deaf, proj, [2]string{"d1", "d"}, [2]string{"e1", "e"})
		for _, j := range lost {
			if got := status(t, db, j); got != ci.StatusWaitingForResource {
				t.Fatalf("%s is %s before the sweep, want waiting_for_resource", j.Name, got)
			}
		}
		if err := r.svc.Sweep(ctx); err != nil {
			t.Fatal(err)
		}
		for _, j := range lost {
			if got := status(t, db, j); got != ci.StatusPending {
				t.Errorf("%s is %s after the sweep, want pending", j.Name, got)
			}
		}
		for i, j := range held {
			want := ci.StatusPending
			if i%2 == 1 {
				want = ci.StatusWaitingForResource
			}
			if got := status(t, db, j); got != want {
				t.Errorf("%s is %s after the sweep, want %s", j.Name, got, want)
			}
		}
	})
}

// counted is the real service, counting the hand-overs it is asked for.
type counted struct {
	*resourcegroup.Service
	calls atomic.Int64
}

func (c *counted) Process(ctx context.Context, projectID int64, key string) {
	c.calls.Add(1)
	c.Service.Process(ctx, projectID, key)
}

// TestSchedulerFinishProcessesOnce: a holder the scheduler itself
// finishes (force-canceled here; timed out, stuck or lost runners alike)
// has its group handed on once, not once by the status update and again
// by the finish that follows it.
func TestSchedulerFinishProcessesOnce(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		c := &counted{Service: &resourcegroup.Service{Store: db}}
		sched := scheduler.New(db, scheduler.Options{Resources: c})
		c.Jobs = sched
		r := replica{sched, c.Service}
		proj := project(t, db)
		a := pipeline(t, db, r, proj, [2]string{"deploy", "prod"})[0]
		b := pipeline(t, db, r, proj, [2]string{"deploy", "prod"})[0]
		cur, err := db.JobByID(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		cur.Status = ci.StatusRunning
		if err := db.UpdateJob(ctx, cur, ci.StatusPending); err != nil {
			t.Fatal(err)
		}
		before := c.calls.Load()
		if err := sched.ForceCancelJob(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if n := c.calls.Load() - before; n != 1 {
			t.Errorf("force-canceling the holder processed its group %d times, want 1", n)
		}
		if s := status(t, db, b); s != ci.StatusPending {
			t.Errorf("after the holder was canceled, the waiter is %s, want pending", s)
		}
	})
}
