package main

import (
	"net/http"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// TestClientGoCompatibility drives Baton through GitLab's own Go client, so
// the JSON Baton writes is checked by someone else's decoder.
func TestClientGoCompatibility(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		gl, err := gitlab.NewClient(in.token, gitlab.WithBaseURL(in.url+"/api/v4"))
		if err != nil {
			t.Fatal(err)
		}

		created, _, err := gl.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("compat"), Visibility: gitlab.Ptr(gitlab.PublicVisibility)})
		if err != nil {
			t.Fatalf("CreateProject: %v", err)
		}
		got, _, err := gl.Projects.GetProject("root/compat", nil)
		if err != nil {
			t.Fatalf("GetProject by path: %v", err)
		}
		if got.ID != created.ID || got.PathWithNamespace != "root/compat" || got.Visibility != gitlab.PublicVisibility || got.Namespace == nil || got.Namespace.FullPath != "root" {
			t.Fatalf("GetProject = %+v", got)
		}

		r := newRepo(t, map[string]string{".gitlab-ci.yml": `
build:
  stage: build
  script: echo "$WHO"
test:
  stage: test
  rules:
    - if: $WHO == "api"
  script: echo test
`})
		r.git("push", "-q", in.pushURL("root/compat"), "main")
		eventually(t, 10*time.Second, "the push pipeline", func() bool {
			pls, _, err := gl.Pipelines.ListProjectPipelines(created.ID, nil)
			return err == nil && len(pls) == 1
		})

		pl, _, err := gl.Pipelines.CreatePipeline(created.ID, &gitlab.CreatePipelineOptions{Ref: gitlab.Ptr("main"),
			Variables: &[]*gitlab.PipelineVariableOptions{{Key: gitlab.Ptr("WHO"), Value: gitlab.Ptr("api"), VariableType: gitlab.Ptr(gitlab.EnvVariableType)}}})
		if err != nil {
			t.Fatalf("CreatePipeline: %v", err)
		}
		if pl.Ref != "main" || pl.Source != "api" || pl.Status != "pending" || pl.User == nil || pl.User.Username != "root" {
			t.Fatalf("CreatePipeline = %+v", pl)
		}
		vars, _, err := gl.Pipelines.GetPipelineVariables(created.ID, pl.ID)
		if err != nil || len(vars) != 1 || vars[0].Key != "WHO" || vars[0].Value != "api" {
			t.Fatalf("GetPipelineVariables = %+v, %v", vars, err)
		}
		// The rule saw the variable: the API pipeline has both jobs, the push one only build.
		jobs, _, err := gl.Jobs.ListPipelineJobs(created.ID, pl.ID, &gitlab.ListJobsOptions{})
		if err != nil || len(jobs) != 2 {
			t.Fatalf("ListPipelineJobs = %d jobs, %v; want 2", len(jobs), err)
		}
		for _, j := range jobs {
			if j.Pipeline.ID != pl.ID || j.Commit == nil || j.Commit.ID != pl.SHA {
				t.Fatalf("job %s: pipeline %d commit %+v", j.Name, j.Pipeline.ID, j.Commit)
			}
		}
		pending, _, err := gl.Jobs.ListPipelineJobs(created.ID, pl.ID, &gitlab.ListJobsOptions{Scope: &[]gitlab.BuildStateValue{gitlab.Pending}})
		if err != nil || len(pending) != 1 || pending[0].Name != "build" {
			t.Fatalf("pending jobs = %+v, %v; want only build", pending, err)
		}

		trig, _, err := gl.PipelineTriggers.AddPipelineTrigger(created.ID, &gitlab.AddPipelineTriggerOptions{Description: gitlab.Ptr("deploy hook")})
		if err != nil || trig.Token == "" {
			t.Fatalf("AddPipelineTrigger = %+v, %v", trig, err)
		}
		triggered, _, err := gl.PipelineTriggers.RunPipelineTrigger(created.ID, &gitlab.RunPipelineTriggerOptions{Ref: gitlab.Ptr("main"), Token: gitlab.Ptr(trig.Token), Variables: map[string]string{"WHO": "api"}})
		if err != nil || triggered.Source != "trigger" {
			t.Fatalf("RunPipelineTrigger = %+v, %v", triggered, err)
		}

		// Filters and pagination: 3 pipelines, 2 per page.
		page1, resp, err := gl.Pipelines.ListProjectPipelines(created.ID, &gitlab.ListProjectPipelinesOptions{ListOptions: gitlab.ListOptions{PerPage: 2, Page: 1}})
		if err != nil || len(page1) != 2 || resp.TotalItems != 3 || resp.TotalPages != 2 || resp.NextPage != 2 {
			t.Fatalf("page 1 = %d pipelines, total %d, pages %d, next %d, err %v", len(page1), resp.TotalItems, resp.TotalPages, resp.NextPage, err)
		}
		page2, resp, err := gl.Pipelines.ListProjectPipelines(created.ID, &gitlab.ListProjectPipelinesOptions{ListOptions: gitlab.ListOptions{PerPage: 2, Page: 2}})
		if err != nil || len(page2) != 1 || resp.NextPage != 0 || page2[0].ID >= page1[1].ID {
			t.Fatalf("page 2 = %+v, next %d, err %v", page2, resp.NextPage, err)
		}
		bySource, _, err := gl.Pipelines.ListProjectPipelines(created.ID, &gitlab.ListProjectPipelinesOptions{Source: gitlab.Ptr("trigger")})
		if err != nil || len(bySource) != 1 || bySource[0].ID != triggered.ID {
			t.Fatalf("source=trigger = %+v, %v", bySource, err)
		}
		bySHA, _, err := gl.Pipelines.ListProjectPipelines(created.ID, &gitlab.ListProjectPipelinesOptions{SHA: gitlab.Ptr(pl.SHA[:7]), Ref: gitlab.Ptr("main"), Sort: gitlab.Ptr("asc")})
		if err != nil || len(bySHA) != 3 || bySHA[0].ID > bySHA[2].ID {
			t.Fatalf("sha prefix, ascending = %+v, %v", bySHA, err)
		}
		full, _, err := gl.Pipelines.GetPipeline(created.ID, pl.ID)
		if err != nil || full.ID != pl.ID || full.SHA != pl.SHA || full.DetailedStatus == nil {
			t.Fatalf("GetPipeline = %+v, %v", full, err)
		}
		_, resp, err = gl.Pipelines.GetPipeline(created.ID, 999999)
		if err == nil || resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GetPipeline(unknown) = %v, %v; want 404", resp, err)
		}
	})
}
