package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
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
