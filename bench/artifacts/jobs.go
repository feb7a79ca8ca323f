package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// job is a job this benchmark took as a runner.
type job struct {
	ID, ProjectID, PipelineID int64
	Name, Token               string
}

func uploadJob(round int) string { return fmt.Sprintf("upload-%d", round+1) }

// setupJobs creates project bench, pushes a .gitlab-ci.yml with one job per
// upload round plus jobs "many" and "few", the extra ones and, for each
// name in parallel, a job of 3 instances ("name 1/3" ...), registers an
// instance runner and takes every job as that runner. The jobs are running
// when it returns.
func setupJobs(ctx context.Context, s *server, tmp string, rounds int, parallel []string, extra ...string) (map[string]*job, error) {
	var proj struct {
		ID                int64  `json:"id"`
		PathWithNamespace string `json:"path_with_namespace"`
	}
	if err := s.form(ctx, "/api/v4/projects", url.Values{"name": {"bench"}}, http.StatusCreated, &proj); err != nil {
		return nil, fmt.Errorf("creating project: %w", err)
	}
	names := append([]string{"many", "few"}, extra...)
	for i := range rounds {
		names = append(names, uploadJob(i))
	}
	var yml strings.Builder
	yml.WriteString("stages: [build]\n")
	for _, n := range names {
		fmt.Fprintf(&yml, "%s:\n  stage: build\n  script: [echo]\n", n)
	}
	want := len(names)
	for _, n := range parallel {
		fmt.Fprintf(&yml, "%s:\n  stage: build\n  parallel: 3\n  script: [echo]\n", n)
		want += 3
	}
	if err := benchkit.PushPipeline(ctx, s.url, s.token, tmp, proj.PathWithNamespace, yml.String()); err != nil {
		return nil, err
	}
	var rn struct {
		Token string `json:"token"`
	}
	if err := s.form(ctx, "/api/v4/user/runners", url.Values{"runner_type": {"instance_type"}, "run_untagged": {"true"},
		"description": {"bench"}}, http.StatusCreated, &rn); err != nil {
		return nil, fmt.Errorf("creating runner: %w", err)
	}
	jobs := map[string]*job{}
	deadline := time.Now().Add(60 * time.Second)
	for len(jobs) < want {
		j, err := requestJob(ctx, s, rn.Token)
		if err != nil {
			return nil, err
		}
		if j == nil {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("got %d of %d jobs after 60 s", len(jobs), want)
			}
			if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
				return nil, err
			}
			continue
		}
		j.ProjectID = proj.ID
		jobs[j.Name] = j
		// The runner's acknowledgement (two-phase commit).
		if err := s.jsonCall(ctx, http.MethodPut, fmt.Sprintf("/api/v4/jobs/%d", j.ID), http.Header{"Job-Token": {j.Token}},
			map[string]any{"token": j.Token, "state": "running", "output": map[string]any{}}, http.StatusOK, nil); err != nil {
			return nil, fmt.Errorf("acknowledging job %d: %w", j.ID, err)
		}
	}
	return jobs, nil
}

// runnerInfo is the info object of a shell runner (runner protocol §1).
var runnerInfo = map[string]any{
	"name": "gitlab-runner", "version": "19.4.0", "platform": "linux", "architecture": "amd64",
	"executor": "shell", "shell": "bash",
	"features": map[string]bool{"variables": true, "artifacts": true, "upload_multiple_artifacts": true,
		"upload_raw_artifacts": true, "refspecs": true, "masking": true, "raw_variables": true, "artifacts_exclude": true,
		"trace_reset": true, "trace_checksum": true, "trace_size": true, "cancelable": true, "return_exit_code": true,
		"cancel_gracefully": true, "two_phase_job_commit": true},
}

// requestJob is one POST /api/v4/jobs/request: the job, or nil on 204.
func requestJob(ctx context.Context, s *server, token string) (*job, error) {
	var payload struct {
		ID      int64  `json:"id"`
		Token   string `json:"token"`
		JobInfo struct {
			Name       string `json:"name"`
			PipelineID int64  `json:"pipeline_id"`
		} `json:"job_info"`
	}
	err := s.jsonCall(ctx, http.MethodPost, "/api/v4/jobs/request", http.Header{"Runner-Token": {token}},
		map[string]any{"token": token, "info": runnerInfo, "system_id": "r_benchbenchbe"}, http.StatusCreated, &payload)
	if err != nil {
		if se := (*statusError)(nil); errors.As(err, &se) && se.got == http.StatusNoContent {
			return nil, nil
		}
		return nil, fmt.Errorf("requesting a job: %w", err)
	}
	if payload.ID == 0 || payload.Token == "" {
		return nil, fmt.Errorf("requesting a job: payload without id or token")
	}
	return &job{ID: payload.ID, PipelineID: payload.JobInfo.PipelineID, Name: payload.JobInfo.Name, Token: payload.Token}, nil
}

// finishJob reports success for j, as the runner does at the end.
func (s *server) finishJob(ctx context.Context, j *job) error {
	err := s.jsonCall(ctx, http.MethodPut, fmt.Sprintf("/api/v4/jobs/%d", j.ID), http.Header{"Job-Token": {j.Token}},
		map[string]any{"token": j.Token, "state": "success", "output": map[string]any{}}, http.StatusOK, nil)
	if err != nil {
		return fmt.Errorf("finishing job %d: %w", j.ID, err)
	}
	return nil
}
