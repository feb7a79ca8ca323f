package ci

import (
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Commit is a pipeline's head commit as its predefined variables show it.
// The planner reads it from the repository; it is stored with the
// pipeline's spec (PipelineSpec.Commit) so that jobs see what rules saw.
type Commit struct {
	SHA     string `json:"-"` // the pipeline's sha
	Title   string `json:"-"` // the pipeline's commit title
	Message string `json:"message,omitempty"`
	// Author is "Name <email>", as CI_COMMIT_AUTHOR.
	Author string `json:"author,omitempty"`
	// Timestamp is the commit's committer date.
	Timestamp time.Time `json:"timestamp,omitzero"`
	// TagMessage is the message of the pipeline's tag (CI_COMMIT_TAG_MESSAGE),
	// empty for a lightweight tag or a branch.
	TagMessage string `json:"tag_message,omitempty"`
}

// Predefined is what a pipeline's predefined variables are built from.
type Predefined struct {
	// ServerURL is Baton's external URL (CI_SERVER_URL).
	ServerURL string
	// Revision is Baton's build version (CI_SERVER_REVISION); the server
	// version is ServerVersion(Revision).
	Revision string
	Project  *Project
	// Pipeline gives the ref, tag, sha, before sha, source and commit
	// title; once stored, also its ID, IID and creation time.
	Pipeline *Pipeline
	// Commit gives the message, author and timestamp; nil for none
	// (a pipeline stored before Baton kept them).
	Commit *Commit
	// User started the pipeline (GITLAB_USER_*); nil for none.
	User *User
	// Job is the job being handed to a runner; nil while the pipeline is
	// planned, when rules are evaluated.
	Job *JobRun
}

// JobRun is one job as handed to a runner: what only a job's variables
// carry.
type JobRun struct {
	Job     *Job
	Runner  *Runner
	Token   string // the job's secret token (CI_JOB_TOKEN)
	RepoURL string // with the job token's credentials (CI_REPOSITORY_URL)
	Timeout int    // seconds (CI_JOB_TIMEOUT)
}

// PredefinedVariables are GitLab's predefined CI variables, the one
// builder both for rules (in.Job nil: the variables GitLab makes available
// when the pipeline is created, "pre-pipeline" and "pipeline") and for a
// job's payload (in.Job set: the same values, then the job-only ones), so
// that rules see exactly what jobs see. Baton adds CI_PIPELINE_ARTIFACTS_URL
// for jobs. CI_PROJECT_DIR and CI_BUILDS_DIR are the runner's.
//
// The variables GitLab gives each job's rules (CI_JOB_NAME, CI_JOB_STAGE,
// CI_NODE_TOTAL, ...) are PlannedJobVariables, which the job's payload
// repeats. CI_PIPELINE_IID, known only once the pipeline is stored, is
// job-only here. CI_PIPELINE_CREATED_AT is visible to rules when the
// pipeline's CreatedAt is set before it is planned.
func PredefinedVariables(in Predefined) []Variable {
	base := strings.TrimRight(in.ServerURL, "/")
	host, port, proto := "", "", "http"
	if u, err := url.Parse(base); err == nil {
		host, port, proto = u.Hostname(), u.Port(), u.Scheme
		if port == "" {
			port = "80"
			if proto == "https" {
				port = "443"
			}
		}
	}
	p, pl := in.Project, in.Pipeline
	apiURL := base + "/api/v4"
	projectURL := base + "/" + p.FullPath
	projID := strconv.FormatInt(p.ID, 10)
	root, _, _ := strings.Cut(p.FullPath, "/")
	beforeSHA := pl.BeforeSHA
	if beforeSHA == "" {
		beforeSHA = ZeroSHA
	}
	fqdn := ServerFQDN(base)
	vars := []Variable{
		pub("CI", "true"), pub("GITLAB_CI", "true"),
		pub("CI_SERVER_NAME", "GitLab"),
		pub("CI_SERVER_URL", base), pub("CI_SERVER_HOST", host), pub("CI_SERVER_PORT", port),
		pub("CI_SERVER_PROTOCOL", proto), pub("CI_SERVER_FQDN", fqdn), pub("CI_API_V4_URL", apiURL),
		pub("CI_SERVER_VERSION", ServerVersion(in.Revision)), pub("CI_SERVER_VERSION_MAJOR", strconv.Itoa(compatMajor)),
		pub("CI_SERVER_VERSION_MINOR", strconv.Itoa(compatMinor)), pub("CI_SERVER_VERSION_PATCH", strconv.Itoa(compatPatch)),
		pub("CI_SERVER_REVISION", in.Revision),
		// GitLab's default; Baton's templates are the instance's own.
		pub("CI_TEMPLATE_REGISTRY_HOST", "registry.gitlab.com"),
		// No licensed features: what GitLab's free edition gives.
		pub("GITLAB_FEATURES", ""),
		pub("CI_PROJECT_DESCRIPTION", p.Description),
		pub("CI_PROJECT_ID", projID), pub("CI_PROJECT_NAME", p.Path), pub("CI_PROJECT_TITLE", p.Name),
		pub("CI_PROJECT_PATH", p.FullPath), pub("CI_PROJECT_PATH_SLUG", Slug(p.FullPath)),
		pub("CI_PROJECT_NAMESPACE", path.Dir(p.FullPath)), pub("CI_PROJECT_NAMESPACE_ID", strconv.FormatInt(p.NamespaceID, 10)),
		pub("CI_PROJECT_ROOT_NAMESPACE", root),
		pub("CI_PROJECT_URL", projectURL), pub("CI_PROJECT_VISIBILITY", string(p.Visibility)),
		pub("CI_DEFAULT_BRANCH", p.DefaultBranch), pub("CI_CONFIG_PATH", p.ConfigPath()),
		pub("CI_COMMIT_SHA", pl.SHA), pub("CI_COMMIT_SHORT_SHA", pl.SHA[:min(8, len(pl.SHA))]),
		pub("CI_COMMIT_BEFORE_SHA", beforeSHA), pub("CI_COMMIT_REF_NAME", pl.Ref),
		pub("CI_COMMIT_REF_SLUG", Slug(pl.Ref)), pub("CI_COMMIT_REF_PROTECTED", strconv.FormatBool(pl.Protected)),
		pub("CI_COMMIT_TITLE", pl.CommitTitle),
	}
	if c := in.Commit; c != nil {
		vars = append(vars, pub("CI_COMMIT_MESSAGE", c.Message), pub("CI_COMMIT_DESCRIPTION", c.Description()))
		if c.Author != "" {
			vars = append(vars, pub("CI_COMMIT_AUTHOR", c.Author))
		}
		if !c.Timestamp.IsZero() {
			vars = append(vars, pub("CI_COMMIT_TIMESTAMP", c.Timestamp.UTC().Format(time.RFC3339)))
		}
	}
	if pl.Tag {
		vars = append(vars, pub("CI_COMMIT_TAG", pl.Ref))
		if in.Commit != nil {
			vars = append(vars, pub("CI_COMMIT_TAG_MESSAGE", in.Commit.TagMessage))
		}
	} else {
		vars = append(vars, pub("CI_COMMIT_BRANCH", pl.Ref))
	}
	vars = append(vars, pub("CI_PIPELINE_SOURCE", pl.Source))
	if !pl.CreatedAt.IsZero() {
		vars = append(vars, pub("CI_PIPELINE_CREATED_AT", pl.CreatedAt.UTC().Format(time.RFC3339)))
	}
	if pl.Source == SourceTrigger {
		vars = append(vars, pub("CI_PIPELINE_TRIGGERED", "true"))
	}
	if u := in.User; u != nil {
		vars = append(vars, pub("GITLAB_USER_ID", strconv.FormatInt(u.ID, 10)), pub("GITLAB_USER_LOGIN", u.Username),
			pub("GITLAB_USER_NAME", u.Name), pub("GITLAB_USER_EMAIL", u.Email))
	}
	if in.Job == nil {
		return vars
	}
	j, r := in.Job.Job, in.Job.Runner
	jobID := strconv.FormatInt(j.ID, 10)
	pid := strconv.FormatInt(pl.ID, 10)
	vars = append(vars,
		pub("CI_SERVER", "yes"),
		pub("CI_PIPELINE_ID", pid), pub("CI_PIPELINE_IID", strconv.FormatInt(pl.IID, 10)),
		pub("CI_PIPELINE_URL", projectURL+"/-/pipelines/"+pid),
		pub("CI_PIPELINE_ARTIFACTS_URL", apiURL+"/projects/"+projID+"/pipelines/"+pid+"/artifacts"),
		pub("CI_JOB_ID", jobID), pub("CI_JOB_URL", projectURL+"/-/jobs/"+jobID),
		pub("CI_JOB_TIMEOUT", strconv.Itoa(in.Job.Timeout)),
		Variable{Key: "CI_JOB_TOKEN", Value: in.Job.Token, Masked: true},
		Variable{Key: "CI_REPOSITORY_URL", Value: in.Job.RepoURL},
		pub("CI_RUNNER_ID", strconv.FormatInt(r.ID, 10)), pub("CI_RUNNER_DESCRIPTION", r.Description),
		pub("CI_RUNNER_TAGS", jsonStrings(r.Tags)),
	)
	if j.StartedAt != nil {
		vars = append(vars, pub("CI_JOB_STARTED_AT", j.StartedAt.UTC().Format(time.RFC3339)))
	}
	if e := j.Spec.Deploy; e != nil {
		vars = append(vars, pub("CI_ENVIRONMENT_NAME", e.Name), pub("CI_ENVIRONMENT_SLUG", EnvironmentSlug(e.Name)),
			pub("CI_ENVIRONMENT_ACTION", e.ActionOrStart()), pub("CI_ENVIRONMENT_TIER", e.TierOrGuess()))
		if e.URL != "" {
			vars = append(vars, pub("CI_ENVIRONMENT_URL", e.URL))
		}
	}
	return append(vars, PlannedJobVariables(j.Name, j.Stage, j.Spec.NodeIndex, j.Spec.NodeTotal)...)
}

// PlannedJobVariables are the predefined variables of one job that GitLab
// gives its rules when the pipeline is created (availability "Pipeline")
// and its payload later: CI_JOB_NAME, CI_JOB_NAME_SLUG, CI_JOB_STAGE and
// CI_NODE_TOTAL, with CI_NODE_INDEX for an instance of a parallel job
// (nodeTotal > 1). An empty name (a parallel job not yet expanded into
// its instances) leaves out the name and index, which differ per instance.
func PlannedJobVariables(name, stage string, nodeIndex, nodeTotal int) []Variable {
	var vars []Variable
	if name != "" {
		vars = append(vars, pub("CI_JOB_NAME", name), pub("CI_JOB_NAME_SLUG", Slug(name)))
	}
	vars = append(vars, pub("CI_JOB_STAGE", stage))
	if nodeTotal > 1 {
		if name != "" {
			vars = append(vars, pub("CI_NODE_INDEX", strconv.Itoa(nodeIndex)))
		}
		return append(vars, pub("CI_NODE_TOTAL", strconv.Itoa(nodeTotal)))
	}
	return append(vars, pub("CI_NODE_TOTAL", "1"))
}

// The GitLab version Baton answers as (GET /api/v4/version, CI_SERVER_VERSION).
const (
	compatMajor = 17
	compatMinor = 0
	compatPatch = 0
)

// ServerVersion is the GitLab version Baton reports, with its own build
// version (revision) appended: "17.0.0-baton-<revision>".
func ServerVersion(revision string) string {
	return strconv.Itoa(compatMajor) + "." + strconv.Itoa(compatMinor) + "." + strconv.Itoa(compatPatch) + "-baton-" + revision
}

// ServerFQDN is CI_SERVER_FQDN for the external URL serverURL: its host,
// with the port when it is not the scheme's standard one
// ("ci.example.com:8443"), as GitLab's; "" for an unparsable URL.
func ServerFQDN(serverURL string) string {
	u, err := url.Parse(strings.TrimRight(serverURL, "/"))
	if err != nil {
		return ""
	}
	port := u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return u.Hostname()
	}
	return u.Hostname() + ":" + port
}

// ZeroSHA is git's all-zero object name: the before sha of a pipeline
// that follows no earlier commit of its ref.
const ZeroSHA = "0000000000000000000000000000000000000000"

// Description is CI_COMMIT_DESCRIPTION, as GitLab computes it: the
// message after its first line (one trailing line break chomped), or the
// whole message when the title is 100 characters or longer.
func (c *Commit) Description() string {
	title, rest, _ := strings.Cut(c.Message, "\n")
	if utf8.RuneCountInString(title) >= 100 {
		return c.Message
	}
	return strings.TrimSuffix(strings.TrimSuffix(rest, "\n"), "\r")
}

func pub(k, v string) Variable { return Variable{Key: k, Value: v, Public: true} }

// jsonStrings is a JSON array of strings, as CI_RUNNER_TAGS.
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
