package runnerapi

import (
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// jobContext is everything the payload of one assigned job is built from.
type jobContext struct {
	job      *ci.Job
	token    string // the job's secret token
	project  *ci.Project
	pipeline *ci.Pipeline
	runner   *ci.Runner
	user     *ci.User // may be nil
	timeout  int
	repoURL  string // with gitlab-ci-token credentials
}

// predefinedVariables are GitLab's predefined CI variables for a job, plus
// Baton's CI_PIPELINE_ARTIFACTS_URL. CI_PROJECT_DIR and CI_BUILDS_DIR are
// left to the runner, which knows its build directory.
func (s *Server) predefinedVariables(c *jobContext) []jobVariable {
	base := strings.TrimRight(s.ExternalURL, "/")
	u, _ := url.Parse(base)
	host, port, proto := "", "", "http"
	if u != nil {
		host, port, proto = u.Hostname(), u.Port(), u.Scheme
		if port == "" {
			port = "80"
			if proto == "https" {
				port = "443"
			}
		}
	}
	j, p, pl := c.job, c.project, c.pipeline
	apiURL := base + "/api/v4"
	projectURL := base + "/" + p.FullPath
	jobID := strconv.FormatInt(j.ID, 10)
	pid := strconv.FormatInt(pl.ID, 10)
	projID := strconv.FormatInt(p.ID, 10)
	namespace := path.Dir(p.FullPath)
	root, _, _ := strings.Cut(p.FullPath, "/")
	shortSHA := pl.SHA
	if len(shortSHA) > 8 {
		shortSHA = shortSHA[:8]
	}
	beforeSHA := pl.BeforeSHA
	if beforeSHA == "" {
		beforeSHA = strings.Repeat("0", 40)
	}
	vars := []jobVariable{
		pub("CI", "true"), pub("GITLAB_CI", "true"),
		pub("CI_SERVER", "yes"), pub("CI_SERVER_NAME", "GitLab"),
		pub("CI_SERVER_URL", base), pub("CI_SERVER_HOST", host), pub("CI_SERVER_PORT", port),
		pub("CI_SERVER_PROTOCOL", proto), pub("CI_API_V4_URL", apiURL),
		pub("CI_PROJECT_ID", projID), pub("CI_PROJECT_NAME", p.Path), pub("CI_PROJECT_TITLE", p.Name),
		pub("CI_PROJECT_PATH", p.FullPath), pub("CI_PROJECT_PATH_SLUG", ci.Slug(p.FullPath)),
		pub("CI_PROJECT_NAMESPACE", namespace), pub("CI_PROJECT_ROOT_NAMESPACE", root),
		pub("CI_PROJECT_URL", projectURL), pub("CI_PROJECT_VISIBILITY", string(p.Visibility)),
		pub("CI_DEFAULT_BRANCH", p.DefaultBranch), pub("CI_CONFIG_PATH", configPath(p)),
		pub("CI_COMMIT_SHA", pl.SHA), pub("CI_COMMIT_SHORT_SHA", shortSHA),
		pub("CI_COMMIT_BEFORE_SHA", beforeSHA), pub("CI_COMMIT_REF_NAME", pl.Ref),
		pub("CI_COMMIT_REF_SLUG", ci.Slug(pl.Ref)), pub("CI_COMMIT_REF_PROTECTED", "false"),
		pub("CI_COMMIT_TITLE", pl.CommitTitle),
	}
	if pl.Tag {
		vars = append(vars, pub("CI_COMMIT_TAG", pl.Ref))
	} else {
		vars = append(vars, pub("CI_COMMIT_BRANCH", pl.Ref))
	}
	vars = append(vars,
		pub("CI_PIPELINE_ID", pid), pub("CI_PIPELINE_IID", strconv.FormatInt(pl.IID, 10)),
		pub("CI_PIPELINE_URL", projectURL+"/-/pipelines/"+pid), pub("CI_PIPELINE_SOURCE", pl.Source),
		pub("CI_PIPELINE_CREATED_AT", pl.CreatedAt.UTC().Format(time.RFC3339)),
		pub("CI_PIPELINE_ARTIFACTS_URL", apiURL+"/projects/"+projID+"/pipelines/"+pid+"/artifacts"),
		pub("CI_JOB_ID", jobID), pub("CI_JOB_NAME", j.Name), pub("CI_JOB_NAME_SLUG", ci.Slug(j.Name)),
		pub("CI_JOB_STAGE", j.Stage), pub("CI_JOB_URL", projectURL+"/-/jobs/"+jobID),
		pub("CI_JOB_TIMEOUT", strconv.Itoa(c.timeout)),
		jobVariable{Key: "CI_JOB_TOKEN", Value: c.token, Masked: true},
		jobVariable{Key: "CI_REPOSITORY_URL", Value: c.repoURL},
		pub("CI_RUNNER_ID", strconv.FormatInt(c.runner.ID, 10)), pub("CI_RUNNER_DESCRIPTION", c.runner.Description),
		pub("CI_RUNNER_TAGS", jsonStrings(c.runner.Tags)),
	)
	if j.StartedAt != nil {
		vars = append(vars, pub("CI_JOB_STARTED_AT", j.StartedAt.UTC().Format(time.RFC3339)))
	}
	if j.Spec.NodeTotal > 1 {
		vars = append(vars, pub("CI_NODE_INDEX", strconv.Itoa(j.Spec.NodeIndex)), pub("CI_NODE_TOTAL", strconv.Itoa(j.Spec.NodeTotal)))
	} else {
		vars = append(vars, pub("CI_NODE_TOTAL", "1"))
	}
	if c.user != nil {
		vars = append(vars, pub("GITLAB_USER_ID", strconv.FormatInt(c.user.ID, 10)), pub("GITLAB_USER_LOGIN", c.user.Username),
			pub("GITLAB_USER_NAME", c.user.Name), pub("GITLAB_USER_EMAIL", c.user.Email))
	}
	return vars
}

func pub(k, v string) jobVariable { return jobVariable{Key: k, Value: v, Public: true} }

func configPath(p *ci.Project) string {
	if p.CIConfigPath == "" {
		return ".gitlab-ci.yml"
	}
	return p.CIConfigPath
}

func fromCI(vs []ci.Variable) []jobVariable {
	out := make([]jobVariable, 0, len(vs))
	for _, v := range vs {
		out = append(out, jobVariable{Key: v.Key, Value: v.Value, Public: v.Public, Masked: v.Masked, File: v.File, Raw: v.Raw})
	}
	return out
}

// unreserved drops the variables whose names are reserved for predefined
// ones (ci.Reserved). Planning refuses them already; this keeps pipelines
// stored before that rule, and dotenv reports, from overriding them.
func unreserved(vs []jobVariable) []jobVariable {
	out := vs[:0:0]
	for _, v := range vs {
		if !ci.Reserved(v.Key) {
			out = append(out, v)
		}
	}
	return out
}

func jsonStrings(s []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, t := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(t))
	}
	b.WriteByte(']')
	return b.String()
}

// lookupVariable returns the value of the last variable named key.
func lookupVariable(vs []jobVariable, key string) (string, bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].Key == key {
			return vs[i].Value, true
		}
	}
	return "", false
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
