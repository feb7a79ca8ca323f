package ci

import (
	"fmt"
	"testing"
)

func TestNewTestReport(t *testing.T) {
	tc := func(status, name string, secs float64) TestCase {
		return TestCase{Status: status, Name: name, ExecutionTime: secs}
	}
	suite := func(job int64, name, suiteErr string, cases ...TestCase) *TestSuite {
		s := &TestSuite{JobID: job, Name: name, SuiteError: suiteErr, Cases: cases}
		for _, c := range cases {
			s.Counts.Add(c)
		}
		return s
	}
	rep := NewTestReport([]*TestSuite{
		suite(1, "rspec", "", tc(TestSuccess, "fast", 1), tc(TestFailed, "f", 2), tc(TestSuccess, "slow", 3)),
		suite(2, "lint", "", tc(TestSkipped, "s", 0)),
		suite(3, "rspec", "", tc(TestError, "e", 0.5)),
		suite(4, "broken", "JUnit XML parsing failed: x", tc(TestSuccess, "ignored", 1)),
	})
	if len(rep.Suites) != 3 {
		t.Fatalf("suites %+v", rep.Suites)
	}
	rspec := rep.Suites[0]
	if rspec.Name != "rspec" || fmt.Sprint(rspec.JobIDs) != "[1 3]" {
		t.Errorf("rspec suite %+v", rspec)
	}
	var order []string
	for _, c := range rspec.Cases {
		order = append(order, c.Name)
	}
	if fmt.Sprint(order) != "[e f slow fast]" {
		t.Errorf("case order %v, want errors, failures, then successes slowest first", order)
	}
	if rspec.Counts != (TestCounts{Time: 6.5, Total: 4, Success: 2, Failed: 1, Err: 1}) {
		t.Errorf("rspec counts %+v", rspec.Counts)
	}
	broken := rep.Suites[2]
	if broken.SuiteError == "" || broken.Counts.Total != 0 || broken.Cases != nil {
		t.Errorf("a suite with an error counts no cases: %+v", broken)
	}
	if rep.Counts != (TestCounts{Time: 7.5, Total: 5, Success: 2, Failed: 1, Skipped: 1, Err: 1}) {
		t.Errorf("report counts %+v", rep.Counts)
	}
}
