package runner

import "strings"

// jobPayload is the 201 body of POST /jobs/request (gitlab-runner's spec.Job),
// reduced to what a shell executor uses.
type jobPayload struct {
	ID            int64         `json:"id"`
	Token         string        `json:"token"`
	AllowGitFetch bool          `json:"allow_git_fetch"`
	JobInfo       jobInfo       `json:"job_info"`
	GitInfo       gitInfo       `json:"git_info"`
	RunnerInfo    runnerInfo    `json:"runner_info"`
	Variables     []jobVariable `json:"variables"`
	Steps         []jobStep     `json:"steps"`
	Artifacts     []jobArtifact `json:"artifacts"`
	Cache         []jobCache    `json:"cache"`
	Dependencies  []dependency  `json:"dependencies"`
	Features      jobFeatures   `json:"features"`
	Hooks         []jobHook     `json:"hooks"`
}

type jobInfo struct {
	Name            string `json:"name"`
	Stage           string `json:"stage"`
	ProjectID       int64  `json:"project_id"`
	ProjectName     string `json:"project_name"`
	ProjectFullPath string `json:"project_full_path"`
}

type gitInfo struct {
	RepoURL   string   `json:"repo_url"`
	Ref       string   `json:"ref"`
	Sha       string   `json:"sha"`
	BeforeSha string   `json:"before_sha"`
	RefType   string   `json:"ref_type"`
	Refspecs  []string `json:"refspecs"`
	Depth     int      `json:"depth"`
}

type runnerInfo struct {
	Timeout int `json:"timeout"`
}

type jobVariable struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Public bool   `json:"public"`
	Masked bool   `json:"masked"`
	File   bool   `json:"file"`
	Raw    bool   `json:"raw"`
}

type jobStep struct {
	Name         string   `json:"name"`
	Script       []string `json:"script"`
	Timeout      int      `json:"timeout"`
	When         string   `json:"when"`
	AllowFailure bool     `json:"allow_failure"`
}

type jobArtifact struct {
	Name           string   `json:"name"`
	Untracked      bool     `json:"untracked"`
	Paths          []string `json:"paths"`
	Exclude        []string `json:"exclude"`
	When           string   `json:"when"`
	ArtifactType   string   `json:"artifact_type"`
	ArtifactFormat string   `json:"artifact_format"`
	ExpireIn       string   `json:"expire_in"`
}

type dependency struct {
	ID            int64  `json:"id"`
	Name          string `json:"name"`
	Token         string `json:"token"`
	ArtifactsFile struct {
		Filename string `json:"filename"`
		Size     int64  `json:"size"`
	} `json:"artifacts_file"`
}

type jobFeatures struct {
	TraceSections     bool     `json:"trace_sections"`
	TokenMaskPrefixes []string `json:"token_mask_prefixes"`
	FailureReasons    []string `json:"failure_reasons"`
}

type jobHook struct {
	Name   string   `json:"name"`
	Script []string `json:"script"`
}

// variable returns the value of the last variable named key.
func (j *jobPayload) variable(key string) (string, bool) {
	for i := len(j.Variables) - 1; i >= 0; i-- {
		if j.Variables[i].Key == key {
			return j.Variables[i].Value, true
		}
	}
	return "", false
}

// gitStrategy is GIT_STRATEGY, defaulting from allow_git_fetch.
func (j *jobPayload) gitStrategy() string {
	if v, ok := j.variable("GIT_STRATEGY"); ok && v != "" {
		return strings.ToLower(v)
	}
	if j.AllowGitFetch {
		return "fetch"
	}
	return "clone"
}

// failure reasons sent by the runner.
const (
	reasonScript      = "script_failure"
	reasonSystem      = "runner_system_failure"
	reasonTimeout     = "job_execution_timeout"
	reasonUnknown     = "unknown_failure"
	reasonCanceled    = "job_canceled"
	reasonInterrupted = "runner_interrupted"
	reasonArchived    = "archived_failure" // the artifacts could not be stored
)

// failureReason maps reason onto what the coordinator said it supports, as gitlab-runner does.
func (j *jobPayload) failureReason(reason string) string {
	switch reason {
	case "", reasonScript, reasonSystem, reasonTimeout:
		return reason
	}
	for _, r := range j.Features.FailureReasons {
		if r == reason {
			return reason
		}
	}
	if reason == reasonArchived {
		return reasonSystem // not the script's failure, whatever the coordinator knows
	}
	return reasonUnknown
}
