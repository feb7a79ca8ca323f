package runnerapi

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/junit"
)

// TestJUnitUpload: a junit report uploaded as gitlab-runner does (gzip,
// one member per file) becomes the job's test suite; one that cannot be
// read or is over a bound is accepted with a suite error, as GitLab does.
func TestJUnitUpload(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.JUnit = junit.Limits{MaxCases: 3} })
	ctx := context.Background()
	report := &ci.ArtifactsSpec{Reports: map[string][]string{"junit": {"report.xml"}}}
	p := e.pipeline([]string{"test"},
		ci.JobSpec{Name: "rspec 1/2", Stage: "test", Script: []string{"true"}, Artifacts: report},
		ci.JobSpec{Name: "garbage", Stage: "test", Script: []string{"true"}, Artifacts: report},
		ci.JobSpec{Name: "huge", Stage: "test", Script: []string{"true"}, Artifacts: report},
	)
	var members bytes.Buffer
	members.Write(gzipOf(`<testsuite><testcase name="a" classname="c" time="1.5"/><testcase name="b"><failure message="m">trace</failure></testcase></testsuite>`))
	members.Write(gzipOf(`<testsuites><testsuite><testcase name="c"><skipped/></testcase></testsuite></testsuites>`))
	bodies := map[string][]byte{
		"rspec 1/2": members.Bytes(),
		"garbage":   gzipOf("not xml at all"),
		"huge":      gzipOf(`<testsuite>` + strings.Repeat(`<testcase name="x"/>`, 4) + `</testsuite>`),
	}
	for range 3 {
		j := e.takeJob(e.runner)
		// The payload asks for the report as gitlab-runner expects it.
		found := false
		for _, a := range j.Artifacts {
			found = found || a.ArtifactType == "junit" && a.ArtifactFormat == "gzip" && a.When == "always"
		}
		if !found {
			t.Fatalf("payload artifacts %+v lack a junit gzip entry sent always", j.Artifacts)
		}
		resp := upload(e, j, "artifact_format=gzip&artifact_type=junit", "junit.gz", bytes.NewReader(bodies[j.JobInfo.Name]))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("%s: upload status %d", j.JobInfo.Name, resp.StatusCode)
		}
	}
	suites, err := e.db.PipelineTestSuites(ctx, p.ID, true)
	if err != nil || len(suites) != 3 {
		t.Fatalf("suites %+v, %v", suites, err)
	}
	byName := map[string]*ci.TestSuite{}
	for _, s := range suites {
		byName[s.Name] = s
	}
	rspec := byName["rspec"]
	if rspec == nil || rspec.SuiteError != "" || rspec.Counts != (ci.TestCounts{Time: 1.5, Total: 3, Success: 1, Failed: 1, Skipped: 1}) {
		t.Fatalf("rspec suite %+v", rspec)
	}
	if tc := rspec.Cases[1]; tc.Status != ci.TestFailed || tc.SystemOutput != "m" || tc.StackTrace != "trace" {
		t.Errorf("failed case %+v", tc)
	}
	if s := byName["garbage"]; s == nil || !strings.HasPrefix(s.SuiteError, "JUnit XML parsing failed") || s.Counts.Total != 0 {
		t.Errorf("garbage suite %+v", s)
	}
	if s := byName["huge"]; s == nil || s.SuiteError != "JUnit XML parsing failed: At most 3 test cases can be parsed" || len(s.Cases) != 0 {
		t.Errorf("huge suite %+v", s)
	}
}
