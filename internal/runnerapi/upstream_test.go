package runnerapi

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// A needs:pipeline:job or needs:project entry that resolves to nothing
// fails the job with missing_dependency_failure, a reason in its log, as
// GitLab's RegisterJobService does; the runner gets no job.
func TestMissingCrossPipelineDependency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		name string
		need ci.Need
		log  string
	}{
		{"pipeline not upstream", ci.Need{Job: "build", Pipeline: "999999", Artifacts: true}, "pipeline 999999, which is not upstream"},
		{"optional, pipeline not upstream", ci.Need{Job: "build", Pipeline: "999999", Artifacts: true, Optional: true}, "pipeline 999999, which is not upstream"},
		{"unset variable", ci.Need{Job: "build", Pipeline: "$PARENT_PIPELINE_ID", Artifacts: true}, `"$PARENT_PIPELINE_ID" names an unset variable`},
		{"not a pipeline id", ci.Need{Job: "build", Pipeline: "$CI_COMMIT_REF_NAME", Artifacts: true}, "is not a pipeline id"},
		{"no such project", ci.Need{Job: "build", Project: "root/nope", Ref: "main", Artifacts: true}, `project "root/nope" could not be found`},
		{"no successful pipeline", ci.Need{Job: "build", Project: "root/demo", Ref: "main", Artifacts: true}, `no artifacts of job "build"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.need.Pipeline == "$CI_COMMIT_REF_NAME" {
				e.pipelineVars = []ci.Variable{{Key: "CI_COMMIT_REF_NAME", Value: "main"}}
				defer func() { e.pipelineVars = nil }()
			}
			p := e.pipeline([]string{"test"}, ci.JobSpec{Name: "use", Stage: "test", Script: []string{"true"}, HasNeeds: true, Needs: []ci.Need{c.need}})
			expect(t, e.requestJob(e.runner, ""), http.StatusNoContent)
			jobs, _, err := e.db.ListJobs(ctx, ci.JobFilter{PipelineID: p.ID})
			if err != nil || len(jobs) != 1 {
				t.Fatalf("jobs %v %v", jobs, err)
			}
			j := e.job(jobs[0].ID)
			if j.Status != ci.StatusFailed || j.FailureReason != ci.FailureMissingDependency {
				t.Fatalf("job %s (%s), want failed (%s)", j.Status, j.FailureReason, ci.FailureMissingDependency)
			}
			log, err := e.db.ReadTrace(ctx, j.ID, 0, 1<<20)
			if err != nil || !strings.Contains(string(log), c.log) || !strings.Contains(string(log), "could not retrieve the needed artifacts") {
				t.Fatalf("log %q (%v), want %q", log, err, c.log)
			}
			if pl, err := e.db.PipelineByID(ctx, p.ID); err != nil || pl.Status != ci.StatusFailed {
				t.Fatalf("pipeline %+v %v, want failed", pl, err)
			}
		})
	}
}
