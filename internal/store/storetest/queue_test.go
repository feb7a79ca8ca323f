package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

func TestAssignNextJobMatching(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jobs   map[string][]string // in a project of group/sub
		runner ci.Runner
		want   string // job name assigned, "" for none
	}{
		{"untagged job, run_untagged", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true}, "a"},
		{"untagged job, not run_untagged", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerInstance, Tags: []string{"x"}}, ""},
		{"tags subset", map[string][]string{"a": {"linux", "docker"}}, ci.Runner{RunnerType: ci.RunnerInstance, Tags: []string{"docker", "linux", "big"}}, "a"},
		{"tags not subset", map[string][]string{"a": {"linux", "gpu"}}, ci.Runner{RunnerType: ci.RunnerInstance, Tags: []string{"linux"}, RunUntagged: true}, ""},
		{"tagged job, untagged runner", map[string][]string{"a": {"linux"}}, ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true}, ""},
		{"picks the job it can run", map[string][]string{"gpu": {"gpu"}}, ci.Runner{RunnerType: ci.RunnerInstance, Tags: []string{"gpu"}}, "gpu"},
		{"paused", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, Paused: true}, ""},
		{"project runner of the project", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerProject, RunUntagged: true, ProjectID: -1}, "a"},
		{"project runner of another project", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerProject, RunUntagged: true, ProjectID: -2}, ""},
		{"group runner of an ancestor group", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerGroup, RunUntagged: true, NamespaceID: -1}, "a"},
		{"group runner of the parent group", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerGroup, RunUntagged: true, NamespaceID: -2}, "a"},
		{"group runner of another group", map[string][]string{"a": nil}, ci.Runner{RunnerType: ci.RunnerGroup, RunUntagged: true, NamespaceID: -3}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ForEachEngine(t, func(t *testing.T, db *store.DB) {
				ctx := context.Background()
				top := MustGroup(t, db, 0, ci.VisibilityPrivate)
				sub := MustGroup(t, db, top.ID, ci.VisibilityPrivate)
				elsewhere := MustGroup(t, db, 0, ci.VisibilityPrivate)
				proj := MustProject(t, db, sub.ID, ci.VisibilityPrivate)
				otherProj := MustProject(t, db, elsewhere.ID, ci.VisibilityPrivate)
				// A job no runner in this table may take, created first so it is the oldest.
				MustPipeline(t, db, otherProj.ID, "main", map[string][]string{"elsewhere": {"nowhere"}})
				MustPipeline(t, db, proj.ID, "main", tc.jobs)
				r := tc.runner
				r.ProjectID = map[int64]int64{0: 0, -1: proj.ID, -2: otherProj.ID}[r.ProjectID]
				r.NamespaceID = map[int64]int64{0: 0, -1: top.ID, -2: sub.ID, -3: elsewhere.ID}[r.NamespaceID]
				r.TokenHash = "runner"
				must(t, db.CreateRunner(ctx, &r))
				j, err := db.AssignNextJob(ctx, &r, "jobtoken", time.Now())
				if tc.want == "" {
					WantKind(t, err, ci.KindNotFound)
					return
				}
				must(t, err)
				if j.Name != tc.want || j.Status != ci.StatusRunning || j.RunnerID != r.ID || j.TokenHash != "jobtoken" || j.StartedAt == nil {
					t.Errorf("assigned %+v", j)
				}
				_, err = db.AssignNextJob(ctx, &r, "jobtoken2", time.Now())
				WantKind(t, err, ci.KindNotFound)
			})
		})
	}
}

func TestAssignNextJobOrder(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := MustProject(t, db, g.ID, ci.VisibilityPrivate)
		_, first := MustPipeline(t, db, proj.ID, "main", map[string][]string{"first": nil})
		_, second := MustPipeline(t, db, proj.ID, "main", map[string][]string{"second": nil})
		r := &ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, TokenHash: "r"}
		must(t, db.CreateRunner(ctx, r))
		for _, want := range []int64{first[0].ID, second[0].ID} {
			j, err := db.AssignNextJob(ctx, r, fmt.Sprintf("t%d", want), time.Now())
			if err != nil || j.ID != want {
				t.Fatalf("assigned %v, %v; want job %d", j, err, want)
			}
		}
	})
}

// TestAssignNextJobConcurrently has 20 runners race for 4000 jobs: each job
// must be assigned exactly once.
func TestAssignNextJobConcurrently(t *testing.T) {
	const workers, perWorker = 20, 200
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := MustProject(t, db, g.ID, ci.VisibilityPrivate)
		for i := 0; i < workers; i++ {
			jobs := make([]*ci.Job, perWorker)
			for k := range jobs {
				jobs[k] = &ci.Job{Name: fmt.Sprintf("job-%d", k), Status: ci.StatusPending}
			}
			must(t, db.CreatePipeline(ctx, &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "c", Source: ci.SourcePush}, jobs))
		}
		var mu sync.Mutex
		seen := map[int64]int64{}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				r := &ci.Runner{ID: int64(w + 1), RunnerType: ci.RunnerInstance, RunUntagged: true}
				for n := 0; ; n++ {
					j, err := db.AssignNextJob(ctx, r, fmt.Sprintf("w%d-%d", w, n), time.Now())
					if ci.IsNotFound(err) {
						return
					}
					if err != nil {
						t.Errorf("worker %d: %v", w, err)
						return
					}
					mu.Lock()
					if prev, dup := seen[j.ID]; dup {
						t.Errorf("job %d assigned to runners %d and %d", j.ID, prev, r.ID)
					}
					seen[j.ID] = r.ID
					mu.Unlock()
				}
			}(w)
		}
		wg.Wait()
		if len(seen) != workers*perWorker {
			t.Errorf("%d jobs assigned, want %d", len(seen), workers*perWorker)
		}
		_, total, err := db.ListJobs(ctx, ci.JobFilter{Statuses: []ci.Status{ci.StatusPending}})
		if err != nil || total != 0 {
			t.Errorf("%d jobs still pending (%v)", total, err)
		}
	})
}
