package ci

import (
	"cmp"
	"context"
	"slices"
	"strings"
)

// Test case statuses (GitLab's values in test reports).
const (
	TestSuccess = "success"
	TestFailed  = "failed"
	TestSkipped = "skipped"
	TestError   = "error"
)

// TestCase is one test case of a job's junit report.
type TestCase struct {
	Status        string // TestSuccess, ...
	Name          string
	Classname     string
	File          string
	ExecutionTime float64 // seconds
	// SystemOutput is what GitLab shows for a failed, errored or skipped
	// case: the text of its <failure>, <error> or <skipped> element (or its
	// message attribute when it has no text); "" for a passing case.
	SystemOutput string
	// StackTrace is the text of a <failure> or <error> element that also
	// has a message attribute (the message then being SystemOutput).
	StackTrace string
}

// TestSuite is the test report of one job: the cases of every junit file
// it uploaded. Name is the job's name without its parallel suffix, as
// GitLab groups the suites of "rspec 1/2" and "rspec 2/2".
type TestSuite struct {
	JobID      int64
	PipelineID int64
	Name       string
	// SuiteError says why the report could not be read ("" if it could);
	// such a suite has no cases.
	SuiteError string
	Counts     TestCounts
	Cases      []TestCase
}

// TestCounts are the totals of a suite or report.
type TestCounts struct {
	Time                                 float64
	Total, Success, Failed, Skipped, Err int
}

// Add counts one case.
func (c *TestCounts) Add(tc TestCase) {
	c.Time += tc.ExecutionTime
	c.Total++
	switch tc.Status {
	case TestSuccess:
		c.Success++
	case TestFailed:
		c.Failed++
	case TestSkipped:
		c.Skipped++
	case TestError:
		c.Err++
	}
}

// Merge adds o's counts to c.
func (c *TestCounts) Merge(o TestCounts) {
	c.Time += o.Time
	c.Total += o.Total
	c.Success += o.Success
	c.Failed += o.Failed
	c.Skipped += o.Skipped
	c.Err += o.Err
}

// TestSuiteName is the suite a job's report belongs to: its name without a
// parallel suffix ("rspec 1/3" → "rspec", "test: [linux, amd64]" → "test").
func TestSuiteName(jobName string) string {
	if i := strings.LastIndex(jobName, " "); i > 0 {
		a, b, ok := strings.Cut(jobName[i+1:], "/")
		if ok && isDigits(a) && isDigits(b) {
			return jobName[:i]
		}
	}
	if i := strings.Index(jobName, ": ["); i > 0 && strings.HasSuffix(jobName, "]") {
		return jobName[:i]
	}
	return jobName
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// TestReportStore keeps the test reports jobs upload.
type TestReportStore interface {
	// CreateTestReport records a junit artifact's row together with the
	// suite parsed from it, in one transaction; KindConflict if the job
	// already has a junit artifact.
	CreateTestReport(ctx context.Context, a *Artifact, suite *TestSuite) error
	// PipelineTestSuites returns the suites of the pipeline's latest job
	// attempts, oldest job first, with their cases when withCases is set.
	PipelineTestSuites(ctx context.Context, pipelineID int64, withCases bool) ([]*TestSuite, error)
}

// TestReport is a pipeline's test report as GitLab shows it: one suite per
// job name (the parallel jobs of one name merged), with totals.
type TestReport struct {
	Counts TestCounts
	Suites []*TestReportSuite
}

// TestReportSuite is the merged report of the jobs of one suite name.
type TestReportSuite struct {
	Name   string
	JobIDs []int64
	// SuiteError is the first error of its jobs' reports; a suite with
	// one counts no cases, as in GitLab.
	SuiteError string
	Counts     TestCounts
	Cases      []TestCase
}

// statusOrder is GitLab's order of cases in a suite: errors, failures,
// successes, skipped; slowest first within a status.
var statusOrder = map[string]int{TestError: 0, TestFailed: 1, TestSuccess: 2, TestSkipped: 3}

// NewTestReport merges the suites of a pipeline's jobs (as
// TestReportStore.PipelineTestSuites returns them) into its report.
func NewTestReport(suites []*TestSuite) *TestReport {
	rep := &TestReport{}
	byName := map[string]*TestReportSuite{}
	for _, s := range suites {
		rs := byName[s.Name]
		if rs == nil {
			rs = &TestReportSuite{Name: s.Name}
			byName[s.Name] = rs
			rep.Suites = append(rep.Suites, rs)
		}
		rs.JobIDs = append(rs.JobIDs, s.JobID)
		if s.SuiteError != "" && rs.SuiteError == "" {
			rs.SuiteError = s.SuiteError
		}
		rs.Counts.Merge(s.Counts)
		rs.Cases = append(rs.Cases, s.Cases...)
	}
	for _, rs := range rep.Suites {
		if rs.SuiteError != "" {
			rs.Counts, rs.Cases = TestCounts{Time: rs.Counts.Time}, nil
		}
		slices.SortStableFunc(rs.Cases, func(a, b TestCase) int {
			if c := cmp.Compare(statusOrder[a.Status], statusOrder[b.Status]); c != 0 {
				return c
			}
			return cmp.Compare(b.ExecutionTime, a.ExecutionTime)
		})
		rep.Counts.Merge(rs.Counts)
	}
	return rep
}
