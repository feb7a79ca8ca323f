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

func TestPipelines(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj, other := MustProject(t, db, ns.ID, ci.VisibilityPrivate), MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		p := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: "ABCDEF1234567890abcdef1234567890abcdef12", Source: ci.SourcePush,
			UserID: u.ID, Variables: []ci.Variable{{Key: "K", Value: "v", Masked: true}}, CommitTitle: "first"}
		jobs := []*ci.Job{
			{Name: "build", Stage: "build", Spec: ci.JobSpec{Name: "build", Script: []string{"make"}, Tags: []string{"linux", "linux"}}},
			{Spec: ci.JobSpec{Name: "test", Stage: "test"}, StageIdx: 1},
		}
		if err := db.CreatePipeline(ctx, p, jobs); err != nil {
			t.Fatal(err)
		}
		if p.IID != 1 || p.Status != ci.StatusCreated || p.SHA != "abcdef1234567890abcdef1234567890abcdef12" {
			t.Errorf("created %+v", p)
		}
		got, err := db.PipelineByID(ctx, p.ID)
		if err != nil || got.IID != 1 || got.Variables[0] != p.Variables[0] || got.CommitTitle != "first" ||
			!got.CreatedAt.Equal(p.CreatedAt) || got.StartedAt != nil {
			t.Errorf("PipelineByID = %+v, %v", got, err)
		}
		for _, j := range jobs {
			if j.ID == 0 || j.PipelineID != p.ID || j.ProjectID != proj.ID || j.Attempt != 1 || j.Status != ci.StatusCreated {
				t.Errorf("job %+v", j)
			}
		}
		if jobs[1].Name != "test" {
			t.Errorf("job name not taken from spec: %q", jobs[1].Name)
		}
		gotJob, err := db.JobByID(ctx, jobs[0].ID)
		if err != nil || gotJob.Spec.Script[0] != "make" || gotJob.Name != "build" {
			t.Errorf("JobByID = %+v, %v", gotJob, err)
		}
		WantKind(t, db.CreatePipeline(ctx, &ci.Pipeline{ProjectID: 9999, Ref: "main", SHA: "x"}, nil), ci.KindNotFound)

		t.Run("iids per project, concurrently", func(t *testing.T) {
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- db.CreatePipeline(ctx, &ci.Pipeline{ProjectID: other.ID, Ref: "main", SHA: "b", Source: ci.SourceAPI},
						[]*ci.Job{{Name: "j"}})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				must(t, err)
			}
			ps, total, err := db.ListPipelines(ctx, ci.PipelineFilter{ProjectID: other.ID, Sort: "asc"})
			must(t, err)
			if total != 20 {
				t.Fatalf("total %d", total)
			}
			for i, p := range ps {
				if p.IID != int64(i+1) {
					t.Errorf("pipeline %d has iid %d, want %d", p.ID, p.IID, i+1)
				}
			}
		})

		t.Run("update", func(t *testing.T) {
			start := time.Date(2026, 2, 3, 4, 5, 6, 789000, time.UTC)
			p.Status, p.StartedAt = ci.StatusRunning, &start
			must(t, db.UpdatePipeline(ctx, p))
			got, _ := db.PipelineByID(ctx, p.ID)
			if got.Status != ci.StatusRunning || got.StartedAt == nil || !got.StartedAt.Equal(start) || !got.UpdatedAt.Equal(p.UpdatedAt) {
				t.Errorf("after update %+v", got)
			}
			WantKind(t, db.UpdatePipeline(ctx, &ci.Pipeline{ID: 9999}), ci.KindNotFound)
		})

		t.Run("delete", func(t *testing.T) {
			victim, vjobs := MustPipeline(t, db, proj.ID, "gone", map[string][]string{"a": nil})
			must(t, db.DeletePipeline(ctx, victim.ID))
			_, err := db.JobByID(ctx, vjobs[0].ID)
			WantKind(t, err, ci.KindNotFound)
			WantKind(t, db.DeletePipeline(ctx, victim.ID), ci.KindNotFound)
		})
	})
}

func TestListPipelines(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		mk := func(ref string, tag bool, sha string, status ci.Status, user int64) int64 {
			p := &ci.Pipeline{ProjectID: proj.ID, Ref: ref, Tag: tag, SHA: sha, Source: ci.SourcePush, Status: status, UserID: user}
			must(t, db.CreatePipeline(ctx, p, nil))
			return p.ID
		}
		sha1 := "1111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		sha2 := "1111111bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		a := mk("main", false, sha1, ci.StatusSuccess, u.ID)
		b := mk("main", false, sha2, ci.StatusRunning, 0)
		c := mk("feature", false, sha2, ci.StatusFailed, 0)
		d := mk("v1.0", true, sha1, ci.StatusPending, 0)
		e := mk("v1.0", true, sha1, ci.StatusCanceled, 0)
		for _, tc := range []struct {
			name string
			f    ci.PipelineFilter
			want []int64
		}{
			{"all newest first", ci.PipelineFilter{}, []int64{e, d, c, b, a}},
			{"ref", ci.PipelineFilter{Ref: "main"}, []int64{b, a}},
			{"full sha", ci.PipelineFilter{SHA: sha1}, []int64{e, d, a}},
			{"sha prefix", ci.PipelineFilter{SHA: "1111111"}, []int64{e, d, c, b, a}},
			{"longer sha prefix, upper case", ci.PipelineFilter{SHA: "1111111BB"}, []int64{c, b}},
			{"statuses", ci.PipelineFilter{Statuses: []ci.Status{ci.StatusSuccess, ci.StatusFailed}}, []int64{c, a}},
			{"scope running", ci.PipelineFilter{Scope: "running"}, []int64{b}},
			{"scope pending", ci.PipelineFilter{Scope: "pending"}, []int64{d}},
			{"scope finished", ci.PipelineFilter{Scope: "finished"}, []int64{e, c, a}},
			{"scope branches", ci.PipelineFilter{ProjectID: proj.ID, Scope: "branches"}, []int64{c, b}},
			{"scope tags", ci.PipelineFilter{Scope: "tags"}, []int64{e}},
			{"user", ci.PipelineFilter{UserID: u.ID}, []int64{a}},
			{"source", ci.PipelineFilter{Source: ci.SourceAPI}, nil},
			{"order by ref asc", ci.PipelineFilter{OrderBy: "ref", Sort: "asc"}, []int64{c, a, b, d, e}},
			{"project", ci.PipelineFilter{ProjectID: proj.ID + 1000}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
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
		ps, total, err := db.ListPipelines(ctx, ci.PipelineFilter{Page: ci.Page{Page: 3, PerPage: 2}})
		if err != nil || total != 5 || len(ps) != 1 || ps[0].ID != a {
			t.Errorf("page 3 = %v, total %d, %v", ps, total, err)
		}
		for _, f := range []ci.PipelineFilter{{SHA: "111111"}, {SHA: "zzzzzzzz"}, {Scope: "weird"}, {OrderBy: "sha"}} {
			_, _, err := db.ListPipelines(ctx, f)
			WantKind(t, err, ci.KindInvalid)
		}
	})
}

func TestJobs(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		p, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
		j := jobs[0]

		t.Run("update is compare-and-set", func(t *testing.T) {
			start := time.Now()
			code := 3
			j.Status, j.RunnerID, j.TokenHash, j.StartedAt, j.ExitCode = ci.StatusRunning, 7, "tok", &start, &code
			must(t, db.UpdateJob(ctx, j, ci.StatusPending))
			got, err := db.JobByTokenHash(ctx, "tok")
			if err != nil || got.ID != j.ID || got.Status != ci.StatusRunning || got.RunnerID != 7 || *got.ExitCode != 3 ||
				!got.StartedAt.Equal(*j.StartedAt) {
				t.Errorf("JobByTokenHash = %+v, %v", got, err)
			}
			stale := *j
			stale.Status = ci.StatusFailed
			err = db.UpdateJob(ctx, &stale, ci.StatusPending)
			WantKind(t, err, ci.KindConflict)
			if got, _ := db.JobByID(ctx, j.ID); got.Status != ci.StatusRunning {
				t.Errorf("conflicting update changed status to %s", got.Status)
			}
			WantKind(t, db.UpdateJob(ctx, &ci.Job{ID: 9999, Status: ci.StatusFailed}, ci.StatusPending), ci.KindNotFound)
			_, err = db.JobByTokenHash(ctx, "")
			WantKind(t, err, ci.KindNotFound)
			_, err = db.JobByTokenHash(ctx, "other")
			WantKind(t, err, ci.KindNotFound)
		})

		t.Run("touch and stale", func(t *testing.T) {
			old := time.Now().Add(-time.Hour)
			must(t, db.TouchJob(ctx, j.ID, old))
			stale, err := db.ListStaleJobs(ctx, time.Now().Add(-time.Minute), 10)
			if err != nil || len(stale) != 1 || stale[0].ID != j.ID {
				t.Errorf("ListStaleJobs = %v, %v", stale, err)
			}
			must(t, db.TouchJob(ctx, j.ID, time.Now()))
			stale, err = db.ListStaleJobs(ctx, time.Now().Add(-time.Minute), 10)
			if err != nil || len(stale) != 0 {
				t.Errorf("ListStaleJobs after touch = %v, %v", stale, err)
			}
			WantKind(t, db.TouchJob(ctx, 9999, old), ci.KindNotFound)
		})

		t.Run("retry", func(t *testing.T) {
			j.Status, j.TokenHash = ci.StatusFailed, ""
			must(t, db.UpdateJob(ctx, j, ci.StatusRunning))
			WantKind(t, db.TouchJob(ctx, j.ID, time.Now()), ci.KindConflict)
			next := &ci.Job{Name: j.Name, Stage: j.Stage, Status: ci.StatusPending, Spec: j.Spec, Attempt: 2}
			must(t, db.RetryJob(ctx, j, next))
			if next.ID == 0 || next.PipelineID != p.ID || !j.Retried {
				t.Errorf("retry: old %+v next %+v", j, next)
			}
			WantKind(t, db.RetryJob(ctx, j, &ci.Job{Name: j.Name}), ci.KindConflict)
			WantKind(t, db.RetryJob(ctx, &ci.Job{ID: 9999}, &ci.Job{Name: "x", PipelineID: p.ID, ProjectID: proj.ID}), ci.KindNotFound)
			list, total, err := db.ListJobs(ctx, ci.JobFilter{PipelineID: p.ID})
			if err != nil || total != 1 || list[0].ID != next.ID {
				t.Errorf("ListJobs without retried = %v (%d), %v", list, total, err)
			}
			list, total, err = db.ListJobs(ctx, ci.JobFilter{PipelineID: p.ID, IncludeRetried: true, Ascending: true})
			if err != nil || total != 2 || list[0].ID != j.ID || !list[0].Retried || list[1].Attempt != 2 {
				t.Errorf("ListJobs with retried = %v (%d), %v", list, total, err)
			}
		})

		t.Run("list filters", func(t *testing.T) {
			p2, _ := MustPipeline(t, db, proj.ID, "main", map[string][]string{"a": nil, "b": nil, "c": nil})
			for _, tc := range []struct {
				name string
				f    ci.JobFilter
				want int
				n    int
			}{
				{"project", ci.JobFilter{ProjectID: proj.ID}, 4, 4},
				{"pipeline and name", ci.JobFilter{PipelineID: p2.ID, Name: "b"}, 1, 1},
				{"statuses", ci.JobFilter{Statuses: []ci.Status{ci.StatusPending}}, 4, 4},
				{"page", ci.JobFilter{ProjectID: proj.ID, Page: ci.Page{Page: 2, PerPage: 3}}, 4, 1},
			} {
				t.Run(tc.name, func(t *testing.T) {
					list, total, err := db.ListJobs(ctx, tc.f)
					if err != nil || total != tc.want || len(list) != tc.n {
						t.Errorf("ListJobs = %d rows, total %d, %v; want %d, %d", len(list), total, err, tc.n, tc.want)
					}
				})
			}
		})
	})
}

func TestTrace(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		_, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
		id := jobs[0].ID
		if got, err := db.ReadTrace(ctx, id, 0, 0); err != nil || len(got) != 0 {
			t.Errorf("empty trace = %q, %v", got, err)
		}
		for _, step := range []struct {
			offset int64
			data   string
			size   int64
			kind   ci.Kind
		}{
			{0, "hello ", 6, ""},
			{6, "world\n", 12, ""},
			{6, "again", 12, ci.KindConflict},
			{20, "ahead", 12, ci.KindConflict},
			{12, "", 12, ""},
			{12, "bye\n", 16, ""},
		} {
			size, err := db.AppendTrace(ctx, id, step.offset, []byte(step.data))
			if ci.KindOf(err) != step.kind || size != step.size {
				t.Errorf("AppendTrace(%d, %q) = %d, %v; want %d, kind %q", step.offset, step.data, size, err, step.size, step.kind)
			}
		}
		for _, tc := range []struct {
			offset, limit int64
			want          string
		}{
			{0, 0, "hello world\nbye\n"},
			{3, 0, "lo world\nbye\n"},
			{3, 5, "lo wo"},
			{6, 6, "world\n"},
			{14, 100, "e\n"},
			{16, 0, ""},
		} {
			got, err := db.ReadTrace(ctx, id, tc.offset, tc.limit)
			if err != nil || string(got) != tc.want {
				t.Errorf("ReadTrace(%d, %d) = %q, %v; want %q", tc.offset, tc.limit, got, err, tc.want)
			}
		}
		if j, _ := db.JobByID(ctx, id); j.TraceSize != 16 {
			t.Errorf("TraceSize = %d", j.TraceSize)
		}
		_, err := db.AppendTrace(ctx, 9999, 0, []byte("x"))
		WantKind(t, err, ci.KindNotFound)
		_, err = db.ReadTrace(ctx, 9999, 0, 0)
		WantKind(t, err, ci.KindNotFound)

		t.Run("concurrent appenders at one offset", func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := 0; i < 10; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					_, err := db.AppendTrace(ctx, id, 16, []byte(fmt.Sprintf("writer %d\n", i)))
					if err == nil {
						mu.Lock()
						wins++
						mu.Unlock()
					} else if !ci.IsConflict(err) {
						t.Errorf("AppendTrace: %v", err)
					}
				}(i)
			}
			wg.Wait()
			if wins != 1 {
				t.Errorf("%d appenders won offset 16, want 1", wins)
			}
		})
	})
}
