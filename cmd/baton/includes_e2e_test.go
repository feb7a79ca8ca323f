package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const deployComponent = `spec:
  inputs:
    env:
      options: [staging, production]
    stage:
      default: deploy
---
"deploy-$[[ inputs.env ]]":
  stage: $[[ inputs.stage ]]
  script: ./deploy $[[ inputs.env | posix_escape ]]
`

// TestIncludesAcrossProjects: a pipeline includes a component with inputs
// from another Baton project at a tag (not the branch head) and a file of a
// third project with include:project. A user who may not read the
// component's project gets "not found or access denied" and no pipeline.
func TestIncludesAcrossProjects(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		_, comp := in.project("components", map[string]string{"templates/deploy/template.yml": deployComponent})
		comp.git("tag", "1.0.0")
		comp.commit("main moves on", map[string]string{"templates/deploy/template.yml": "head-of-main:\n  script: x\n"})
		comp.git("push", "-q", in.pushURL("root/components"), "main", "--tags")
		in.project("shared", map[string]string{"ci/lint.yml": "lint:\n  stage: .pre\n  script: lint\n"})
		appYAML := `stages: [build, deploy]
include:
  - component: $CI_SERVER_FQDN/root/components/deploy@1.0.0
    inputs:
      env: production
  - project: root/shared
    file: [ci/lint.yml]
build:
  stage: build
  script: make
`
		pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": appYAML})
		pl := in.latestPipeline(pid)
		var jobs []struct {
			Name  string `json:"name"`
			Stage string `json:"stage"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs", pid, pl.ID), nil, http.StatusOK, &jobs)
		got := map[string]string{}
		for _, j := range jobs {
			got[j.Name] = j.Stage
		}
		want := map[string]string{"lint": ".pre", "build": "build", "deploy-production": "deploy"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("pushed pipeline %d (%s) has jobs %v, want %v", pl.ID, pl.Status, got, want)
		}

		devID, devToken := in.user("dev")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]string{"PRIVATE-TOKEN": devToken}, map[string]string{"ref": "main"})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "project `root/components` not found or access denied!") {
			t.Errorf("dev's pipeline: %d %s, want 400 saying the component's project is not found or not accessible", status, body)
		}
		// Once dev may read the component's project, the same request plans.
		in.api("POST", "/api/v4/projects/root%2Fcomponents/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		in.api("POST", "/api/v4/projects/root%2Fshared/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		status, body, _ = in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]string{"PRIVATE-TOKEN": devToken}, map[string]string{"ref": "main"})
		if status != http.StatusCreated {
			t.Errorf("dev's pipeline with access: %d %s, want 201", status, body)
		}
	})
}
