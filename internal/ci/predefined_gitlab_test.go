package ci

import (
	"strings"
	"testing"
	"time"
)

// gitLabCreationVariables is GitLab's "Predefined CI/CD variables
// reference" (doc/ci/variables/predefined_variables.md, GitLab 17.x), every
// variable of availability "Pre-pipeline" or "Pipeline": those rules and
// workflow:rules may use. Each says how Baton provides it:
//
//	rules     PredefinedVariables gives rules (and jobs) it; when names the
//	          pipelines it applies to (branch, tag, trigger; "" for all)
//	job       PlannedJobVariables gives each job's rules (and the job) it
//	absent    GitLab sets it only for a feature Baton does not have, or the
//	          runner sets it, or Baton gives it to the job but not to
//	          rules; why says which
var gitLabCreationVariables = []struct {
	name, provided, when, why string
}{
	{"CHAT_CHANNEL", "absent", "", "ChatOps"},
	{"CHAT_INPUT", "absent", "", "ChatOps"},
	{"CHAT_USER_ID", "absent", "", "ChatOps"},
	{"CI", "rules", "", ""},
	{"CI_API_V4_URL", "rules", "", ""},
	{"CI_API_GRAPHQL_URL", "absent", "", "Baton has no GraphQL API: a URL there would only 404"},
	{"CI_COMMIT_AUTHOR", "rules", "", ""},
	{"CI_COMMIT_BEFORE_SHA", "rules", "", ""},
	{"CI_COMMIT_BRANCH", "rules", "branch", ""},
	{"CI_COMMIT_DESCRIPTION", "rules", "", ""},
	{"CI_COMMIT_MESSAGE", "rules", "", ""},
	{"CI_COMMIT_REF_NAME", "rules", "", ""},
	{"CI_COMMIT_REF_PROTECTED", "rules", "", ""},
	{"CI_COMMIT_REF_SLUG", "rules", "", ""},
	{"CI_COMMIT_SHA", "rules", "", ""},
	{"CI_COMMIT_SHORT_SHA", "rules", "", ""},
	{"CI_COMMIT_TAG", "rules", "tag", ""},
	{"CI_COMMIT_TAG_MESSAGE", "rules", "tag", ""},
	{"CI_COMMIT_TIMESTAMP", "rules", "", ""},
	{"CI_COMMIT_TITLE", "rules", "", ""},
	{"CI_CONFIG_PATH", "rules", "", ""},
	{"CI_DEBUG_TRACE", "absent", "", "set by the user as a variable, not predefined"},
	{"CI_DEBUG_SERVICES", "absent", "", "set by the user as a variable, not predefined"},
	{"CI_DEFAULT_BRANCH", "rules", "", ""},
	{"CI_DEPENDENCY_PROXY_DIRECT_GROUP_IMAGE_PREFIX", "absent", "", "dependency proxy"},
	{"CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", "absent", "", "dependency proxy"},
	{"CI_DEPENDENCY_PROXY_PASSWORD", "absent", "", "dependency proxy"},
	{"CI_DEPENDENCY_PROXY_SERVER", "absent", "", "dependency proxy"},
	{"CI_DEPENDENCY_PROXY_USER", "absent", "", "dependency proxy"},
	{"CI_DEPLOY_FREEZE", "absent", "", "deploy freeze windows (GitLab sets it only inside one)"},
	{"CI_DISPOSABLE_ENVIRONMENT", "absent", "", "set by the runner's executor"},
	{"CI_ENVIRONMENT_NAME", "absent", "", "the job gets it; Baton does not give it to the job's rules yet, GitLab does"},
	{"CI_ENVIRONMENT_SLUG", "absent", "", "the job gets it; Baton does not give it to the job's rules yet, GitLab does"},
	{"CI_ENVIRONMENT_URL", "absent", "", "the job gets it; Baton does not give it to the job's rules yet, GitLab does"},
	{"CI_ENVIRONMENT_ACTION", "absent", "", "the job gets it; Baton does not give it to the job's rules yet, GitLab does"},
	{"CI_ENVIRONMENT_TIER", "absent", "", "the job gets it; Baton does not give it to the job's rules yet, GitLab does"},
	{"CI_GITLAB_FIPS_MODE", "absent", "", "FIPS mode (GitLab sets it only when enabled)"},
	{"CI_HAS_OPEN_REQUIREMENTS", "absent", "", "requirements management"},
	{"CI_JOB_IMAGE", "absent", "", "the runner reports the image it runs"},
	{"CI_JOB_MANUAL", "absent", "", "set only once a user starts a manual job, never at creation"},
	{"CI_JOB_NAME", "job", "", ""},
	{"CI_JOB_NAME_SLUG", "job", "", ""},
	{"CI_JOB_STAGE", "job", "", ""},
	{"CI_KUBERNETES_ACTIVE", "absent", "", "Kubernetes clusters"},
	{"CI_NODE_INDEX", "job", "", ""},
	{"CI_NODE_TOTAL", "job", "", ""},
	{"CI_OPEN_MERGE_REQUESTS", "absent", "", "merge requests"},
	{"CI_PAGES_DOMAIN", "absent", "", "GitLab Pages"},
	{"CI_PAGES_URL", "absent", "", "GitLab Pages"},
	{"CI_PIPELINE_IID", "absent", "", "allocated when the pipeline is stored, after rules: jobs get it"},
	{"CI_PIPELINE_SOURCE", "rules", "", ""},
	{"CI_PIPELINE_TRIGGERED", "rules", "trigger", ""},
	{"CI_PIPELINE_CREATED_AT", "rules", "", ""},
	{"CI_PIPELINE_NAME", "absent", "", "workflow:name is known only after workflow:rules ran"},
	{"CI_PROJECT_ID", "rules", "", ""},
	{"CI_PROJECT_NAME", "rules", "", ""},
	{"CI_PROJECT_NAMESPACE", "rules", "", ""},
	{"CI_PROJECT_NAMESPACE_ID", "rules", "", ""},
	{"CI_PROJECT_PATH_SLUG", "rules", "", ""},
	{"CI_PROJECT_PATH", "rules", "", ""},
	{"CI_PROJECT_REPOSITORY_LANGUAGES", "absent", "", "repository language detection"},
	{"CI_PROJECT_ROOT_NAMESPACE", "rules", "", ""},
	{"CI_PROJECT_TITLE", "rules", "", ""},
	{"CI_PROJECT_DESCRIPTION", "rules", "", ""},
	{"CI_PROJECT_URL", "rules", "", ""},
	{"CI_PROJECT_VISIBILITY", "rules", "", ""},
	{"CI_PROJECT_CLASSIFICATION_LABEL", "absent", "", "external authorization"},
	{"CI_REGISTRY", "absent", "", "container registry (GitLab sets it only when enabled)"},
	{"CI_REGISTRY_IMAGE", "absent", "", "container registry (GitLab sets it only when enabled)"},
	{"CI_RELEASE_DESCRIPTION", "absent", "", "releases (issue 11 point 5)"},
	{"CI_SERVER_FQDN", "rules", "", ""},
	{"CI_SERVER_HOST", "rules", "", ""},
	{"CI_SERVER_NAME", "rules", "", ""},
	{"CI_SERVER_PORT", "rules", "", ""},
	{"CI_SERVER_PROTOCOL", "rules", "", ""},
	{"CI_SERVER_SHELL_SSH_HOST", "absent", "", "Baton serves git over HTTP only"},
	{"CI_SERVER_SHELL_SSH_PORT", "absent", "", "Baton serves git over HTTP only"},
	{"CI_SERVER_REVISION", "rules", "", ""},
	{"CI_SERVER_TLS_CA_FILE", "absent", "", "set by the runner"},
	{"CI_SERVER_TLS_CERT_FILE", "absent", "", "set by the runner"},
	{"CI_SERVER_TLS_KEY_FILE", "absent", "", "set by the runner"},
	{"CI_SERVER_URL", "rules", "", ""},
	{"CI_SERVER_VERSION_MAJOR", "rules", "", ""},
	{"CI_SERVER_VERSION_MINOR", "rules", "", ""},
	{"CI_SERVER_VERSION_PATCH", "rules", "", ""},
	{"CI_SERVER_VERSION", "rules", "", ""},
	{"CI_SHARED_ENVIRONMENT", "absent", "", "set by the runner's executor"},
	{"CI_TEMPLATE_REGISTRY_HOST", "rules", "", ""},
	{"GITLAB_CI", "rules", "", ""},
	{"GITLAB_FEATURES", "rules", "", ""},
	{"GITLAB_USER_EMAIL", "rules", "", ""},
	{"GITLAB_USER_ID", "rules", "", ""},
	{"GITLAB_USER_LOGIN", "rules", "", ""},
	{"GITLAB_USER_NAME", "rules", "", ""},
	{"KUBECONFIG", "absent", "", "GitLab agents for Kubernetes"},
	{"TRIGGER_PAYLOAD", "absent", "", "webhook-triggered pipelines"},
}

// TestPredefinedAtCreation checks every variable GitLab documents as
// available when a pipeline is created against what Baton's rules see, for
// a pushed branch, a tag pipeline and a triggered one: each one Baton
// provides is there (with the same value in the job), each one it does not
// is absent, so that the table above stays the truth.
func TestPredefinedAtCreation(t *testing.T) {
	p := &Project{ID: 3, NamespaceID: 2, Path: "app", Name: "App", FullPath: "group/sub/app", Visibility: VisibilityInternal,
		DefaultBranch: "main", Description: "The app"}
	u := &User{ID: 9, Username: "u", Name: "U", Email: "u@example.com"}
	c := &Commit{Message: "Fix\n\nbody", Author: "A <a@example.com>", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), TagMessage: "Release 1"}
	created := time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)
	scenarios := map[string]*Pipeline{
		"branch":  {ID: 40, IID: 4, Ref: "main", SHA: strings.Repeat("ab", 20), Source: SourcePush, CommitTitle: "Fix", CreatedAt: created},
		"tag":     {ID: 41, IID: 5, Ref: "v1", Tag: true, SHA: strings.Repeat("cd", 20), Source: SourceAPI, CommitTitle: "Fix", CreatedAt: created},
		"trigger": {ID: 42, IID: 6, Ref: "main", SHA: strings.Repeat("ef", 20), Source: SourceTrigger, CommitTitle: "Fix", CreatedAt: created},
	}
	job := PlannedJobVariables("build", "test", 0, 1)
	parallelJob := PlannedJobVariables("test 2/3", "test", 2, 3)
	has := func(vars []Variable, key string) (string, bool) {
		for _, v := range vars {
			if v.Key == key {
				return v.Value, true
			}
		}
		return "", false
	}
	for name, pl := range scenarios {
		rules := PredefinedVariables(Predefined{ServerURL: "https://ci.example:8443", Revision: "abc123", Project: p, Pipeline: pl, Commit: c, User: u})
		jobVars := PredefinedVariables(Predefined{ServerURL: "https://ci.example:8443", Revision: "abc123", Project: p, Pipeline: pl, Commit: c, User: u,
			Job: &JobRun{Job: &Job{ID: 7, Name: "build", Stage: "test"}, Runner: &Runner{ID: 1}}})
		applies := map[string]bool{"": true, "branch": !pl.Tag, "tag": pl.Tag, "trigger": pl.Source == SourceTrigger}
		for _, v := range gitLabCreationVariables {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				value, inRules := has(rules, v.name)
				_, inJobRules := has(job, v.name)
				switch {
				case v.provided == "rules" && applies[v.when]:
					if !inRules {
						t.Fatalf("%s pipeline: rules do not see %s", name, v.name)
					}
					if got, _ := has(jobVars, v.name); got != value {
						t.Errorf("rules see %s=%q, the job gets %q", v.name, value, got)
					}
				case v.provided == "rules":
					if inRules {
						t.Errorf("%s pipeline: rules see %s=%q, GitLab sets it only for %s pipelines", name, v.name, value, v.when)
					}
				case v.provided == "job":
					_, inParallel := has(parallelJob, v.name)
					if !inJobRules && !inParallel {
						t.Errorf("job rules do not see %s", v.name)
					}
					if got, _ := has(jobVars, v.name); inJobRules && got != func() string { s, _ := has(job, v.name); return s }() {
						t.Errorf("job rules and the job disagree on %s", v.name)
					}
				case v.provided == "absent":
					if inRules || inJobRules {
						t.Errorf("%s is provided now: move it out of absent (%s)", v.name, v.why)
					}
				default:
					t.Fatalf("bad table entry %+v", v)
				}
			})
		}
	}
	rules := PredefinedVariables(Predefined{ServerURL: "https://ci.example:8443", Revision: "abc123", Project: p, Pipeline: scenarios["branch"], Commit: c, User: u})
	for key, want := range map[string]string{"CI_SERVER_FQDN": "ci.example:8443", "CI_SERVER_VERSION": "17.0.0-baton-abc123",
		"CI_SERVER_VERSION_MAJOR": "17", "CI_SERVER_REVISION": "abc123", "CI_PIPELINE_CREATED_AT": "2026-01-02T03:05:00Z",
		"CI_PROJECT_DESCRIPTION": "The app", "CI_TEMPLATE_REGISTRY_HOST": "registry.gitlab.com"} {
		if got, _ := has(rules, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got, _ := has(PredefinedVariables(Predefined{ServerURL: "https://ci.example/", Project: p, Pipeline: scenarios["tag"], Commit: c}), "CI_SERVER_FQDN"); got != "ci.example" {
		t.Errorf("CI_SERVER_FQDN on the standard port = %q, want ci.example", got)
	}
	if got, _ := has(PredefinedVariables(Predefined{ServerURL: "https://ci.example/", Project: p, Pipeline: scenarios["tag"], Commit: c}), "CI_COMMIT_TAG_MESSAGE"); got != "Release 1" {
		t.Errorf("CI_COMMIT_TAG_MESSAGE = %q", got)
	}
}
