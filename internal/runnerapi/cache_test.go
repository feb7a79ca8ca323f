package runnerapi

import (
	"fmt"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// TestCachePayload: the job payload carries the job's caches as the stock
// gitlab-runner reads them, defaults filled in and keys separated for
// protected refs as GitLab does (unless unprotect).
func TestCachePayload(t *testing.T) {
	e := newEnv(t)
	specs := []ci.CacheSpec{
		{Key: "deps-$CI_COMMIT_REF_SLUG", Paths: []string{"vendor/"}, FallbackKeys: []string{"deps-main"}},
		{Key: "shared", Paths: []string{"x"}, Unprotect: true, Policy: ci.CachePull, When: ci.WhenAlways, Untracked: true},
	}
	for _, protected := range []bool{false, true} {
		p := &ci.Pipeline{ProjectID: e.project.ID, Ref: "main", SHA: testSHA, Source: ci.SourcePush, UserID: e.admin.ID, Protected: protected}
		e.create(p, &ci.PipelinePlan{Stages: []string{"test"}, Jobs: []ci.JobSpec{{Name: "build", Stage: "test", When: ci.WhenOnSuccess, Script: []string{"true"}, Cache: specs}}})
		j := e.takeJob(e.runner)
		suffix := "-non_protected"
		if protected {
			suffix = "-protected"
		}
		got := fmt.Sprintf("%+v", j.Cache)
		want := fmt.Sprintf("%+v", []struct {
			Key          string   `json:"key"`
			Untracked    bool     `json:"untracked"`
			Policy       string   `json:"policy"`
			Paths        []string `json:"paths"`
			When         string   `json:"when"`
			FallbackKeys []string `json:"fallback_keys"`
		}{
			{Key: "deps-$CI_COMMIT_REF_SLUG" + suffix, Policy: "pull-push", Paths: []string{"vendor/"}, When: "on_success", FallbackKeys: []string{"deps-main" + suffix}},
			{Key: "shared-non_protected", Untracked: true, Policy: "pull", Paths: []string{"x"}, When: "always", FallbackKeys: []string{}},
		})
		if got != want {
			t.Errorf("protected=%v: cache payload\n got %s\nwant %s", protected, got, want)
		}
	}
}
