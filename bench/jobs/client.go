package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// api calls Baton's REST API as root.
type api struct {
	base  string
	token string
	http  *http.Client
}

// do sends a request with a form body (if form is not nil) and decodes a
// JSON answer into out (if not nil); any status but want is an error.
func (a *api) do(ctx context.Context, method, path string, form url.Values, want int, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/v4"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("PRIVATE-TOKEN", a.token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding answer: %w", method, path, err)
		}
	}
	return nil
}

// project is the part of a project entity the benchmark needs.
type project struct {
	ID   int64  `json:"id"`
	Path string `json:"path_with_namespace"`
}

// pipeline is the part of a pipeline entity the benchmark needs.
type pipeline struct {
	ID         int64      `json:"id"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// jobEntity is the part of a job entity the benchmark needs.
type jobEntity struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// createProject creates a project in root's namespace.
func (a *api) createProject(ctx context.Context, name string) (*project, error) {
	var p project
	err := a.do(ctx, http.MethodPost, "/projects", url.Values{"name": {name}}, http.StatusCreated, &p)
	return &p, err
}

// createRunner creates an instance runner for untagged jobs and returns its
// glrt- token.
func (a *api) createRunner(ctx context.Context) (string, error) {
	var r struct {
		Token string `json:"token"`
	}
	err := a.do(ctx, http.MethodPost, "/user/runners", url.Values{"runner_type": {"instance_type"}, "run_untagged": {"true"},
		"description": {"bench"}}, http.StatusCreated, &r)
	if err == nil && !strings.HasPrefix(r.Token, "glrt-") {
		err = fmt.Errorf("creating runner: token %q is not a glrt- token", r.Token)
	}
	return r.Token, err
}

// createPipeline runs a pipeline on main.
func (a *api) createPipeline(ctx context.Context, projectID int64) (*pipeline, error) {
	var p pipeline
	err := a.do(ctx, http.MethodPost, fmt.Sprintf("/projects/%d/pipeline", projectID), url.Values{"ref": {"main"}},
		http.StatusCreated, &p)
	return &p, err
}

// pipeline fetches a pipeline.
func (a *api) pipeline(ctx context.Context, projectID, id int64) (*pipeline, error) {
	var p pipeline
	err := a.do(ctx, http.MethodGet, fmt.Sprintf("/projects/%d/pipelines/%d", projectID, id), nil, http.StatusOK, &p)
	return &p, err
}

// jobs lists the jobs of a pipeline (at most 100).
func (a *api) jobs(ctx context.Context, projectID, pipelineID int64) ([]jobEntity, error) {
	var js []jobEntity
	err := a.do(ctx, http.MethodGet, fmt.Sprintf("/projects/%d/pipelines/%d/jobs?per_page=100", projectID, pipelineID), nil,
		http.StatusOK, &js)
	return js, err
}
