package ci

import (
	"slices"
	"time"
)

// Job is one attempt of one job of a pipeline. A retry creates a new Job with
// the same name and marks the old one Retried.
type Job struct {
	ID         int64
	ProjectID  int64
	PipelineID int64
	Name       string
	Stage      string
	StageIdx   int
	Status     Status
	Spec       JobSpec // what the YAML said, frozen at pipeline creation
	// PartialSpec is set on jobs listed with JobFilter.ScheduleOnly: Spec
	// holds only the scheduling fields. Such a job must not be copied into
	// a new attempt (the store refuses to insert it).
	PartialSpec   bool
	Retried       bool   // a newer attempt exists
	Attempt       int    // 1 for the first run, 2 for the first retry, ...
	RunnerID      int64  // 0 until assigned
	TokenHash     string // hash of the job token; valid while the job is active
	FailureReason string
	ExitCode      *int
	UserID        int64
	TraceSize     int64 // bytes of log received so far
	CreatedAt     time.Time
	QueuedAt      *time.Time // became pending
	StartedAt     *time.Time // assigned to a runner
	FinishedAt    *time.Time
	UpdatedAt     time.Time // last contact from the runner while active
	ErasedAt      *time.Time
	ErasedBy      int64 // user who erased the job, 0 if none
	// ScheduledAt is when a delayed job (when: delayed) is released to
	// runners; set while it is scheduled.
	ScheduledAt *time.Time
}

// AllowedFailure reports whether the job may fail without failing its
// pipeline: allow_failure, or a failure with one of allow_failure's exit codes.
func (j *Job) AllowedFailure() bool {
	if j.Spec.AllowFailure {
		return true
	}
	return j.Status == StatusFailed && j.ExitCode != nil && slices.Contains(j.Spec.AllowFailureExitCodes, *j.ExitCode)
}

// Duration is the job's running time in seconds, 0 until it started.
func (j *Job) Duration(now time.Time) float64 { return span(j.StartedAt, j.FinishedAt, now) }

// JobSpec is one job as .gitlab-ci.yml defines it, after extends, default,
// anchors, rules and parallel expansion have been applied.
type JobSpec struct {
	Name         string      `json:"name"`
	Stage        string      `json:"stage"`
	Image        *ImageSpec  `json:"image,omitempty"`
	Services     []ImageSpec `json:"services,omitempty"`
	BeforeScript []string    `json:"before_script,omitempty"`
	Script       []string    `json:"script,omitempty"`
	AfterScript  []string    `json:"after_script,omitempty"`
	// Variables are the job's own variables (job, rules and matrix ones,
	// merged in order); the pipeline's global ones live in PipelineSpec.
	Variables []Variable `json:"variables,omitempty"`
	// LimitInherit, set by inherit:variables false or a list, makes the job
	// inherit only the global variables named in InheritVariables.
	LimitInherit     bool     `json:"limit_inherit,omitempty"`
	InheritVariables []string `json:"inherit_variables,omitempty"`
	When             string   `json:"when"` // on_success, on_failure, always, manual, delayed
	// StartIn is a delayed job's delay in seconds (start_in), counted from
	// when its turn comes.
	StartIn      int  `json:"start_in,omitempty"`
	AllowFailure bool `json:"allow_failure,omitempty"`
	// AllowFailureExitCodes lists exit codes that count as an allowed failure.
	AllowFailureExitCodes []int `json:"allow_failure_exit_codes,omitempty"`
	// Needs, when HasNeeds, replaces stage ordering: the job starts once these
	// finish. An empty Needs with HasNeeds starts the job at once.
	Needs    []Need `json:"needs,omitempty"`
	HasNeeds bool   `json:"has_needs,omitempty"`
	// Dependencies, when HasDependencies, limits whose artifacts are fetched.
	Dependencies    []string       `json:"dependencies,omitempty"`
	HasDependencies bool           `json:"has_dependencies,omitempty"`
	Artifacts       *ArtifactsSpec `json:"artifacts,omitempty"`
	Tags            []string       `json:"tags,omitempty"`
	Timeout         int            `json:"timeout,omitempty"` // seconds, 0 = project default
	Retry           RetrySpec      `json:"retry,omitempty"`
	NodeIndex       int            `json:"node_index,omitempty"` // 1-based, parallel jobs only
	NodeTotal       int            `json:"node_total,omitempty"`
	Interruptible   bool           `json:"interruptible,omitempty"`
	Environment     string         `json:"environment,omitempty"` // the environment's expanded name
	// Deploy is the whole environment: keyword (Environment is its name).
	Deploy *EnvironmentSpec `json:"environment_spec,omitempty"`
	// ResourceGroup, if set, lets one job of the project's jobs naming it
	// run at a time.
	ResourceGroup string `json:"resource_group,omitempty"`
	// Release, if set, creates a release when the job succeeds.
	Release  *ReleaseSpec `json:"release,omitempty"`
	Coverage string       `json:"coverage,omitempty"`
	// Cache are the job's caches (at most MaxCaches), in order.
	Cache []CacheSpec `json:"cache,omitempty"`
	// Trigger makes the job a bridge: no runner runs it; it creates a
	// downstream pipeline (internal/downstream).
	Trigger *TriggerSpec `json:"trigger,omitempty"`
	// External makes the job an external commit status (GitLab's
	// GenericCommitStatus): an outside system reports its status through
	// POST /projects/:id/statuses/:sha; no runner runs it and the
	// scheduler's sweeps leave it alone.
	External bool `json:"external,omitempty"`
}

// MaxCaches is GitLab's limit on the caches of one job.
const MaxCaches = 4

// Cache policies.
const (
	CachePullPush = "pull-push"
	CachePull     = "pull"
	CachePush     = "push"
)

// CacheSpec is one entry of a job's cache keyword.
type CacheSpec struct {
	// Key is the cache's key as written (runners expand its variables),
	// "default" when none is given; for key:files the planner sets it to
	// the prefix and the digest of the files (GitLab's key_from_files).
	Key string `json:"key"`
	// KeyFiles and KeyPrefix are key:files and key:prefix, until the
	// planner turns them into Key.
	KeyFiles     []string `json:"key_files,omitempty"`
	KeyPrefix    string   `json:"key_prefix,omitempty"`
	Paths        []string `json:"paths,omitempty"`
	Untracked    bool     `json:"untracked,omitempty"`
	Unprotect    bool     `json:"unprotect,omitempty"`
	Policy       string   `json:"policy,omitempty"` // pull-push (default), pull, push
	When         string   `json:"when,omitempty"`   // on_success (default), on_failure, always
	FallbackKeys []string `json:"fallback_keys,omitempty"`
}

// Bridge reports whether the job is a bridge job (trigger:), which no
// runner picks up.
func (j *Job) Bridge() bool { return j.Spec.Trigger != nil }

// External reports whether the job is an external commit status, whose
// status an outside system reports; no runner picks it up.
func (j *Job) External() bool { return j.Spec.External }

// An external job's stage, as GitLab's GenericCommitStatus: after every
// stage of the pipeline's configuration.
const (
	ExternalStage    = "external"
	ExternalStageIdx = 1_000_000
)

// NewExternalJob is a job for the external commit status name in pipeline
// pl, with status st for userID, stamped at now (GitLab's
// GenericCommitStatus: stage "external", never allowed to fail).
func NewExternalJob(pl *Pipeline, name string, st Status, userID int64, now time.Time) *Job {
	j := &Job{ProjectID: pl.ProjectID, PipelineID: pl.ID, Name: name, Stage: ExternalStage, StageIdx: ExternalStageIdx,
		Status: st, UserID: userID, Attempt: 1, CreatedAt: now, UpdatedAt: now,
		Spec: JobSpec{Name: name, Stage: ExternalStage, When: WhenOnSuccess, External: true}}
	j.StampExternal(st, now)
	return j
}

// StampExternal moves external job j to st at now, setting the times that
// go with it: pending queues it, running starts it, a final status
// finishes it (starting it too if it never ran).
func (j *Job) StampExternal(st Status, now time.Time) {
	j.Status, j.UpdatedAt = st, now
	switch {
	case st == StatusPending:
		if j.QueuedAt == nil {
			j.QueuedAt = &now
		}
	case st == StatusRunning:
		if j.StartedAt == nil {
			j.StartedAt = &now
		}
	case st.Finished():
		if j.StartedAt == nil {
			j.StartedAt = &now
		}
		j.FinishedAt = &now
	}
}

// Inherits reports whether the job inherits the global variable key.
func (s *JobSpec) Inherits(key string) bool {
	return !s.LimitInherit || slices.Contains(s.InheritVariables, key)
}

// EffectiveVariables are the YAML variables the job sees: the global ones it
// inherits overlaid with its own (a key keeps its first position and takes
// the later value), GitLab's precedence of job over global variables.
func (s *JobSpec) EffectiveVariables(global []Variable) []Variable {
	out := make([]Variable, 0, len(global)+len(s.Variables))
	pos := make(map[string]int, len(global)+len(s.Variables))
	add := func(v Variable) {
		if i, ok := pos[v.Key]; ok {
			out[i] = v
			return
		}
		pos[v.Key] = len(out)
		out = append(out, v)
	}
	for _, v := range global {
		if s.Inherits(v.Key) {
			add(v)
		}
	}
	for _, v := range s.Variables {
		add(v)
	}
	return out
}

// ImageSpec is an image or service: recorded and passed to runners.
type ImageSpec struct {
	Name       string   `json:"name"`
	Alias      string   `json:"alias,omitempty"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	Command    []string `json:"command,omitempty"`
	PullPolicy []string `json:"pull_policy,omitempty"`
}

// Need is one entry of a job's needs.
type Need struct {
	Job       string `json:"job"`
	Artifacts bool   `json:"artifacts"` // default true
	Optional  bool   `json:"optional,omitempty"`
	// Pipeline (needs:pipeline:job) names an upstream pipeline, as written
	// (e.g. $PARENT_PIPELINE_ID), whose job Job's artifacts the job gets:
	// not a scheduling need.
	Pipeline string `json:"pipeline,omitempty"`
	// Project and Ref (needs:project) name another project (full path)
	// and ref, whose latest successful pipeline's job Job gives its
	// artifacts: not a scheduling need either.
	Project string `json:"project,omitempty"`
	Ref     string `json:"ref,omitempty"`
}

// CrossPipeline reports whether the need names a job of another pipeline,
// which the job's pipeline does not wait for.
func (n Need) CrossPipeline() bool { return n.Pipeline != "" || n.Project != "" }

// ArtifactsSpec is a job's artifacts keyword.
type ArtifactsSpec struct {
	Name      string   `json:"name,omitempty"`
	Paths     []string `json:"paths,omitempty"`
	Exclude   []string `json:"exclude,omitempty"`
	Untracked bool     `json:"untracked,omitempty"`
	When      string   `json:"when,omitempty"`      // on_success (default), on_failure, always
	ExpireIn  string   `json:"expire_in,omitempty"` // GitLab duration syntax or "never"
	// Reports maps a report type (dotenv, junit) to its paths.
	Reports map[string][]string `json:"reports,omitempty"`
}

// RetrySpec is a job's retry keyword.
type RetrySpec struct {
	Max       int      `json:"max,omitempty"`  // 0..2
	When      []string `json:"when,omitempty"` // failure reasons; empty = always
	ExitCodes []int    `json:"exit_codes,omitempty"`
}
