package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestListPipelinesFilters: the created/updated bounds (exclusive),
// yaml_errors and name filters GitLab clients send.
func TestListPipelinesFilters(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		other := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		mk := func(project int64, name, yamlErrors string) *ci.Pipeline {
			// Distinct instants, so that one pipeline's time bounds another's.
			time.Sleep(2 * time.Millisecond)
			p := &ci.Pipeline{ProjectID: project, Ref: "main", SHA: "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", Source: ci.SourcePush,
				Status: ci.StatusCreated, Name: name, YAMLErrors: yamlErrors}
			must(t, db.CreatePipeline(ctx, p, nil))
			return p
		}
		a := mk(proj.ID, "nightly", "")
		b := mk(proj.ID, "", "jobs config should contain at least one visible job")
		c := mk(proj.ID, "nightly", "")
		mk(other.ID, "nightly", "")
		// a is updated last: its updated_at is after c's.
		time.Sleep(2 * time.Millisecond)
		a.Status = ci.StatusRunning
		must(t, db.UpdatePipeline(ctx, a))
		yes, no := true, false
		for _, tc := range []struct {
			name string
			f    ci.PipelineFilter
			want []int64
		}{
			{"created after a", ci.PipelineFilter{CreatedAfter: &a.CreatedAt}, []int64{c.ID, b.ID}},
			{"created before c", ci.PipelineFilter{CreatedBefore: &c.CreatedAt}, []int64{b.ID, a.ID}},
			{"created between", ci.PipelineFilter{CreatedAfter: &a.CreatedAt, CreatedBefore: &c.CreatedAt}, []int64{b.ID}},
			{"updated after c", ci.PipelineFilter{UpdatedAfter: &c.UpdatedAt}, []int64{a.ID}},
			{"updated before a", ci.PipelineFilter{UpdatedBefore: &a.UpdatedAt}, []int64{c.ID, b.ID}},
			{"with yaml errors", ci.PipelineFilter{YAMLErrors: &yes}, []int64{b.ID}},
			{"without yaml errors", ci.PipelineFilter{YAMLErrors: &no}, []int64{c.ID, a.ID}},
			{"name", ci.PipelineFilter{Name: "nightly"}, []int64{c.ID, a.ID}},
			{"unknown name", ci.PipelineFilter{Name: "night"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.ProjectID = proj.ID
				ps, total, err := db.ListPipelines(ctx, tc.f)
				must(t, err)
				var got []int64
				for _, p := range ps {
					got = append(got, p.ID)
				}
				if total != len(tc.want) || !equal(got, tc.want) {
					t.Errorf("ListPipelines = %v (total %d), want %v", got, total, tc.want)
				}
			})
		}
		got, err := db.PipelineByID(ctx, a.ID)
		if err != nil || got.Name != "nightly" {
			t.Errorf("PipelineByID name = %q, %v", got.Name, err)
		}
	})
}

// TestEraseJob: erasing removes the log and records who and when; an
// unfinished job cannot be erased.
func TestEraseJob(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		_, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
		j := jobs[0]
		if _, err := db.AppendTrace(ctx, j.ID, 0, []byte("secret output\n")); err != nil {
			t.Fatal(err)
		}
		WantKind(t, db.EraseJob(ctx, j, u.ID, time.Now()), ci.KindConflict)
		if data, _ := db.ReadTrace(ctx, j.ID, 0, 0); string(data) != "secret output\n" {
			t.Fatalf("refused erase changed the log: %q", data)
		}
		now := time.Now()
		j.Status, j.FinishedAt = ci.StatusSuccess, &now
		must(t, db.UpdateJob(ctx, j, ci.StatusPending))
		must(t, db.EraseJob(ctx, j, u.ID, now))
		got, err := db.JobByID(ctx, j.ID)
		must(t, err)
		if got.TraceSize != 0 || got.ErasedAt == nil || got.ErasedBy != u.ID || got.Status != ci.StatusSuccess {
			t.Errorf("erased job = size %d, erased %v by %d, status %s", got.TraceSize, got.ErasedAt, got.ErasedBy, got.Status)
		}
		if data, err := db.ReadTrace(ctx, j.ID, 0, 0); err != nil || len(data) != 0 {
			t.Errorf("log after erase = %q, %v; want empty", data, err)
		}
		WantKind(t, db.EraseJob(ctx, &ci.Job{ID: j.ID + 1000}, u.ID, now), ci.KindNotFound)
	})
}

// TestCommitStatuses: one status per (sha, ref, name), updated in place.
func TestCommitStatuses(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		sha := "abcdef1234567890abcdef1234567890abcdef12"
		started := time.Now().Add(-time.Minute)
		first := &ci.CommitStatus{ProjectID: proj.ID, SHA: sha, Ref: "main", Name: "lint", Status: ci.StatusRunning,
			TargetURL: "https://ci.example/1", AuthorID: u.ID, StartedAt: &started}
		must(t, db.SetCommitStatus(ctx, first))
		cov := 81.5
		done := time.Now()
		again := &ci.CommitStatus{ProjectID: proj.ID, SHA: sha, Ref: "main", Name: "lint", Status: ci.StatusSuccess,
			Description: "all good", Coverage: &cov, AuthorID: u.ID, StartedAt: &done, FinishedAt: &done}
		must(t, db.SetCommitStatus(ctx, again))
		if again.ID != first.ID || again.StartedAt == nil || !again.StartedAt.Equal(*first.StartedAt) || again.Coverage == nil || *again.Coverage != 81.5 {
			t.Errorf("update = %+v, want id %d and the first start", again, first.ID)
		}
		must(t, db.SetCommitStatus(ctx, &ci.CommitStatus{ProjectID: proj.ID, SHA: sha, Ref: "main", Name: "test", Status: ci.StatusPending}))
		must(t, db.SetCommitStatus(ctx, &ci.CommitStatus{ProjectID: proj.ID, SHA: sha, Ref: "other", Name: "lint", Status: ci.StatusFailed}))
		for _, tc := range []struct {
			f    ci.CommitStatusFilter
			want []string
		}{
			{ci.CommitStatusFilter{}, []string{"main/lint/success", "main/test/pending", "other/lint/failed"}},
			{ci.CommitStatusFilter{Ref: "main"}, []string{"main/lint/success", "main/test/pending"}},
			{ci.CommitStatusFilter{Name: "lint"}, []string{"main/lint/success", "other/lint/failed"}},
			{ci.CommitStatusFilter{SHA: "abcdef1"}, nil},
		} {
			tc.f.ProjectID = proj.ID
			if tc.f.SHA == "" {
				tc.f.SHA = sha
			}
			list, total, err := db.ListCommitStatuses(ctx, tc.f)
			must(t, err)
			var got []string
			for _, s := range list {
				got = append(got, s.Ref+"/"+s.Name+"/"+string(s.Status))
			}
			if total != len(tc.want) || !equal(got, tc.want) {
				t.Errorf("ListCommitStatuses(%+v) = %v (total %d), want %v", tc.f, got, total, tc.want)
			}
		}
		list, total, err := db.ListCommitStatuses(ctx, ci.CommitStatusFilter{ProjectID: proj.ID, SHA: sha, Page: ci.Page{Page: 2, PerPage: 2}})
		if err != nil || total != 3 || len(list) != 1 {
			t.Errorf("page 2 = %d statuses of %d, %v", len(list), total, err)
		}
	})
}

// TestEnableRunner: a project runner enabled for another project runs
// and lists there until disabled.
func TestEnableRunner(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		group := MustGroup(t, db, 0, ci.VisibilityPrivate)
		owner := MustProject(t, db, group.ID, ci.VisibilityPrivate)
		proj := MustProject(t, db, group.ID, ci.VisibilityPrivate)
		rn := &ci.Runner{RunnerType: ci.RunnerProject, ProjectID: owner.ID, RunUntagged: true, TokenHash: "r1"}
		must(t, db.CreateRunner(ctx, rn))
		groupRunner := &ci.Runner{RunnerType: ci.RunnerGroup, NamespaceID: group.ID, TokenHash: "r2"}
		must(t, db.CreateRunner(ctx, groupRunner))
		instance := &ci.Runner{RunnerType: ci.RunnerInstance, TokenHash: "r3"}
		must(t, db.CreateRunner(ctx, instance))
		MustPipeline(t, db, proj.ID, "main", map[string][]string{"a": nil})

		listed := func() []int64 {
			rs, _, err := db.ListRunners(ctx, ci.RunnerFilter{ProjectID: proj.ID})
			must(t, err)
			var ids []int64
			for _, r := range rs {
				ids = append(ids, r.ID)
			}
			return ids
		}
		if got := listed(); !equal(got, []int64{groupRunner.ID, instance.ID}) {
			t.Errorf("runners of proj = %v, want the group and instance runners", got)
		}
		_, err := db.AssignNextJob(ctx, rn, "t1", time.Now())
		WantKind(t, err, ci.KindNotFound)

		must(t, db.EnableRunner(ctx, rn.ID, proj.ID))
		WantKind(t, db.EnableRunner(ctx, rn.ID, proj.ID), ci.KindConflict)
		WantKind(t, db.EnableRunner(ctx, rn.ID, owner.ID), ci.KindConflict)
		WantKind(t, db.EnableRunner(ctx, instance.ID, proj.ID), ci.KindInvalid)
		WantKind(t, db.EnableRunner(ctx, rn.ID, proj.ID+1000), ci.KindNotFound)
		if got := listed(); !equal(got, []int64{rn.ID, groupRunner.ID, instance.ID}) {
			t.Errorf("runners of proj after enabling = %v", got)
		}
		if ids, err := db.RunnerProjects(ctx, rn.ID); err != nil || !equal(ids, []int64{proj.ID}) {
			t.Errorf("RunnerProjects = %v, %v", ids, err)
		}
		j, err := db.AssignNextJob(ctx, rn, "t2", time.Now())
		if err != nil || j.ProjectID != proj.ID {
			t.Fatalf("enabled runner assigned %+v, %v", j, err)
		}

		must(t, db.DisableRunner(ctx, rn.ID, proj.ID))
		WantKind(t, db.DisableRunner(ctx, rn.ID, proj.ID), ci.KindNotFound)
		MustPipeline(t, db, proj.ID, "main", map[string][]string{"b": nil})
		_, err = db.AssignNextJob(ctx, rn, "t3", time.Now())
		WantKind(t, err, ci.KindNotFound)
	})
}

// TestTriggerByIDAndUpdate: a trigger is found only in its project.
func TestTriggerByIDAndUpdate(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		other := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		tr := &ci.Trigger{ProjectID: proj.ID, OwnerID: u.ID, Description: "old", TokenHash: "h", TokenTail: "abcd"}
		must(t, db.CreateTrigger(ctx, tr))
		_, err := db.TriggerByID(ctx, other.ID, tr.ID)
		WantKind(t, err, ci.KindNotFound)
		tr.Description = "new"
		must(t, db.UpdateTrigger(ctx, tr))
		got, err := db.TriggerByID(ctx, proj.ID, tr.ID)
		if err != nil || got.Description != "new" || got.OwnerID != u.ID {
			t.Errorf("TriggerByID = %+v, %v", got, err)
		}
		WantKind(t, db.UpdateTrigger(ctx, &ci.Trigger{ID: tr.ID, ProjectID: other.ID}), ci.KindNotFound)
	})
}

// TestPipelineFilterPlans: the conditions ListPipelines adds for the
// created/updated, yaml_errors and name filters are answered from an
// index on both engines, never by scanning every pipeline. (The WHERE
// clauses are ListPipelines'; the plans are the engines'.)
func TestPipelineFilterPlans(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		g := MustGroup(t, db, 0, ci.VisibilityPrivate)
		var projs []*ci.Project
		for i := 0; i < 20; i++ {
			projs = append(projs, MustProject(t, db, g.ID, ci.VisibilityPrivate))
		}
		for i := 0; i < 2000; i++ {
			p := &ci.Pipeline{ProjectID: projs[i%20].ID, Ref: "main", SHA: fmt.Sprintf("%040x", i), Source: ci.SourcePush,
				Status: ci.StatusSuccess, Name: fmt.Sprintf("n%d", i%7)}
			if i%50 == 0 {
				p.YAMLErrors = "bad"
			}
			must(t, db.CreatePipeline(ctx, p, nil))
		}
		if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		// An instant after every pipeline: created_after it selects none.
		later := "'2999-01-01T00:00:00.000000Z'"
		fullScan := "SCAN pipelines"
		if db.Dialect() == "postgres" {
			later, fullScan = "'2999-01-01T00:00:00Z'::timestamptz", "Seq Scan on pipelines"
		}
		pid := projs[3].ID
		for index, where := range map[string]string{
			"pipelines_project_created":     fmt.Sprintf("project_id = %d AND created_at > %s", pid, later),
			"pipelines_project_updated":     fmt.Sprintf("project_id = %d AND updated_at > %s", pid, later),
			"pipelines_project_yaml_errors": fmt.Sprintf("project_id = %d AND yaml_errors <> ''", pid),
			"pipelines_project_name":        fmt.Sprintf("project_id = %d AND name = 'n3'", pid),
		} {
			plan, err := db.Plan(ctx, false, "SELECT id FROM pipelines WHERE "+where+" ORDER BY id DESC LIMIT 20")
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(plan, "\n")
			ok := strings.Contains(joined, index)
			if db.Dialect() != "postgres" && strings.Contains(index, "ated") {
				// SQLite prefers walking the project's pipelines by id
				// (no sort for ORDER BY id) to a time range it cannot
				// estimate; still only that project's rows.
				ok = ok || strings.Contains(joined, "pipelines_project_id (project_id=?)")
			}
			if strings.Contains(joined, fullScan) || !ok {
				t.Errorf("%s:\n%s\nwant %s", where, joined, index)
			}
		}
	})
}
