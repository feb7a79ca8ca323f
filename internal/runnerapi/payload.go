package runnerapi

import (
	"cmp"

	"github.com/batonci/baton/internal/ci"
)

// The job payload: gitlab-runner's spec.Job, with its exact JSON types.

type jobPayload struct {
	ID            int64           `json:"id"`
	Token         string          `json:"token"`
	AllowGitFetch bool            `json:"allow_git_fetch"`
	JobInfo       jobInfo         `json:"job_info"`
	GitInfo       gitInfo         `json:"git_info"`
	RunnerInfo    jobRunnerInfo   `json:"runner_info"`
	Variables     []jobVariable   `json:"variables"`
	Steps         []jobStep       `json:"steps"`
	Image         *jobImage       `json:"image,omitempty"`
	Services      []jobImage      `json:"services"`
	Artifacts     []jobArtifact   `json:"artifacts"`
	Cache         []jobCache      `json:"cache"`
	Credentials   []struct{}      `json:"credentials"`
	Dependencies  []jobDependency `json:"dependencies"`
	Features      jobFeatures     `json:"features"`
}

type jobInfo struct {
	Name              string  `json:"name"`
	Stage             string  `json:"stage"`
	ProjectID         int64   `json:"project_id"`
	ProjectName       string  `json:"project_name"`
	ProjectFullPath   string  `json:"project_full_path"`
	PipelineID        int64   `json:"pipeline_id"`
	NamespaceID       int64   `json:"namespace_id"`
	UserID            int64   `json:"user_id"`
	TimeInQueueSecond float64 `json:"time_in_queue_seconds"`
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

type jobRunnerInfo struct {
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

type jobImage struct {
	Name       string   `json:"name"`
	Alias      string   `json:"alias,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Command    []string `json:"command,omitempty"`
	PullPolicy []string `json:"pull_policy,omitempty"`
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

type jobCache struct {
	Key          string   `json:"key"`
	Untracked    bool     `json:"untracked"`
	Policy       string   `json:"policy"`
	Paths        []string `json:"paths"`
	When         string   `json:"when"`
	FallbackKeys []string `json:"fallback_keys"`
}

type jobDependency struct {
	ID            int64              `json:"id"`
	Name          string             `json:"name"`
	Token         string             `json:"token"`
	ArtifactsFile *dependencyArchive `json:"artifacts_file,omitempty"`
}

type dependencyArchive struct {
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
}

type jobFeatures struct {
	TraceSections     bool     `json:"trace_sections"`
	TokenMaskPrefixes []string `json:"token_mask_prefixes"`
	FailureReasons    []string `json:"failure_reasons"`
}

// failureReasons are the failure reasons Baton accepts from runners; it is
// sent as features.failure_reasons so runners report them unmapped.
var failureReasons = []string{
	ci.FailureScriptFailure, ci.FailureRunnerSystem, ci.FailureJobTimeout,
	"image_pull_failure", "unknown_failure", "runner_configuration_error",
	"runner_external_dependency_failure", "runner_interrupted", ci.FailureJobCanceled, ci.FailureArchived,
}

func knownFailureReason(r string) bool {
	for _, k := range failureReasons {
		if k == r {
			return true
		}
	}
	return false
}

func imageOf(spec *ci.ImageSpec) jobImage {
	return jobImage{Name: spec.Name, Alias: spec.Alias, Entrypoint: spec.Entrypoint, Command: spec.Command, PullPolicy: spec.PullPolicy}
}

// steps are GitLab's: script (before_script + script) and after_script.
func steps(spec *ci.JobSpec, timeout int) []jobStep {
	script := make([]string, 0, len(spec.BeforeScript)+len(spec.Script))
	script = append(append(script, spec.BeforeScript...), spec.Script...)
	out := []jobStep{{Name: "script", Script: script, Timeout: timeout, When: ci.WhenOnSuccess}}
	if len(spec.AfterScript) > 0 {
		out = append(out, jobStep{Name: "after_script", Script: spec.AfterScript, Timeout: timeout, When: ci.WhenAlways, AllowFailure: true})
	}
	return out
}

// artifactsPayload is the payload's artifacts list: one archive entry when the job
// has paths or untracked, and one gzip entry per report.
func artifactsPayload(spec *ci.ArtifactsSpec) []jobArtifact {
	out := []jobArtifact{}
	if spec == nil {
		return out
	}
	when := spec.When
	if when == "" {
		when = ci.WhenOnSuccess
	}
	if len(spec.Paths) > 0 || spec.Untracked {
		out = append(out, jobArtifact{
			Name: spec.Name, Untracked: spec.Untracked, Paths: nonNil(spec.Paths), Exclude: nonNil(spec.Exclude),
			When: when, ArtifactType: ci.FileTypeArchive, ArtifactFormat: ci.FormatZip, ExpireIn: spec.ExpireIn,
		})
	}
	for _, typ := range sortedKeys(spec.Reports) {
		out = append(out, jobArtifact{
			Name: typ, Paths: nonNil(spec.Reports[typ]), Exclude: []string{}, When: ci.WhenAlways,
			ArtifactType: typ, ArtifactFormat: ci.FormatGzip, ExpireIn: spec.ExpireIn,
		})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// cachePayload is the payload's cache list, as GitLab's Ci::Build#cache
// gives it: defaults filled in, and every key and fallback key suffixed
// with -protected on a protected ref and -non_protected elsewhere (GitLab's
// default "separate caches for protected branches"), unless the cache says
// unprotect: true.
func cachePayload(specs []ci.CacheSpec, protected bool) []jobCache {
	out := make([]jobCache, 0, len(specs))
	for _, c := range specs {
		suffix := "-non_protected"
		if protected && !c.Unprotect {
			suffix = "-protected"
		}
		fallback := make([]string, 0, len(c.FallbackKeys))
		for _, k := range c.FallbackKeys {
			fallback = append(fallback, k+suffix)
		}
		key := c.Key
		if key == "" {
			key = "default"
		}
		out = append(out, jobCache{
			Key: key + suffix, Untracked: c.Untracked, Policy: cmp.Or(c.Policy, ci.CachePullPush), Paths: nonNil(c.Paths),
			When: cmp.Or(c.When, ci.WhenOnSuccess), FallbackKeys: fallback,
		})
	}
	return out
}
