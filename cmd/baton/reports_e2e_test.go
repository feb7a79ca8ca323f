package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// The junit fixtures: unit.xml has 2 passing cases and a failure, more.xml
// a skipped and an errored case; lint.xml one pass.
const (
	unitXML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="calc" tests="3">
  <testcase classname="calc" name="adds" time="0.5" file="calc_test.go"/>
  <testcase classname="calc" name="subtracts" time="1.0"><failure message="expected 2, got 3">calc_test.go:12: subtracts</failure></testcase>
  <testcase classname="calc" name="multiplies" time="0.25"/>
</testsuite></testsuites>`
	moreXML = `<testsuite name="more">
  <testcase classname="calc" name="divides"><skipped/></testcase>
  <testcase classname="calc" name="modulo" time="0.5"><error>boom &lt;script&gt;</error></testcase>
</testsuite>`
	lintXML = `<testsuite><testcase classname="style" name="gofmt" time="1.5"/></testsuite>`
)

// TestJUnitReports: Baton's runner uploads artifacts:reports:junit (two
// files of one job as gzip members, and a failing job's report since
// reports are uploaded always); a GitLab API client reads the pipeline's
// test report and its summary with GitLab's counts; the pipeline page has a
// Tests tab listing the cases, failures first, output escaped.
func TestJUnitReports(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("reports", map[string]string{
			"unit.xml": unitXML, "more.xml": moreXML, "lint.xml": lintXML,
			".gitlab-ci.yml": `
unit:
  script:
    - mkdir -p out && cp unit.xml out/report-1.xml && cp more.xml out/report-2.xml
  artifacts:
    reports:
      junit: out/report-*.xml
lint:
  allow_failure: true
  script:
    - cp lint.xml lint-report.xml
    - exit 1
  artifacts:
    reports:
      junit:
        - lint-report.xml
`})
		pl := in.latestPipeline(pid)
		in.waitPipeline(pid, pl.ID, 60*time.Second, "success", "failed")
		jobs := in.jobs(pid, pl.ID, false)

		gl := in.glClient(in.token)
		rep, _, err := gl.Pipelines.GetPipelineTestReport(pid, pl.ID)
		if err != nil {
			t.Fatalf("test report: %v", err)
		}
		if rep.TotalCount != 6 || rep.SuccessCount != 3 || rep.FailedCount != 1 || rep.SkippedCount != 1 || rep.ErrorCount != 1 || rep.TotalTime != 3.75 {
			t.Errorf("report totals %+v", rep)
		}
		if len(rep.TestSuites) != 2 {
			t.Fatalf("suites %+v", rep.TestSuites)
		}
		suites := map[string]*gitlab.PipelineTestSuites{}
		for _, s := range rep.TestSuites {
			suites[s.Name] = s
		}
		unit, lint := suites["unit"], suites["lint"]
		if unit == nil || lint == nil || unit.TotalCount != 5 || len(unit.TestCases) != 5 || lint.TotalCount != 1 || lint.SuccessCount != 1 {
			t.Fatalf("suites unit %+v lint %+v", unit, lint)
		}
		first, second := unit.TestCases[0], unit.TestCases[1]
		if first.Status != "error" || first.Name != "modulo" || second.Status != "failed" || second.Name != "subtracts" ||
			second.Classname != "calc" || second.ExecutionTime != 1.0 || second.SystemOutput != "expected 2, got 3" || second.StackTrace != "calc_test.go:12: subtracts" {
			t.Errorf("first cases %+v %+v; want the error, then the failure with its message and trace", first, second)
		}

		sum, _, err := gl.Pipelines.GetPipelineTestReportSummary(pid, pl.ID)
		if err != nil {
			t.Fatalf("summary: %v", err)
		}
		if sum.Total.Count != 6 || sum.Total.Success != 3 || sum.Total.Failed != 1 || sum.Total.Skipped != 1 || sum.Total.Error != 1 || sum.Total.SuiteError != nil {
			t.Errorf("summary totals %+v", sum.Total)
		}
		for _, s := range sum.TestSuites {
			if want := jobs[s.Name][0].ID; len(s.BuildIDs) != 1 || s.BuildIDs[0] != want {
				t.Errorf("suite %s build_ids %v, want [%d]", s.Name, s.BuildIDs, want)
			}
		}
		// GitLab's exact field set, nulls included.
		_, raw, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/test_report", pid, pl.ID), map[string]string{"PRIVATE-TOKEN": in.token}, nil)
		for _, want := range []string{`"total_time":3.75,"total_count":6,"success_count":3,"failed_count":1,"skipped_count":1,"error_count":1,"test_suites":[`,
			`{"status":"success","name":"gofmt","classname":"style","file":null,"execution_time":1.5,"system_output":null,"stack_trace":null}`} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("test_report lacks %s:\n%s", want, raw)
			}
		}
		// An absent pipeline and another user's private project answer alike.
		_, other := in.user("outsider")
		st1, b1, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/test_report", pid, pl.ID), map[string]string{"PRIVATE-TOKEN": other}, nil)
		st2, b2, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/test_report", pid+1000, pl.ID), map[string]string{"PRIVATE-TOKEN": other}, nil)
		if st1 != http.StatusNotFound || st1 != st2 || string(b1) != string(b2) {
			t.Errorf("private project: %d %s; absent project: %d %s", st1, b1, st2, b2)
		}

		b := newBrowser(t, in.url)
		b.signIn(in.token)
		page := fmt.Sprintf("/root/reports/-/pipelines/%d", pl.ID)
		if st, body, _ := b.get(page); st != http.StatusOK || !strings.Contains(body, `href="`+page+`/test_report">Tests <span class="badge">6</span>`) {
			t.Errorf("pipeline page: %d, no Tests tab with 6 tests", st)
		}
		st, body, _ := b.get(page + "/test_report")
		if st != http.StatusOK {
			t.Fatalf("tests page: %d", st)
		}
		for _, want := range []string{`id="tests-total">6<`, `id="tests-failed">1<`, `data-suite="unit"`, `data-suite="lint"`,
			"subtracts", "expected 2, got 3", "boom &lt;script&gt;", `aria-current="page">Tests`} {
			if !strings.Contains(body, want) {
				t.Errorf("tests page lacks %q", want)
			}
		}
		if strings.Contains(body, "boom <script>") {
			t.Error("tests page shows a case's output unescaped")
		}
	})
}
