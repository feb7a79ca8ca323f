package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
)

// GitLab's predefined variables available when a pipeline is created
// ("Pre-pipeline" and "Pipeline" in docs/ci/variables/predefined_variables),
// as Baton provides them for a branch or tag pipeline created by the API or
// a trigger: rules must see each with the value the job then gets.
var creationVariables = []string{
	"CI", "GITLAB_CI",
	"CI_API_V4_URL",
	"CI_COMMIT_AUTHOR", "CI_COMMIT_BEFORE_SHA", "CI_COMMIT_DESCRIPTION", "CI_COMMIT_MESSAGE",
	"CI_COMMIT_REF_NAME", "CI_COMMIT_REF_PROTECTED", "CI_COMMIT_REF_SLUG", "CI_COMMIT_SHA",
	"CI_COMMIT_SHORT_SHA", "CI_COMMIT_TIMESTAMP", "CI_COMMIT_TITLE",
	"CI_CONFIG_PATH", "CI_DEFAULT_BRANCH", "CI_PIPELINE_SOURCE",
	"CI_PROJECT_ID", "CI_PROJECT_NAME", "CI_PROJECT_NAMESPACE", "CI_PROJECT_NAMESPACE_ID",
	"CI_PROJECT_PATH", "CI_PROJECT_PATH_SLUG", "CI_PROJECT_ROOT_NAMESPACE", "CI_PROJECT_TITLE",
	"CI_PROJECT_URL", "CI_PROJECT_VISIBILITY",
	"CI_SERVER_HOST", "CI_SERVER_NAME", "CI_SERVER_PORT", "CI_SERVER_PROTOCOL", "CI_SERVER_URL", "CI_SERVER_FQDN",
	"CI_SERVER_VERSION", "CI_SERVER_VERSION_MAJOR", "CI_SERVER_VERSION_MINOR", "CI_SERVER_VERSION_PATCH", "CI_SERVER_REVISION",
	"CI_TEMPLATE_REGISTRY_HOST", "GITLAB_FEATURES", "CI_PROJECT_DESCRIPTION",
	"GITLAB_USER_EMAIL", "GITLAB_USER_ID", "GITLAB_USER_LOGIN", "GITLAB_USER_NAME",
}

// Documented as available to each job's rules, with the job's own values
// (the see_V job's name is not the probe's): rules must see them set.
var jobRuleVariables = []string{"CI_JOB_NAME", "CI_JOB_NAME_SLUG", "CI_JOB_STAGE", "CI_NODE_TOTAL"}

// Documented as available to rules, but known to Baton only once the
// pipeline is stored: jobs get them, rules do not.
var jobOnlyVariables = []string{"CI_PIPELINE_IID"}

// Documented pre-pipeline variables Baton does not provide: neither rules
// nor jobs see them (internal/ci's TestPredefinedAtCreation says why).
var absentVariables = []string{"CI_API_GRAPHQL_URL", "CI_PIPELINE_NAME", "CI_PROJECT_REPOSITORY_LANGUAGES"}

// predefinedConfig: a probe job when PROBE is yes, and, when PROBE is no,
// per variable V a job see_V whose rule compares V with the pipeline
// variable WANT_V, and a job has_V whose rule asks only whether V is set.
func predefinedConfig(vars []string) string {
	var b strings.Builder
	b.WriteString("probe:\n  rules:\n    - if: $PROBE == \"yes\"\n  script: [\"true\"]\n")
	for _, v := range vars {
		fmt.Fprintf(&b, "see_%s:\n  rules:\n    - if: $PROBE == \"no\" && $WANT_%s != null && $%s == $WANT_%s\n  script: [\"true\"]\n", v, v, v, v)
		fmt.Fprintf(&b, "has_%s:\n  rules:\n    - if: $PROBE == \"no\" && $%s != null\n  script: [\"true\"]\n", v, v)
	}
	return b.String()
}

// TestRulesSeeWhatJobsGet creates, per scenario, a pipeline whose probe job
// reports the predefined variables a job gets, then a second pipeline at
// the same commit whose rules compare each variable with that value: every
// see_V job must be in it. Variables Baton gives jobs only must be invisible
// to rules; absent ones must be absent from both.
func TestRulesSeeWhatJobsGet(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		all := append(append(append([]string{}, creationVariables...), "CI_COMMIT_BRANCH", "CI_COMMIT_TAG", "CI_PIPELINE_TRIGGERED", "CI_COMMIT_TAG_MESSAGE"),
			append(append(jobOnlyVariables, jobRuleVariables...), absentVariables...)...)
		pid, r := in.project("predefined", map[string]string{".gitlab-ci.yml": predefinedConfig(all)})
		r.commit("The title of the commit\n\nIts description,\non two lines.\n", nil)
		r.git("push", "-q", in.pushURL("root/predefined"), "main")
		r.git("tag", "v1.0")
		r.git("push", "-q", in.pushURL("root/predefined"), "v1.0")
		var trigger struct {
			Token string `json:"token"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", pid), url.Values{"description": {"t"}}, http.StatusCreated, &trigger)
		runner := in.runnerToken()

		// create starts a pipeline through the API or a trigger.
		create := func(source, ref string, vars map[string]string) apiPipeline {
			t.Helper()
			form := url.Values{"ref": {ref}}
			for k, v := range vars {
				form.Set("variables["+k+"]", v)
			}
			var pl apiPipeline
			if source == "trigger" {
				form.Set("token", trigger.Token)
				status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", pid), nil, form)
				if status != http.StatusCreated {
					t.Fatalf("trigger: %d %s", status, body)
				}
				if err := json.Unmarshal(body, &pl); err != nil {
					t.Fatal(err)
				}
				return pl
			}
			list := []map[string]string{}
			for k, v := range vars {
				list = append(list, map[string]string{"key": k, "value": v})
			}
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]any{"ref": ref, "variables": list}, http.StatusCreated, &pl)
			return pl
		}
		for _, sc := range []struct{ source, ref, refVar, other string }{
			{"api", "main", "CI_COMMIT_BRANCH", "CI_COMMIT_TAG"},
			{"api", "v1.0", "CI_COMMIT_TAG", "CI_COMMIT_BRANCH"},
			{"trigger", "main", "CI_COMMIT_BRANCH", "CI_COMMIT_TAG"},
		} {
			t.Run(sc.source+"/"+sc.ref, func(t *testing.T) {
				want := append([]string{sc.refVar}, creationVariables...)
				if sc.refVar == "CI_COMMIT_TAG" {
					want = append(want, "CI_COMMIT_TAG_MESSAGE")
				}
				if sc.source == "trigger" {
					want = append(want, "CI_PIPELINE_TRIGGERED")
				}
				// What the job gets.
				probe := create(sc.source, sc.ref, map[string]string{"PROBE": "yes"})
				if names := jobNames(in.jobs(pid, probe.ID, false)); names != "probe" {
					t.Fatalf("probe pipeline runs %s, want probe alone", names)
				}
				_, payload := in.jobVariables(runner)
				got := map[string]string{}
				for _, v := range payload {
					got[v.Key] = v.Value
				}
				// Rules compare each variable with the job's value.
				wants := map[string]string{"PROBE": "no"}
				for _, v := range want {
					value, ok := got[v]
					if !ok {
						t.Errorf("the job does not get %s", v)
					}
					wants["WANT_"+v] = value
				}
				for _, v := range append(jobOnlyVariables, jobRuleVariables...) {
					if _, ok := got[v]; !ok {
						t.Errorf("the job does not get %s", v)
					}
				}
				for _, v := range append([]string{sc.other}, absentVariables...) {
					if value, ok := got[v]; ok {
						t.Errorf("the job gets %s = %q, want it absent", v, value)
					}
				}
				rules := create(sc.source, sc.ref, wants)
				seen := in.allJobs(pid, rules.ID)
				for _, v := range want {
					if _, ok := seen["see_"+v]; !ok {
						t.Errorf("rules do not see %s = %q, the value the job gets", v, wants["WANT_"+v])
					}
					if _, ok := seen["has_"+v]; !ok {
						t.Errorf("rules do not see %s at all", v)
					}
				}
				for _, v := range jobRuleVariables {
					if _, ok := seen["has_"+v]; !ok {
						t.Errorf("job rules do not see %s", v)
					}
				}
				for _, v := range append(append([]string{sc.other}, jobOnlyVariables...), absentVariables...) {
					if _, ok := seen["has_"+v]; ok {
						t.Errorf("rules see %s, which jobs get only (or not at all)", v)
					}
				}
				if t.Failed() {
					t.Logf("jobs of the rules pipeline: %s", jobNames(seen))
				}
				// Its jobs must not be handed to the next scenario's probe request.
				in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/cancel", pid, rules.ID), nil, http.StatusOK, nil)
			})
		}
	})
}

func jobNames(jobs map[string][]apiJobFull) string {
	var names []string
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}

// allJobs lists every job of a pipeline by name, page by page.
func (in *instance) allJobs(projectID, pipelineID int64) map[string][]apiJobFull {
	in.t.Helper()
	out := map[string][]apiJobFull{}
	for page := 1; ; page++ {
		var list []apiJobFull
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs?per_page=100&page=%d", projectID, pipelineID, page), nil, http.StatusOK, &list)
		for _, j := range list {
			out[j.Name] = append(out[j.Name], j)
		}
		if len(list) < 100 {
			return out
		}
	}
}
