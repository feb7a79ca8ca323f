package runnerapi

import (
	"context"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/junit"
)

// readTestReport parses a stored junit artifact into the job's test suite.
// As in GitLab, a report that cannot be read is still accepted: its suite
// carries the reason as suite_error and no cases.
func (s *Server) readTestReport(ctx context.Context, j *ci.Job, a *ci.Artifact) *ci.TestSuite {
	suite := &ci.TestSuite{JobID: j.ID, PipelineID: j.PipelineID, Name: ci.TestSuiteName(j.Name)}
	obj, err := s.Blobs.Open(ctx, a.BlobKey)
	if err != nil {
		s.logger().WarnContext(ctx, "opening junit report", "job_id", j.ID, "err", err)
		suite.SuiteError = "JUnit XML parsing failed: the report could not be read"
		return suite
	}
	defer obj.Close()
	err = junit.Parse(obj, s.JUnit, func(tc ci.TestCase) error {
		suite.Cases = append(suite.Cases, tc)
		suite.Counts.Add(tc)
		return nil
	})
	if err != nil {
		msg := ci.MessageOf(err)
		if ci.KindOf(err) == ci.KindInternal || msg == "" {
			s.logger().WarnContext(ctx, "reading junit report", "job_id", j.ID, "err", err)
			msg = "JUnit XML parsing failed: the report could not be read"
		}
		suite.SuiteError, suite.Cases, suite.Counts = msg, nil, ci.TestCounts{}
	}
	return suite
}
