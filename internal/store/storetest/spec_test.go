package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/postgres"
	"github.com/batonci/baton/internal/store/sqlite"
)

// A pipeline's spec (its global variables) is stored once, read only by
// PipelineSpec, and goes with the pipeline; jobs listed ScheduleOnly carry
// the scheduling part of their spec and nothing else, and cannot be copied
// into a new attempt.
func TestPipelineSpec(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, err := db.NamespaceOfUser(ctx, u.ID)
		must(t, err)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		big := strings.Repeat("v", 32<<10)
		p := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: strings.Repeat("a", 40), Source: ci.SourcePush,
			Spec: ci.PipelineSpec{Variables: []ci.Variable{{Key: "BIG", Value: big}, {Key: "RAW", Value: "$x", Raw: true}}}}
		var jobs []*ci.Job
		for i := 1; i <= 200; i++ {
			name := fmt.Sprintf("test %d/200", i)
			jobs = append(jobs, &ci.Job{Name: name, Stage: "test", StageIdx: 1, Spec: ci.JobSpec{
				Name: name, Stage: "test", Script: []string{"./test " + strings.Repeat("s", 100)},
				Variables: []ci.Variable{{Key: "OWN", Value: "job"}}, When: ci.WhenOnSuccess,
				Needs: []ci.Need{{Job: "build", Artifacts: true}}, HasNeeds: true, NodeIndex: i, NodeTotal: 200,
				AllowFailureExitCodes: []int{3}, Timeout: 60, Retry: ci.RetrySpec{Max: 2},
				Artifacts: &ci.ArtifactsSpec{Paths: []string{"out/"}},
			}})
		}
		must(t, db.CreatePipeline(ctx, p, jobs))

		var n int
		var specBytes, maxSpec int64
		must(t, db.SQL().QueryRow(fmt.Sprintf(`SELECT COUNT(*), SUM(LENGTH(spec)), MAX(LENGTH(spec)) FROM jobs WHERE pipeline_id = %d`, p.ID)).
			Scan(&n, &specBytes, &maxSpec))
		if n != 200 || maxSpec > 1024 || specBytes > 200*1024 {
			t.Errorf("jobs: %d rows, %d spec bytes, at most %d: the pipeline's variables leaked into jobs", n, specBytes, maxSpec)
		}
		spec, err := db.PipelineSpec(ctx, p.ID)
		must(t, err)
		if !reflect.DeepEqual(spec, &p.Spec) {
			t.Errorf("PipelineSpec = %d variables, want the stored %d", len(spec.Variables), len(p.Spec.Variables))
		}
		read, err := db.PipelineByID(ctx, p.ID)
		must(t, err)
		if read.Spec.Variables != nil {
			t.Errorf("PipelineByID carries the spec (%d variables)", len(read.Spec.Variables))
		}

		// ScheduleOnly: scheduling fields, no scripts, variables or artifacts.
		lite, _, err := db.ListJobs(ctx, ci.JobFilter{PipelineID: p.ID, Ascending: true, ScheduleOnly: true,
			Names: []string{"test 2/200", "test 7/200", "nope"}})
		must(t, err)
		if len(lite) != 2 || lite[0].Name != "test 2/200" || lite[1].Name != "test 7/200" {
			t.Fatalf("ListJobs Names = %d jobs", len(lite))
		}
		full := jobs[1].Spec
		want := ci.JobSpec{Name: full.Name, Stage: full.Stage, When: full.When, Needs: full.Needs, HasNeeds: true,
			NodeIndex: 2, NodeTotal: 200, AllowFailureExitCodes: []int{3}, Timeout: 60, Retry: ci.RetrySpec{Max: 2}}
		if !lite[0].PartialSpec || !reflect.DeepEqual(lite[0].Spec, want) {
			t.Errorf("ScheduleOnly job = partial %v spec %+v, want %+v", lite[0].PartialSpec, lite[0].Spec, want)
		}
		whole, err := db.JobByID(ctx, lite[0].ID)
		must(t, err)
		if whole.PartialSpec || !reflect.DeepEqual(whole.Spec, full) {
			t.Errorf("JobByID spec = %+v, want %+v", whole.Spec, full)
		}
		// A partial job must never become a new attempt with a cut spec.
		next := &ci.Job{Name: lite[0].Name, Stage: "test", Spec: lite[0].Spec, PartialSpec: true, Attempt: 2}
		if err := db.RetryJob(ctx, lite[0], next); err == nil {
			t.Errorf("RetryJob stored a partial spec")
		}

		// Without global variables no spec row is written; PipelineSpec is empty.
		other, _ := MustPipeline(t, db, proj.ID, "main", map[string][]string{"a": nil})
		empty, err := db.PipelineSpec(ctx, other.ID)
		must(t, err)
		if len(empty.Variables) != 0 {
			t.Errorf("PipelineSpec of a pipeline without one = %+v", empty)
		}

		must(t, db.DeletePipeline(ctx, p.ID))
		must(t, db.SQL().QueryRow(fmt.Sprintf(`SELECT COUNT(*) FROM pipeline_specs WHERE pipeline_id = %d`, p.ID)).Scan(&n))
		if n != 0 {
			t.Errorf("deleting the pipeline left its spec row")
		}
	})
}

// Jobs stored before migration 0002 get their scheduling fields into sched
// from their spec; the migration ran on a database with such a row.
func TestMigratedSched(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, err := db.NamespaceOfUser(ctx, u.ID)
		must(t, err)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		p, js := MustPipeline(t, db, proj.ID, "main", map[string][]string{"a": {"docker"}})
		// What a row written by the old code looks like: sched at its default.
		must2 := func(q string) {
			if _, err := db.SQL().Exec(fmt.Sprintf(q, js[0].ID)); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		must2(`UPDATE jobs SET sched = '{}', spec = '{"name":"a","stage":"test","script":["x"],"when":"manual","needs":[{"job":"b","artifacts":true}],"has_needs":true,"variables":[{"key":"K","value":"v"}],"retry":{}}' WHERE id = %d`)
		ms := migration0002(t, db)
		if _, err := db.SQL().Exec(ms); err != nil {
			t.Fatalf("re-running migration 0002's update: %v", err)
		}
		lite, _, err := db.ListJobs(ctx, ci.JobFilter{PipelineID: p.ID, ScheduleOnly: true})
		must(t, err)
		s := lite[0].Spec
		if s.When != ci.WhenManual || !s.HasNeeds || len(s.Needs) != 1 || s.Needs[0].Job != "b" || s.Variables != nil || s.Script != nil {
			t.Errorf("migrated sched = %+v", s)
		}
	})
}

// migration0002 returns the UPDATE statement of migration 0002 for db's engine.
func migration0002(t *testing.T, db *store.DB) string {
	t.Helper()
	load := sqlite.Migrations
	if db.Dialect() == "postgres" {
		load = postgres.Migrations
	}
	ms, err := load()
	must(t, err)
	var sqlText string
	for _, m := range ms {
		if m.Version == 2 {
			sqlText = m.SQL
		}
	}
	i := strings.Index(sqlText, "UPDATE jobs SET sched")
	if i < 0 {
		t.Fatalf("migration 0002 has no UPDATE of sched")
	}
	return sqlText[i:]
}
