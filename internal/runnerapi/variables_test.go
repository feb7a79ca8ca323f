package runnerapi

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

// The payload assembles a job's variables from the pipeline's spec (global
// ones, stored once) and the job's own: job over global, pipeline variables
// over both, inherit:variables honoured; no user-set entry, even one stored
// before planning refused them, overrides a reserved predefined variable.
func TestPayloadVariables(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		e := newEnvOn(t, db)
		e.pipelineVars = []ci.Variable{{Key: "FROM_API", Value: "api"}, {Key: "CI_API_V4_URL", Value: "http://evil.example/api/v4"}}
		p := &ci.Pipeline{ProjectID: e.project.ID, Ref: "main", SHA: testSHA, Source: ci.SourcePush, UserID: e.admin.ID,
			Variables: e.pipelineVars}
		plan := &ci.PipelinePlan{Stages: []string{"test"},
			Spec: ci.PipelineSpec{Variables: []ci.Variable{{Key: "GLOBAL", Value: "g"}, {Key: "SHARED", Value: "global"},
				{Key: "FROM_API", Value: "yaml"}, {Key: "CI_SERVER_URL", Value: "http://evil.example"}}},
			Jobs: []ci.JobSpec{
				{Name: "all", Stage: "test", When: ci.WhenOnSuccess, Script: []string{"true"},
					Variables: []ci.Variable{{Key: "SHARED", Value: "job"}, {Key: "CI_JOB_TOKEN", Value: "stolen"}}},
				{Name: "some", Stage: "test", When: ci.WhenOnSuccess, Script: []string{"true"},
					LimitInherit: true, InheritVariables: []string{"SHARED"}},
			}}
		e.create(p, plan)
		values := func(j *specJob) map[string]string {
			m := map[string]string{}
			for _, v := range j.Variables {
				m[v.Key] = v.Value // the runner lets the last entry win
			}
			return m
		}
		all := e.takeJob(e.runner)
		got := values(all)
		for k, want := range map[string]string{"GLOBAL": "g", "SHARED": "job", "FROM_API": "api",
			"CI_JOB_TOKEN": all.Token, "CI_API_V4_URL": e.url + "/api/v4", "CI_SERVER_URL": e.url} {
			if got[k] != want {
				t.Errorf("job all: %s = %q, want %q", k, got[k], want)
			}
		}
		some := values(e.takeJob(e.runner))
		if _, ok := some["GLOBAL"]; ok || some["SHARED"] != "global" || some["FROM_API"] != "api" {
			t.Errorf("job some (inherits SHARED only): GLOBAL %q SHARED %q FROM_API %q", some["GLOBAL"], some["SHARED"], some["FROM_API"])
		}
	})
}
