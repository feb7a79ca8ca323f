package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

// plan is the engine's plan for q with args, one line per node.
func plan(t *testing.T, db *store.DB, q string, args ...any) string {
	t.Helper()
	lines, err := db.Plan(context.Background(), false, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// TestWaitingJobsPlan: the resource-group hand-over reads a group's
// waiting jobs from jobs_resource_group on both engines, not from every
// waiting job of the instance or every job of the project.
func TestWaitingJobsPlan(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		var projs []*ci.Project
		for range 5 {
			projs = append(projs, storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate))
		}
		for i := range 300 {
			p := &ci.Pipeline{ProjectID: projs[i%5].ID, Ref: "main", SHA: fmt.Sprintf("%040x", i), Source: ci.SourcePush,
				Status: ci.StatusSuccess}
			var jobs []*ci.Job
			for k := range 10 {
				st := ci.StatusSuccess
				if (i+k)%10 == 0 {
					st = ci.StatusWaitingForResource
				}
				j := &ci.Job{ProjectID: p.ProjectID, Name: fmt.Sprintf("j%d", k), Stage: "test", Status: st, Attempt: 1,
					Spec: ci.JobSpec{Name: fmt.Sprintf("j%d", k), Stage: "test"}}
				if k < 3 {
					j.Spec.ResourceGroup = fmt.Sprintf("rg%d", k)
				}
				jobs = append(jobs, j)
			}
			if err := db.CreatePipeline(ctx, p, jobs); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		got := plan(t, db, `SELECT id FROM jobs WHERE `+store.WaitingJobsWhere+` ORDER BY id LIMIT 1`,
			projs[4].ID, "rg1", string(ci.StatusWaitingForResource))
		if !strings.Contains(got, "jobs_resource_group") {
			t.Errorf("waiting jobs of a group:\n%s\nwant jobs_resource_group", got)
		}
		waiting, err := db.WaitingJobs(ctx, projs[4].ID, "rg1", ci.ProcessUnordered, 100)
		if err != nil {
			t.Fatal(err)
		}
		var want int
		for i := range 300 {
			if i%5 == 4 && (i+1)%10 == 0 {
				want++
			}
		}
		if len(waiting) != want || want == 0 {
			t.Fatalf("%d waiting jobs of project 5's rg1, want %d", len(waiting), want)
		}
		for _, j := range waiting {
			if j.ProjectID != projs[4].ID || j.Name != "j1" || j.Status != ci.StatusWaitingForResource {
				t.Errorf("listed %d: project %d %s %s", j.ID, j.ProjectID, j.Name, j.Status)
			}
		}
	})
}

// TestUnfinishedPipelinesPlan: the scheduler's sweep, every Interval on
// every replica, reads the unfinished pipelines from an index, not by
// scanning every pipeline ever run. (The WHERE and ORDER BY are
// ListPipelines' for the sweep's filter: Statuses, order by id.)
func TestUnfinishedPipelinesPlan(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
		for i := range 2000 {
			st := ci.StatusSuccess
			if i%100 == 0 {
				st = ci.StatusRunning
			}
			p := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: fmt.Sprintf("%040x", i), Source: ci.SourcePush, Status: st}
			if err := db.CreatePipeline(ctx, p, nil); err != nil {
				t.Fatal(err)
			}
		}
		q := `SELECT id FROM pipelines WHERE status IN ('created', 'waiting_for_resource', 'preparing', 'pending', 'running', 'canceling', 'manual', 'scheduled')
			ORDER BY id ASC, id ASC LIMIT 100 OFFSET 0`
		fullScan := "SCAN pipelines"
		if db.Dialect() == "postgres" {
			fullScan = "Seq Scan on pipelines"
		}
		for _, analyzed := range []bool{false, true} {
			if analyzed {
				if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
					t.Fatal(err)
				}
			}
			got := plan(t, db, q)
			if strings.Contains(got, fullScan) || !strings.Contains(got, "pipelines_status_id") {
				t.Errorf("unfinished pipelines (analyzed %v):\n%s\nwant pipelines_status_id", analyzed, got)
			}
		}
	})
}
