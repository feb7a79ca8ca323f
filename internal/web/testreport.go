package web

import (
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// pipelineTab is one tab of a pipeline's pages.
type pipelineTab struct {
	Label, URL string
	Count      *int
	Current    bool
}

// pipelineTabs are the tabs over a pipeline's pages: the pipeline itself
// and, for who may read jobs, its Tests with their count. tests is that
// count when the page has read the report already; nil reads it.
func (s *Server) pipelineTabs(c *req, pl *ci.Pipeline, current string, tests *int) ([]pipelineTab, error) {
	base := "/" + c.proj.FullPath + "/-/pipelines/" + strconv.FormatInt(pl.ID, 10)
	tabs := []pipelineTab{{Label: "Pipeline", URL: base, Current: current == "pipeline"}}
	if !s.can(c, policy.ReadJob) {
		return tabs, nil
	}
	if tests == nil {
		suites, err := s.Store.PipelineTestSuites(c.r.Context(), pl.ID, false)
		if err != nil {
			return nil, err
		}
		n := ci.NewTestReport(suites).Counts.Total
		tests = &n
	}
	return append(tabs, pipelineTab{Label: "Tests", URL: base + "/test_report", Count: tests, Current: current == "tests"}), nil
}

// maxWebTestCases bounds the cases the Tests tab lists per suite (the page's
// size); failures come first, the API has them all.
const maxWebTestCases = 1000

// testReportPage is the pipeline's Tests tab: the junit reports of its
// latest jobs, one suite per job name, failures first.
func (s *Server) testReportPage(c *req, pl *ci.Pipeline) error {
	suites, err := s.Store.PipelineTestSuites(c.r.Context(), pl.ID, true)
	if err != nil {
		return err
	}
	rep := ci.NewTestReport(suites)
	tabs, err := s.pipelineTabs(c, pl, "tests", &rep.Counts.Total)
	if err != nil {
		return err
	}
	hidden := map[string]int{}
	for _, rs := range rep.Suites {
		if len(rs.Cases) > maxWebTestCases {
			hidden[rs.Name] = len(rs.Cases) - maxWebTestCases
			rs.Cases = rs.Cases[:maxWebTestCases]
		}
	}
	return s.render(c, http.StatusOK, "test_report", "Tests · Pipeline #"+strconv.FormatInt(pl.ID, 10)+" · "+c.proj.FullPath, map[string]any{
		"Tabs": tabs, "Pipeline": pl, "Report": rep, "Hidden": hidden,
		"API": s.ExternalURL + "/api/v4/projects/" + strconv.FormatInt(c.proj.ID, 10) + "/pipelines/" + strconv.FormatInt(pl.ID, 10) + "/test_report",
	})
}
