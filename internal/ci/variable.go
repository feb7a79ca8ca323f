package ci

import "strings"

// Reserved reports whether key names a predefined variable that no user may
// set: not pipeline or trigger variables, not the YAML variables: of the
// file or of a job, not a dotenv report. These carry where the job talks to
// (URLs, hosts, ports), its credentials (tokens, passwords, users) or its
// identity (server, project, pipeline, job, commit, runner, user); letting a
// trigger holder or a commit override them redirects a job's authenticated
// calls (CI_API_V4_URL with CI_JOB_TOKEN) or makes one pipeline pass for
// another in rules (CI_COMMIT_BRANCH, CI_PIPELINE_SOURCE).
//
// GitLab lets pipeline and YAML variables override most predefined ones;
// Baton refuses these names instead. Predefined settings meant to be set
// (CI_DEBUG_TRACE, CI_DEBUG_SERVICES, GIT_DEPTH, GIT_STRATEGY, ...) stay
// free. Names are matched exactly as given (variables are case-sensitive).
func Reserved(key string) bool {
	switch key {
	case "CI", "CI_SERVER", "CI_DEFAULT_BRANCH", "CI_CONFIG_PATH", "CI_REPOSITORY_URL":
		return true
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	if strings.HasPrefix(key, "CI_") {
		for _, s := range reservedSuffixes {
			if strings.HasSuffix(key, s) {
				return true
			}
		}
	}
	return false
}

var reservedPrefixes = []string{
	"GITLAB_",               // GITLAB_CI, GITLAB_USER_*, GITLAB_FEATURES
	"CI_SERVER_", "CI_API_", // where Baton is
	"CI_PROJECT_", "CI_PIPELINE_", "CI_JOB_", // identity; CI_JOB_TOKEN, CI_JOB_JWT*
	"CI_COMMIT_", "CI_MERGE_REQUEST_", "CI_NODE_", // what runs, as rules see it
	"CI_RUNNER_", "CI_REGISTRY", "CI_DEPENDENCY_PROXY_", "CI_DEPLOY_",
}

var reservedSuffixes = []string{"_URL", "_HOST", "_PORT", "_TOKEN", "_PASSWORD", "_USER", "_JWT"}
