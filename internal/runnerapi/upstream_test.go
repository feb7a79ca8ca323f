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

// needs:pipeline:job into the parent pipeline, as GitLab's
// valid_cross_pipeline?: the named job must have succeeded; an optional
// need may name a job the (valid, upstream) pipeline lacks.
func TestUpstreamNeedRules(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	parent := e.pipeline([]string{"build", "test"},
		ci.JobSpec{Name: "gen", Stage: "build", Script: []string{"false"}},
		ci.JobSpec{Name: "bridge 1", Stage: "test", Trigger: &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}}},
		ci.JobSpec{Name: "bridge 2", Stage: "test", Trigger: &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}}},
		ci.JobSpec{Name: "bridge 3", Stage: "test", Trigger: &ci.TriggerSpec{Include: []ci.TriggerInclude{{Local: "c.yml"}}}})
	gen := e.takeJob(e.runner)
	finish(t, e, gen, "failed")
	var bridges []*ci.Job
	for _, name := range []string{"bridge 1", "bridge 2", "bridge 3"} {
		b, _, err := e.db.ListJobs(ctx, ci.JobFilter{PipelineID: parent.ID, Name: name})
		if err != nil || len(b) != 1 {
			t.Fatalf("%s: %v %v", name, b, err)
		}
		bridges = append(bridges, b[0])
	}
	// Each child pipeline hangs below its own bridge.
	child := func(n ci.Need) *ci.Pipeline {
		b := bridges[0]
		bridges = bridges[1:]
		p := &ci.Pipeline{ProjectID: e.project.ID, Ref: "main", SHA: testSHA, Source: ci.SourceParentPipeline, UserID: e.admin.ID,
			Parent: &ci.PipelineLink{ParentPipelineID: parent.ID, ParentProjectID: e.project.ID, ParentJobID: b.ID, Depth: 1, ChildDepth: 1}}
		e.create(p, &ci.PipelinePlan{Stages: []string{"test"}, Jobs: []ci.JobSpec{{Name: "use", Stage: "test", When: ci.WhenOnSuccess,
			Script: []string{"true"}, HasNeeds: true, Needs: []ci.Need{n}}}})
		return p
	}
	pid := itoa(parent.ID)

	failed := child(ci.Need{Job: "gen", Pipeline: pid, Artifacts: true})
	expect(t, e.requestJob(e.runner, ""), http.StatusNoContent)
	jobs, _, _ := e.db.ListJobs(ctx, ci.JobFilter{PipelineID: failed.ID})
	if j := e.job(jobs[0].ID); j.Status != ci.StatusFailed || j.FailureReason != ci.FailureMissingDependency {
		t.Fatalf("needing a failed job: %s (%s)", j.Status, j.FailureReason)
	}
	if log, _ := e.db.ReadTrace(ctx, jobs[0].ID, 0, 1<<20); !strings.Contains(string(log), `job "gen" of pipeline `+pid+" is failed") {
		t.Fatalf("log %q", log)
	}

	absent := child(ci.Need{Job: "nope", Pipeline: pid, Artifacts: true})
	expect(t, e.requestJob(e.runner, ""), http.StatusNoContent)
	jobs, _, _ = e.db.ListJobs(ctx, ci.JobFilter{PipelineID: absent.ID})
	if j := e.job(jobs[0].ID); j.FailureReason != ci.FailureMissingDependency {
		t.Fatalf("needing an absent job: %s (%s)", j.Status, j.FailureReason)
	}

	optional := child(ci.Need{Job: "nope", Pipeline: pid, Artifacts: true, Optional: true})
	got := e.takeJob(e.runner)
	if got.JobInfo.PipelineID != optional.ID || len(got.Dependencies) != 0 {
		t.Fatalf("optional need of an absent job: job of pipeline %d, dependencies %+v", got.JobInfo.PipelineID, got.Dependencies)
	}
}
