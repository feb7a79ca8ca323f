package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store/storetest"
)

// TestTestReportPageBound: a suite with more cases than the Tests tab lists
// shows its failures first and says how many more the API has.
func TestTestReportPageBound(t *testing.T) {
	f := newFixture(t, 1)
	ctx := context.Background()
	jobs, _, err := f.db.ListJobs(ctx, ci.JobFilter{PipelineID: f.pipeline.ID})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v %v", jobs, err)
	}
	suite := &ci.TestSuite{Name: "unit"}
	n := maxWebTestCases + 7
	for i := range n {
		tc := ci.TestCase{Status: ci.TestSuccess, Name: fmt.Sprintf("case-%d-end", i)}
		if i == n-1 {
			tc.Status, tc.SystemOutput = ci.TestFailed, "<script>bad()</script>"
		}
		suite.Cases = append(suite.Cases, tc)
		suite.Counts.Add(tc)
	}
	a := &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeJUnit, FileFormat: ci.FormatGzip, BlobKey: "k", Size: 1}
	if err := f.db.CreateTestReport(ctx, a, suite); err != nil {
		t.Fatal(err)
	}
	w := f.get(fmt.Sprintf("/root/app/-/pipelines/%d/test_report", f.pipeline.ID), f.cookie)
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if got := strings.Count(body, `<tr class="t-`); got != maxWebTestCases {
		t.Errorf("%d rows, want %d", got, maxWebTestCases)
	}
	for _, want := range []string{fmt.Sprintf("case-%d-end", n-1), "&lt;script&gt;bad()", `id="tests-total">` + fmt.Sprint(n) + `<`, "7 more cases are not listed here"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// suiteCounter is the real store, counting the reads of test suites.
type suiteCounter struct {
	Store
	reads int
}

func (s *suiteCounter) PipelineTestSuites(ctx context.Context, pipelineID int64, withCases bool) ([]*ci.TestSuite, error) {
	s.reads++
	return s.Store.PipelineTestSuites(ctx, pipelineID, withCases)
}

// TestTestReportPageReadsSuitesOnce: the Tests tab's count comes from the
// report the page shows, not from a second read of the suites.
func TestTestReportPageReadsSuitesOnce(t *testing.T) {
	var counter *suiteCounter
	f := newFixtureOn(t, storetest.OpenSQLite(t), 1, func(d *Deps) { counter = &suiteCounter{Store: d.Store}; d.Store = counter })
	ctx := context.Background()
	jobs, _, err := f.db.ListJobs(ctx, ci.JobFilter{PipelineID: f.pipeline.ID})
	if err != nil || len(jobs) != 1 {
		t.Fatalf("jobs %v %v", jobs, err)
	}
	suite := &ci.TestSuite{Name: "unit"}
	for i := range 3 {
		tc := ci.TestCase{Status: ci.TestSuccess, Name: fmt.Sprintf("case-%d", i)}
		suite.Cases = append(suite.Cases, tc)
		suite.Counts.Add(tc)
	}
	a := &ci.Artifact{JobID: jobs[0].ID, FileType: ci.FileTypeJUnit, FileFormat: ci.FormatGzip, BlobKey: "k", Size: 1}
	if err := f.db.CreateTestReport(ctx, a, suite); err != nil {
		t.Fatal(err)
	}
	counter.reads = 0
	w := f.get(fmt.Sprintf("/root/app/-/pipelines/%d/test_report", f.pipeline.ID), f.cookie)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if counter.reads != 1 {
		t.Errorf("the page read the test suites %d times, want 1", counter.reads)
	}
	if !strings.Contains(w.Body.String(), `aria-current="page">Tests <span class="badge">3</span>`) {
		t.Errorf("the Tests tab does not show the 3 cases:\n%s", w.Body.String())
	}
}
