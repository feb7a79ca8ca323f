package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// runnerVariable is one entry of a job payload's variables.
type runnerVariable struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// jobVariables asks for a job as the runner with token and returns the
// payload's variables, failing unless a job is handed out.
func (in *instance) jobVariables(token string) (int64, []runnerVariable) {
	in.t.Helper()
	status, body, _ := in.do("POST", "/api/v4/jobs/request", nil, map[string]string{"token": token})
	if status != http.StatusCreated {
		in.t.Fatalf("jobs/request: status %d, want 201; body %s", status, body)
	}
	var p struct {
		ID        int64            `json:"id"`
		Variables []runnerVariable `json:"variables"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		in.t.Fatal(err)
	}
	return p.ID, p.Variables
}

// lastValue is the value the runner uses for key: the last entry wins.
func lastValue(vs []runnerVariable, key string) (string, bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].Key == key {
			return vs[i].Value, true
		}
	}
	return "", false
}

// queryInts runs a one-row query of n integer columns about one pipeline;
// id is formatted into the statement (placeholders differ per engine).
func (in *instance) queryInts(n int, q string, id int64) []int64 {
	in.t.Helper()
	row := in.main.Store.SQL().QueryRow(fmt.Sprintf(q, id))
	out := make([]int64, n)
	ptrs := make([]any, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := row.Scan(ptrs...); err != nil {
		in.t.Fatalf("%s: %v", q, err)
	}
	return out
}

// TestPlanSpecStoredOnce is the amplification case: a big global variable
// times parallel: 200 is stored once for the pipeline, not in 200 job rows;
// jobs still receive it, with GitLab's precedence (job over global, pipeline
// variables over both).
func TestPlanSpecStoredOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		// A budget far below 200 copies of the variable (12 MB), above one.
		in := startBaton(t, e, func(c *Config) { c.MaxPlanBytes = 512 << 10 })
		big := strings.Repeat("0123456789abcdef", 60<<10/16) // 60 KiB, under --max-variable-bytes
		yaml := "variables:\n  BIG: " + big + "\n  SHARED: global\n  OVERRIDDEN: yaml\n" +
			"test:\n  parallel: 200\n  variables:\n    SHARED: job\n  script: echo $BIG\n"
		pid, _ := in.project("amplify", map[string]string{".gitlab-ci.yml": yaml})
		pl := in.waitPipeline(pid, in.latestPipeline(pid).ID, 15*time.Second, "pending")
		sizes := in.queryInts(3, `SELECT COUNT(*), COALESCE(SUM(LENGTH(spec)), 0), COALESCE(MAX(LENGTH(spec)), 0) FROM jobs WHERE pipeline_id = %d`, pl.ID)
		if sizes[0] != 200 {
			t.Fatalf("jobs = %d, want 200", sizes[0])
		}
		if sizes[1] >= int64(len(big)) || sizes[2] > 1024 {
			t.Errorf("job specs take %d bytes in all, %d at most: the global variable (%d bytes) is copied into jobs", sizes[1], sizes[2], len(big))
		}
		once := in.queryInts(2, `SELECT COUNT(*), COALESCE(SUM(LENGTH(spec)), 0) FROM pipeline_specs WHERE pipeline_id = %d`, pl.ID)
		if once[0] != 1 || once[1] < int64(len(big)) || once[1] > int64(len(big))+1024 {
			t.Errorf("pipeline_specs rows, bytes = %v; want 1 row holding the variable once", once)
		}
		spec, err := in.main.Store.PipelineSpec(t.Context(), pl.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(spec.Variables) != 3 || spec.Variables[0].Key != "BIG" || spec.Variables[0].Value != big {
			t.Errorf("PipelineSpec variables = %d entries, first %q", len(spec.Variables), spec.Variables[0].Key)
		}

		// The runner receives the variables, job over global.
		token := in.runnerToken()
		_, vars := in.jobVariables(token)
		for key, want := range map[string]string{"BIG": big, "SHARED": "job", "OVERRIDDEN": "yaml", "CI_NODE_TOTAL": "200"} {
			if got, ok := lastValue(vars, key); !ok || got != want {
				t.Errorf("payload %s = %.40q (present %v), want %.40q", key, got, ok, want)
			}
		}

		// Pipeline variables win over YAML ones.
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/cancel", pid, pl.ID), nil, http.StatusOK, nil)
		var created apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]any{"ref": "main",
			"variables": []map[string]string{{"key": "OVERRIDDEN", "value": "api"}, {"key": "SHARED", "value": "api"}}},
			http.StatusCreated, &created)
		_, vars = in.jobVariables(token)
		for key, want := range map[string]string{"CI_PIPELINE_ID": fmt.Sprint(created.ID), "OVERRIDDEN": "api", "SHARED": "api", "BIG": big} {
			if got, _ := lastValue(vars, key); got != want {
				t.Errorf("payload of the API pipeline: %s = %.40q, want %.40q", key, got, want)
			}
		}
	})
}

// TestPlanBudget: a push over a limit creates a failed pipeline whose
// yaml_errors name the limit; the API and a trigger answer 400 naming it
// and create nothing.
func TestPlanBudget(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, func(c *Config) { c.MaxPlanBytes, c.MaxVariableBytes, c.MaxVariables = 256<<10, 8<<10, 20 })
		script := strings.Repeat("x", 2048)
		tooMany := "variables:\n"
		for i := 0; i < 21; i++ {
			tooMany += fmt.Sprintf("  V%d: v\n", i)
		}
		tests := []struct {
			name, yaml, limit string
		}{
			{"plan bytes", "test:\n  parallel: 200\n  script: echo " + script + "\n", "--max-plan-bytes"},
			{"variable bytes", "variables:\n  BIG: " + strings.Repeat("y", 9<<10) + "\ntest:\n  script: ls\n", "--max-variable-bytes"},
			{"job variable bytes", "test:\n  variables:\n    BIG: " + strings.Repeat("y", 9<<10) + "\n  script: ls\n", "--max-variable-bytes"},
			{"variable count", tooMany + "test:\n  script: ls\n", "--max-variables"},
			{"reserved in YAML", "variables:\n  CI_API_V4_URL: http://evil.example/api/v4\ntest:\n  script: ls\n", "CI_API_V4_URL"},
			{"reserved in a job", "test:\n  variables:\n    CI_JOB_TOKEN: stolen\n  script: ls\n", "CI_JOB_TOKEN"},
		}
		var trig struct {
			Token string `json:"token"`
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				name := fmt.Sprintf("budget%d", i)
				pid, _ := in.project(name, map[string]string{".gitlab-ci.yml": tt.yaml})
				var pl apiPipeline
				in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", pid, in.latestPipeline(pid).ID), nil, http.StatusOK, &pl)
				if pl.Status != "failed" || pl.YAMLErrors == nil || !strings.Contains(*pl.YAMLErrors, tt.limit) {
					t.Fatalf("pushed pipeline = %+v, want failed with yaml_errors naming %s", pl, tt.limit)
				}
				if n := in.queryInts(1, `SELECT COUNT(*) FROM jobs WHERE pipeline_id = %d`, pl.ID)[0]; n != 0 {
					t.Errorf("the failed pipeline has %d jobs", n)
				}
				status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid),
					map[string]string{"PRIVATE-TOKEN": in.token}, map[string]string{"ref": "main"})
				if status != http.StatusBadRequest || !strings.Contains(string(body), tt.limit) {
					t.Errorf("API create: %d %s, want 400 naming %s", status, body, tt.limit)
				}
				in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", pid), url.Values{"description": {"t"}}, http.StatusCreated, &trig)
				status, body, _ = in.do("POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", pid), nil,
					url.Values{"token": {trig.Token}, "ref": {"main"}})
				if status != http.StatusBadRequest || !strings.Contains(string(body), tt.limit) {
					t.Errorf("trigger: %d %s, want 400 naming %s", status, body, tt.limit)
				}
				var pls []apiPipeline
				in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", pid), nil, http.StatusOK, &pls)
				if len(pls) != 1 {
					t.Errorf("project has %d pipelines, want only the pushed failed one", len(pls))
				}
			})
		}
	})
}

// TestReservedPipelineVariables: no user-given pipeline variable may set a
// predefined URL, token or identity variable, on any path; others still may.
func TestReservedPipelineVariables(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("reserved", map[string]string{".gitlab-ci.yml": "test:\n  script: ls\n"})
		in.latestPipeline(pid)
		var trig struct {
			Token string `json:"token"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", pid), url.Values{"description": {"t"}}, http.StatusCreated, &trig)
		create := fmt.Sprintf("/api/v4/projects/%d/pipeline", pid)
		trigger := fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", pid)
		auth := map[string]string{"PRIVATE-TOKEN": in.token}
		tests := []struct {
			name    string
			path    string
			headers map[string]string
			body    any
			key     string // the refused variable, "" when accepted
		}{
			{"API JSON array", create, auth, map[string]any{"ref": "main", "variables": []map[string]string{{"key": "CI_API_V4_URL", "value": "http://evil.example/api/v4"}}}, "CI_API_V4_URL"},
			{"API form", create, auth, url.Values{"ref": {"main"}, "variables[][key]": {"CI_JOB_TOKEN"}, "variables[][value]": {"x"}}, "CI_JOB_TOKEN"},
			{"API server URL", create, auth, map[string]any{"ref": "main", "variables": []map[string]string{{"key": "CI_SERVER_URL", "value": "http://evil.example"}}}, "CI_SERVER_URL"},
			{"API project path", create, auth, map[string]any{"ref": "main", "variables": []map[string]string{{"key": "CI_PROJECT_PATH", "value": "other/project"}}}, "CI_PROJECT_PATH"},
			{"API registry", create, auth, map[string]any{"ref": "main", "variables": []map[string]string{{"key": "CI_REGISTRY_PASSWORD", "value": "x"}}}, "CI_REGISTRY_PASSWORD"},
			{"API user", create, auth, map[string]any{"ref": "main", "variables": []map[string]string{{"key": "GITLAB_USER_LOGIN", "value": "root"}}}, "GITLAB_USER_LOGIN"},
			{"API commit branch", create, auth, map[string]any{"ref": "main", "variables": []map[string]string{{"key": "CI_COMMIT_BRANCH", "value": "main"}}}, "CI_COMMIT_BRANCH"},
			{"trigger form variables[KEY]", trigger, nil, url.Values{"token": {trig.Token}, "ref": {"main"}, "variables[CI_PIPELINE_ARTIFACTS_URL]": {"http://evil.example"}}, "CI_PIPELINE_ARTIFACTS_URL"},
			{"trigger JSON variables", trigger, nil, map[string]any{"token": trig.Token, "ref": "main", "variables": map[string]string{"CI_SERVER": "yes"}}, "CI_SERVER"},
			{"trigger JWT", trigger, nil, url.Values{"token": {trig.Token}, "ref": {"main"}, "variables[CI_JOB_JWT_V2]": {"x"}}, "CI_JOB_JWT_V2"},
			{"API free variable", create, auth, map[string]any{"ref": "main", "variables": []map[string]string{{"key": "DEPLOY_TARGET", "value": "qa"}, {"key": "CI_DEBUG_TRACE", "value": "false"}}}, ""},
			{"trigger free variable", trigger, nil, url.Values{"token": {trig.Token}, "ref": {"main"}, "variables[DEPLOY_TARGET]": {"qa"}}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				status, body, _ := in.do("POST", tt.path, tt.headers, tt.body)
				switch {
				case tt.key == "" && status != http.StatusCreated:
					t.Errorf("status %d, want 201; body %s", status, body)
				case tt.key != "" && (status != http.StatusBadRequest || !strings.Contains(string(body), tt.key)):
					t.Errorf("status %d body %s, want 400 naming %s", status, body, tt.key)
				}
			})
		}
	})
}
