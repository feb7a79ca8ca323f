package runnerapi

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

func TestJobPayload(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	limited := e.newRunner(&ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, MaximumTimeout: 1800, Tags: []string{"t"}})
	e.pipelineVars = []ci.Variable{{Key: "FOO", Value: "pipeline"}}
	p := e.pipeline([]string{"build", "test"},
		ci.JobSpec{
			Name: "build", Stage: "build", BeforeScript: []string{"echo before"}, Script: []string{"make", "make test"},
			AfterScript: []string{"echo after"}, Timeout: 7200, Variables: []ci.Variable{{Key: "FOO", Value: "yaml"}, {Key: "GIT_DEPTH", Value: "5"}},
			Image:     &ci.ImageSpec{Name: "golang:1.26", Entrypoint: []string{""}},
			Artifacts: &ci.ArtifactsSpec{Name: "bin", Paths: []string{"bin/"}, ExpireIn: "1 week", Reports: map[string][]string{"dotenv": {"build.env"}}},
		},
		ci.JobSpec{Name: "test 1/2", Stage: "test", Script: []string{"go test"}, NodeIndex: 1, NodeTotal: 2},
	)

	job := e.takeJob(limited)
	t.Run("top level", func(t *testing.T) {
		stored := e.job(job.ID)
		if job.ID == 0 || stored.Status != ci.StatusRunning || stored.TokenHash != auth.Hash(job.Token) || !strings.HasPrefix(job.Token, auth.PrefixJob) {
			t.Fatalf("payload id %d token %q; stored %+v", job.ID, job.Token, stored)
		}
		if job.JobInfo.Name != "build" || job.JobInfo.Stage != "build" || job.JobInfo.ProjectID != e.project.ID ||
			job.JobInfo.ProjectName != "demo" || job.JobInfo.ProjectFullPath != "root/demo" || job.JobInfo.PipelineID != p.ID {
			t.Fatalf("job_info %+v", job.JobInfo)
		}
		if job.RunnerInfo.Timeout != 1800 {
			t.Fatalf("timeout %d, want the runner's maximum 1800", job.RunnerInfo.Timeout)
		}
	})
	t.Run("git", func(t *testing.T) {
		g := job.GitInfo
		want := strings.Replace(e.url, "http://", "http://gitlab-ci-token:"+job.Token+"@", 1) + "/root/demo.git"
		if g.RepoURL != want || g.Sha != testSHA || g.Ref != "main" || g.RefType != "branch" || g.Depth != 5 ||
			!reflect.DeepEqual(g.Refspecs, []string{"+refs/heads/main:refs/remotes/origin/main"}) || len(g.BeforeSha) != 40 {
			t.Fatalf("git_info %+v, want repo_url %s", g, want)
		}
	})
	t.Run("steps", func(t *testing.T) {
		if len(job.Steps) != 2 {
			t.Fatalf("steps %+v", job.Steps)
		}
		s, a := job.Steps[0], job.Steps[1]
		if s.Name != "script" || !reflect.DeepEqual(s.Script, []string{"echo before", "make", "make test"}) || s.When != "on_success" || s.AllowFailure || s.Timeout != 1800 {
			t.Fatalf("script step %+v", s)
		}
		if a.Name != "after_script" || a.When != "always" || !a.AllowFailure || !reflect.DeepEqual(a.Script, []string{"echo after"}) {
			t.Fatalf("after_script step %+v", a)
		}
	})
	t.Run("artifacts and image", func(t *testing.T) {
		if len(job.Artifacts) != 2 {
			t.Fatalf("artifacts %+v", job.Artifacts)
		}
		a, d := job.Artifacts[0], job.Artifacts[1]
		if a.Name != "bin" || a.ArtifactType != "archive" || a.ArtifactFormat != "zip" || a.When != "on_success" || a.ExpireIn != "1 week" || !reflect.DeepEqual(a.Paths, []string{"bin/"}) {
			t.Fatalf("archive entry %+v", a)
		}
		if d.ArtifactType != "dotenv" || d.ArtifactFormat != "gzip" || d.When != "always" || !reflect.DeepEqual(d.Paths, []string{"build.env"}) {
			t.Fatalf("dotenv entry %+v", d)
		}
		if job.Image.Name != "golang:1.26" {
			t.Fatalf("image %+v", job.Image)
		}
		if !job.Features.TraceSections || len(job.Features.FailureReasons) == 0 {
			t.Fatalf("features %+v", job.Features)
		}
	})
	t.Run("variables", func(t *testing.T) {
		want := map[string]string{
			"CI": "true", "GITLAB_CI": "true", "CI_SERVER_URL": e.url, "CI_API_V4_URL": e.url + "/api/v4",
			"CI_PROJECT_ID": itoa(e.project.ID), "CI_PROJECT_PATH": "root/demo", "CI_PROJECT_NAME": "demo",
			"CI_PROJECT_NAMESPACE": "root", "CI_PROJECT_URL": e.url + "/root/demo", "CI_DEFAULT_BRANCH": "main",
			"CI_COMMIT_SHA": testSHA, "CI_COMMIT_SHORT_SHA": testSHA[:8], "CI_COMMIT_REF_NAME": "main",
			"CI_COMMIT_REF_SLUG": "main", "CI_COMMIT_BRANCH": "main", "CI_PIPELINE_ID": itoa(p.ID),
			"CI_PIPELINE_IID": itoa(p.IID), "CI_PIPELINE_SOURCE": "push", "CI_JOB_ID": itoa(job.ID),
			"CI_JOB_NAME": "build", "CI_JOB_STAGE": "build", "CI_JOB_TOKEN": job.Token,
			"CI_JOB_URL":                e.url + "/root/demo/-/jobs/" + itoa(job.ID),
			"CI_PIPELINE_URL":           e.url + "/root/demo/-/pipelines/" + itoa(p.ID),
			"CI_REPOSITORY_URL":         job.GitInfo.RepoURL,
			"CI_PIPELINE_ARTIFACTS_URL": e.url + "/api/v4/projects/" + itoa(e.project.ID) + "/pipelines/" + itoa(p.ID) + "/artifacts",
			"FOO":                       "pipeline", "GITLAB_USER_LOGIN": "root",
		}
		for k, v := range want {
			if got, ok := job.variable(k); !ok || got != v {
				t.Errorf("variable %s = %q (present %v), want %q", k, got, ok, v)
			}
		}
		for _, v := range job.Variables {
			if v.Key == "CI_JOB_TOKEN" && (!v.Masked || v.Public) {
				t.Errorf("CI_JOB_TOKEN must be masked and not public: %+v", v)
			}
			if v.Key == "CI_PROJECT_DIR" {
				t.Errorf("CI_PROJECT_DIR is the runner's to set")
			}
		}
	})

	t.Run("untagged runner cannot take the tagged-free job twice", func(t *testing.T) {
		resp := e.requestJob(e.runner, "")
		expect(t, resp, http.StatusNoContent)
		if resp.Header.Get("X-GitLab-Last-Update") == "" {
			t.Fatalf("204 without X-GitLab-Last-Update")
		}
	})

	t.Run("parallel job after build", func(t *testing.T) {
		finish(t, e, job, "success")
		next := e.takeJob(e.runner)
		if next.JobInfo.Name != "test 1/2" {
			t.Fatalf("next job %q", next.JobInfo.Name)
		}
		for k, v := range map[string]string{"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "2", "CI_JOB_NAME_SLUG": "test-1-2"} {
			if got, _ := next.variable(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if next.RunnerInfo.Timeout != 3600 {
			t.Errorf("default timeout %d, want 3600", next.RunnerInfo.Timeout)
		}
		if len(next.Dependencies) != 1 || next.Dependencies[0].ID != job.ID || next.Dependencies[0].Token != next.Token ||
			next.Dependencies[0].ArtifactsFile.Filename != "" {
			t.Fatalf("dependencies %+v (build uploaded nothing)", next.Dependencies)
		}
	})
	_ = ctx
}

// finish sends the runner's final update for a job.
func finish(t *testing.T, e *env, j *specJob, state string) {
	t.Helper()
	body := map[string]any{"token": j.Token, "state": state, "output": map[string]any{}, "info": runnerInfoBody}
	if state == "failed" {
		body["failure_reason"] = "script_failure"
		body["exit_code"] = 1
	}
	expect(t, e.do("PUT", "/api/v4/jobs/"+itoa(j.ID), body, "Job-Token", j.Token), http.StatusOK)
}

func TestJobRequestAuth(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name  string
		token string
	}{
		{"unknown token", "glrt-nope"},
		{"no token", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expectJSON(t, e.requestJob(c.token, ""), http.StatusForbidden, nil)
		})
	}
	t.Run("contact recorded", func(t *testing.T) {
		expect(t, e.requestJob(e.runner, ""), http.StatusNoContent)
		list, _, err := e.db.ListRunners(context.Background(), ci.RunnerFilter{Page: ci.Page{Page: 1, PerPage: 10}})
		if err != nil || len(list) != 1 {
			t.Fatalf("runners %v, %v", list, err)
		}
		rn := list[0]
		if rn.ContactedAt == nil || rn.Version != "17.4.0" || rn.Executor != "shell" || rn.Platform != "linux" || rn.IPAddress == "" {
			t.Fatalf("contact not recorded: %+v", rn)
		}
	})
}
