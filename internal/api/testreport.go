package api

import (
	"github.com/batonci/baton/internal/ci"
)

// The test report entities, in GitLab's shapes (TestReportEntity,
// TestSuiteEntity, TestCaseEntity, TestReportSummaryEntity).

type testCaseEntity struct {
	Status        string  `json:"status"`
	Name          string  `json:"name"`
	Classname     string  `json:"classname"`
	File          *string `json:"file"`
	ExecutionTime float64 `json:"execution_time"`
	SystemOutput  *string `json:"system_output"`
	StackTrace    *string `json:"stack_trace"`
}

type testSuiteEntity struct {
	Name         string           `json:"name"`
	TotalTime    float64          `json:"total_time"`
	TotalCount   int              `json:"total_count"`
	SuccessCount int              `json:"success_count"`
	FailedCount  int              `json:"failed_count"`
	SkippedCount int              `json:"skipped_count"`
	ErrorCount   int              `json:"error_count"`
	SuiteError   *string          `json:"suite_error"`
	TestCases    []testCaseEntity `json:"test_cases"`
}

type testReportEntity struct {
	TotalTime    float64           `json:"total_time"`
	TotalCount   int               `json:"total_count"`
	SuccessCount int               `json:"success_count"`
	FailedCount  int               `json:"failed_count"`
	SkippedCount int               `json:"skipped_count"`
	ErrorCount   int               `json:"error_count"`
	TestSuites   []testSuiteEntity `json:"test_suites"`
}

type testSuiteSummaryEntity struct {
	Name         string  `json:"name"`
	TotalTime    float64 `json:"total_time"`
	TotalCount   int     `json:"total_count"`
	SuccessCount int     `json:"success_count"`
	FailedCount  int     `json:"failed_count"`
	SkippedCount int     `json:"skipped_count"`
	ErrorCount   int     `json:"error_count"`
	BuildIDs     []int64 `json:"build_ids"`
	SuiteError   *string `json:"suite_error"`
}

type testTotalEntity struct {
	Time       float64 `json:"time"`
	Count      int     `json:"count"`
	Success    int     `json:"success"`
	Failed     int     `json:"failed"`
	Skipped    int     `json:"skipped"`
	Error      int     `json:"error"`
	SuiteError *string `json:"suite_error"`
}

type testReportSummaryEntity struct {
	Total      testTotalEntity          `json:"total"`
	TestSuites []testSuiteSummaryEntity `json:"test_suites"`
}

func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// testReport is GET /projects/:id/pipelines/:pipeline_id/test_report: the
// junit reports of the pipeline's latest jobs, one suite per job name.
func (s *Server) testReport(cl *call, pl *ci.Pipeline) (answer, error) {
	suites, err := s.Store.PipelineTestSuites(cl.ctx(), pl.ID, true)
	if err != nil {
		return answer{}, err
	}
	rep := ci.NewTestReport(suites)
	c := rep.Counts
	out := testReportEntity{TotalTime: c.Time, TotalCount: c.Total, SuccessCount: c.Success, FailedCount: c.Failed,
		SkippedCount: c.Skipped, ErrorCount: c.Err, TestSuites: []testSuiteEntity{}}
	for _, rs := range rep.Suites {
		c := rs.Counts
		e := testSuiteEntity{Name: rs.Name, TotalTime: c.Time, TotalCount: c.Total, SuccessCount: c.Success, FailedCount: c.Failed,
			SkippedCount: c.Skipped, ErrorCount: c.Err, SuiteError: orNull(rs.SuiteError), TestCases: make([]testCaseEntity, 0, len(rs.Cases))}
		for _, tc := range rs.Cases {
			e.TestCases = append(e.TestCases, testCaseEntity{Status: tc.Status, Name: tc.Name, Classname: tc.Classname, File: orNull(tc.File),
				ExecutionTime: tc.ExecutionTime, SystemOutput: orNull(tc.SystemOutput), StackTrace: orNull(tc.StackTrace)})
		}
		out.TestSuites = append(out.TestSuites, e)
	}
	return ok(out), nil
}

// testReportSummary is GET /projects/:id/pipelines/:pipeline_id/test_report_summary:
// the counts of testReport without the cases, with each suite's job ids.
func (s *Server) testReportSummary(cl *call, pl *ci.Pipeline) (answer, error) {
	suites, err := s.Store.PipelineTestSuites(cl.ctx(), pl.ID, false)
	if err != nil {
		return answer{}, err
	}
	rep := ci.NewTestReport(suites)
	c := rep.Counts
	out := testReportSummaryEntity{
		Total:      testTotalEntity{Time: c.Time, Count: c.Total, Success: c.Success, Failed: c.Failed, Skipped: c.Skipped, Error: c.Err},
		TestSuites: []testSuiteSummaryEntity{},
	}
	for _, rs := range rep.Suites {
		c := rs.Counts
		if rs.SuiteError != "" && out.Total.SuiteError == nil {
			out.Total.SuiteError = orNull(rs.SuiteError)
		}
		out.TestSuites = append(out.TestSuites, testSuiteSummaryEntity{Name: rs.Name, TotalTime: c.Time, TotalCount: c.Total,
			SuccessCount: c.Success, FailedCount: c.Failed, SkippedCount: c.Skipped, ErrorCount: c.Err, BuildIDs: rs.JobIDs,
			SuiteError: orNull(rs.SuiteError)})
	}
	return ok(out), nil
}
