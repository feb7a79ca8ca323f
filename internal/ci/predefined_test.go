package ci

import (
	"strings"
	"testing"
)

func TestCommitDescription(t *testing.T) {
	long := strings.Repeat("t", 100)
	cases := []struct{ message, want string }{
		{"title", ""},
		{"title\n", ""},
		{"title\n\nbody\nmore\n\n", "\nbody\nmore\n"}, // as Ruby's split("\n", 2)[1].chomp
		{long + "\nbody", long + "\nbody"},            // a title of 100 characters or more: the whole message
		{strings.Repeat("é", 99) + "\nbody", "body"},
	}
	for _, c := range cases {
		if got := (&Commit{Message: c.message}).Description(); got != c.want {
			t.Errorf("Description(%.20q) = %q, want %q", c.message, got, c.want)
		}
	}
}

// TestPredefinedPhases: every variable rules see, a job gets with the same
// value; what a job adds is job-only.
func TestPredefinedPhases(t *testing.T) {
	p := &Project{ID: 3, NamespaceID: 2, Path: "app", Name: "App", FullPath: "group/sub/app", Visibility: VisibilityPrivate, DefaultBranch: "main"}
	pl := &Pipeline{ID: 40, IID: 4, ProjectID: 3, Ref: "feature/x", SHA: strings.Repeat("ab", 20), Source: SourceTrigger, CommitTitle: "t"}
	c := &Commit{Message: "t\n\nb", Author: "A <a@example.com>"}
	u := &User{ID: 9, Username: "u", Name: "U", Email: "u@example.com"}
	run := &JobRun{Job: &Job{ID: 77, Name: "build 1/2", Stage: "build"}, Runner: &Runner{ID: 5, Tags: []string{"x"}}, Token: "secret", Timeout: 60}
	rules := PredefinedVariables(Predefined{ServerURL: "https://ci.example/", Project: p, Pipeline: pl, Commit: c, User: u})
	job := PredefinedVariables(Predefined{ServerURL: "https://ci.example/", Project: p, Pipeline: pl, Commit: c, User: u, Job: run})
	got := map[string]string{}
	for _, v := range job {
		if _, dup := got[v.Key]; dup {
			t.Errorf("%s given twice", v.Key)
		}
		got[v.Key] = v.Value
	}
	for _, v := range rules {
		if got[v.Key] != v.Value {
			t.Errorf("rules see %s = %q, the job gets %q", v.Key, v.Value, got[v.Key])
		}
	}
	if len(job) <= len(rules) {
		t.Errorf("the job gets %d variables, rules see %d", len(job), len(rules))
	}
	for key, want := range map[string]string{"CI_SERVER_URL": "https://ci.example", "CI_SERVER_PORT": "443", "CI_PROJECT_NAMESPACE": "group/sub",
		"CI_PROJECT_ROOT_NAMESPACE": "group", "CI_COMMIT_REF_SLUG": "feature-x", "CI_COMMIT_BEFORE_SHA": ZeroSHA,
		"CI_COMMIT_DESCRIPTION": "\nb", "CI_PIPELINE_TRIGGERED": "true", "CI_JOB_NAME_SLUG": "build-1-2", "CI_RUNNER_TAGS": `["x"]`} {
		if got[key] != want {
			t.Errorf("%s = %q, want %q", key, got[key], want)
		}
	}
}
