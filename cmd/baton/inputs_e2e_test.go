package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

const inputsCI = `spec:
  inputs:
    environment:
      options: [staging, production]
      default: staging
    replicas:
      type: number
      default: 1
    version:
      regex: /^v\d+\.\d+$/
    debug:
      type: boolean
      default: false
---
deploy:
  script:
    - echo "ENV=$[[ inputs.environment ]] REPLICAS=$[[ inputs.replicas ]] VERSION=$[[ inputs.version ]] DEBUG=$[[ inputs.debug ]]"
`

// TestPipelineInputs: POST /projects/:id/pipeline with inputs fills the
// spec:inputs of the project's configuration (types, options, regex,
// defaults, as GitLab checks them); a bad input is a 400 naming it and
// creates nothing. GitLab's API client sends them too, and trigger tokens
// take them as form fields.
func TestPipelineInputs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("inputs", map[string]string{".gitlab-ci.yml": inputsCI})
		path := fmt.Sprintf("/api/v4/projects/%d/pipeline", pid)
		count := func() int {
			var pls []apiPipeline
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", pid), nil, http.StatusOK, &pls)
			return len(pls)
		}
		// The push's pipeline fails: version has no default.
		if push := in.waitPipeline(pid, in.latestPipeline(pid).ID, 30*time.Second, "failed"); push.Status != "failed" {
			t.Fatalf("push pipeline %s", push.Status)
		}
		before := count()

		bad := []struct {
			name   string
			inputs any
			want   string
		}{
			{"required missing", map[string]any{"environment": "production"}, "`version` input: required value has not been provided"},
			{"not an option", map[string]any{"version": "v1.0", "environment": "dev"}, "`environment` input: `dev` cannot be used because it is not in the list of allowed options"},
			{"not a number", map[string]any{"version": "v1.0", "replicas": "three"}, "`replicas` input: provided value is not a number"},
			{"regex", map[string]any{"version": "1.0"}, "`version` input: provided value does not match required RegEx pattern"},
			{"not a boolean", map[string]any{"version": "v1.0", "debug": "yes"}, "`debug` input: provided value is not a boolean"},
			{"unknown input", map[string]any{"version": "v1.0", "colour": "red"}, "unknown input arguments: colour"},
			{"not a hash", []any{"v1.0"}, "inputs is invalid"},
		}
		for _, c := range bad {
			st, body, _ := in.do("POST", path, map[string]string{"PRIVATE-TOKEN": in.token}, map[string]any{"ref": "main", "inputs": c.inputs})
			if st != http.StatusBadRequest || !strings.Contains(string(body), c.want) {
				t.Errorf("%s: %d %s; want 400 containing %q", c.name, st, body, c.want)
			}
		}
		if n := count(); n != before {
			t.Errorf("refused inputs created %d pipelines", n-before)
		}

		logOf := func(id int64) string {
			t.Helper()
			in.waitPipeline(pid, id, 60*time.Second, "success")
			return in.trace(pid, in.jobs(pid, id, false)["deploy"][0].ID)
		}
		var given apiPipeline
		in.api("POST", path, map[string]any{"ref": "main", "inputs": map[string]any{"version": "v1.2", "environment": "production", "replicas": 3, "debug": true}},
			http.StatusCreated, &given)
		if log := logOf(given.ID); !strings.Contains(log, "ENV=production REPLICAS=3 VERSION=v1.2 DEBUG=true") {
			t.Errorf("given inputs:\n%s", log)
		}
		// Form fields carry strings; defaults fill the rest.
		var form apiPipeline
		in.api("POST", path, url.Values{"ref": {"main"}, "inputs[version]": {"v9.9"}}, http.StatusCreated, &form)
		if log := logOf(form.ID); !strings.Contains(log, "ENV=staging REPLICAS=1 VERSION=v9.9 DEBUG=false") {
			t.Errorf("form inputs with defaults:\n%s", log)
		}
		// Trigger tokens take inputs too.
		var trig struct {
			Token string `json:"token"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", pid), url.Values{"description": {"deploys"}}, http.StatusCreated, &trig)
		var triggered apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", pid), url.Values{"token": {trig.Token}, "ref": {"main"},
			"inputs[version]": {"v4.0"}, "inputs[environment]": {"production"}}, http.StatusCreated, &triggered)
		if log := logOf(triggered.ID); !strings.Contains(log, "ENV=production REPLICAS=1 VERSION=v4.0") {
			t.Errorf("triggered with inputs:\n%s", log)
		}
		pl, _, err := in.glClient(in.token).Pipelines.CreatePipeline(pid, &gitlab.CreatePipelineOptions{Ref: gitlab.Ptr("main"),
			Inputs: gitlab.PipelineInputsOption{"version": gitlab.NewPipelineInputValue("v3.1"), "replicas": gitlab.NewPipelineInputValue(5)}})
		if err != nil {
			t.Fatalf("client-go CreatePipeline with inputs: %v", err)
		}
		if log := logOf(pl.ID); !strings.Contains(log, "ENV=staging REPLICAS=5 VERSION=v3.1") {
			t.Errorf("client-go inputs:\n%s", log)
		}
	})
}
