package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

func TestTestReports(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		u := MustUser(t, db)
		ns, _ := db.NamespaceOfUser(ctx, u.ID)
		proj := MustProject(t, db, ns.ID, ci.VisibilityPrivate)
		p, jobs := MustPipeline(t, db, proj.ID, "main", map[string][]string{"unit": nil, "lint": nil})
		junit := func(j *ci.Job, key string) *ci.Artifact {
			return &ci.Artifact{JobID: j.ID, FileType: ci.FileTypeJUnit, FileFormat: ci.FormatGzip, Filename: "junit.gz", BlobKey: key, Size: 1}
		}
		// More cases than one INSERT batch, in an order the store must keep.
		suite := &ci.TestSuite{Name: "unit"}
		for i := range 2_501 {
			tc := ci.TestCase{Status: []string{ci.TestSuccess, ci.TestFailed, ci.TestSkipped, ci.TestError}[i%4],
				Name: fmt.Sprintf("case %d", i), Classname: "pkg", File: "a_test.go", ExecutionTime: 0.5, SystemOutput: "out", StackTrace: "trace"}
			suite.Cases = append(suite.Cases, tc)
			suite.Counts.Add(tc)
		}
		a := junit(jobs[0], "k1")
		must(t, db.CreateTestReport(ctx, a, suite))
		if a.ID == 0 || a.PipelineID != p.ID {
			t.Fatalf("artifact %+v", a)
		}
		WantKind(t, db.CreateTestReport(ctx, junit(jobs[0], "k2"), &ci.TestSuite{Name: "unit"}), ci.KindConflict)
		broken := &ci.TestSuite{Name: "lint", SuiteError: "JUnit XML parsing failed: x"}
		must(t, db.CreateTestReport(ctx, junit(jobs[1], "k3"), broken))

		got, err := db.PipelineTestSuites(ctx, p.ID, true)
		must(t, err)
		if len(got) != 2 || got[0].JobID != jobs[0].ID || got[1].SuiteError != broken.SuiteError || len(got[1].Cases) != 0 {
			t.Fatalf("suites = %+v", got)
		}
		if got[0].Counts != suite.Counts || fmt.Sprint(got[0].Cases) != fmt.Sprint(suite.Cases) {
			t.Errorf("suite read back differs:\n got %+v %v\nwant %+v %v", got[0].Counts, got[0].Cases[:2], suite.Counts, suite.Cases[:2])
		}
		summary, err := db.PipelineTestSuites(ctx, p.ID, false)
		must(t, err)
		if len(summary) != 2 || summary[0].Cases != nil || summary[0].Counts.Total != 2_501 {
			t.Errorf("summary suites = %+v", summary)
		}

		// A retried job's report no longer counts; its retry's does.
		next := &ci.Job{Name: jobs[0].Name, Stage: jobs[0].Stage, Status: ci.StatusPending}
		must(t, db.RetryJob(ctx, jobs[0], next))
		if got, _ := db.PipelineTestSuites(ctx, p.ID, false); len(got) != 1 || got[0].JobID != jobs[1].ID {
			t.Errorf("after retry: %+v", got)
		}
		// Deleting the artifact (expiry, erase) deletes its report.
		must(t, db.DeleteArtifact(ctx, a.ID))
		var n int
		must(t, db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM job_test_cases`).Scan(&n))
		if n != 0 {
			t.Errorf("%d test cases left after their artifact was deleted", n)
		}
	})
}

// BenchmarkTestReport stores a 10,000-case junit report per iteration and
// reads the pipeline's report back, on each engine.
func BenchmarkTestReport(b *testing.B) {
	ctx := context.Background()
	suite := &ci.TestSuite{Name: "unit"}
	for i := range 10_000 {
		tc := ci.TestCase{Status: ci.TestSuccess, Name: fmt.Sprintf("test number %d", i), Classname: "pkg.Class", ExecutionTime: 0.01}
		if i%10 == 0 {
			tc.Status, tc.SystemOutput, tc.StackTrace = ci.TestFailed, "boom", "trace line 1\ntrace line 2"
		}
		suite.Cases = append(suite.Cases, tc)
		suite.Counts.Add(tc)
	}
	for _, e := range Engines() {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			u := MustUser(b, db)
			ns, _ := db.NamespaceOfUser(ctx, u.ID)
			proj := MustProject(b, db, ns.ID, ci.VisibilityPrivate)
			b.Run("store", func(b *testing.B) {
				for b.Loop() {
					_, jobs := MustPipeline(b, db, proj.ID, "main", map[string][]string{"unit": nil})
					a := &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeJUnit, FileFormat: ci.FormatGzip, BlobKey: "k", Size: 1}
					if err := db.CreateTestReport(ctx, a, suite); err != nil {
						b.Fatal(err)
					}
				}
			})
			p, jobs := MustPipeline(b, db, proj.ID, "main", map[string][]string{"unit": nil})
			if err := db.CreateTestReport(ctx, &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeJUnit, FileFormat: ci.FormatGzip, BlobKey: "k", Size: 1}, suite); err != nil {
				b.Fatal(err)
			}
			b.Run("read", func(b *testing.B) {
				for b.Loop() {
					s, err := db.PipelineTestSuites(ctx, p.ID, true)
					if err != nil || len(s) != 1 || len(s[0].Cases) != 10_000 {
						b.Fatalf("%d suites, %v", len(s), err)
					}
				}
			})
		})
	}
}
