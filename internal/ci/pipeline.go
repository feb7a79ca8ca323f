package ci

import (
	"slices"
	"time"
)

// Variable is a CI/CD variable. Public variables may be shown in logs and UI;
// masked ones are hidden by runners.
type Variable struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	File   bool   `json:"file,omitempty"` // variable_type "file"
	Masked bool   `json:"masked,omitempty"`
	Raw    bool   `json:"raw,omitempty"`
	Public bool   `json:"public,omitempty"`
}

// Pipeline is one run of a project's .gitlab-ci.yml at a commit.
type Pipeline struct {
	ID         int64 // global
	IID        int64 // per project
	ProjectID  int64
	Ref        string // branch or tag name
	Tag        bool
	SHA        string
	BeforeSHA  string
	Source     string // SourcePush, SourceAPI, ...
	Status     Status
	Name       string // workflow:name, expanded; "" if the file gives none
	YAMLErrors string // non-empty for a pipeline that failed to be planned
	UserID     int64
	// Variables given when the pipeline was created (API, trigger); they win
	// over the file's variables.
	Variables   []Variable
	CommitTitle string // first line of the head commit's message
	// Protected is whether a protected branch or tag rule matched the ref
	// when the pipeline was created: its jobs get protected variables and
	// CI_COMMIT_REF_PROTECTED=true.
	Protected bool
	// Spec is what the configuration says for the whole pipeline, stored
	// once rather than in every job. CreatePipeline writes it; PipelineByID
	// and ListPipelines leave it empty (read it with PipelineSpec), so that
	// status reads never carry it.
	Spec PipelineSpec
	// Parent is set on a downstream pipeline when it is created:
	// CreatePipeline records it (DownstreamStore.LinkOf reads it back).
	Parent     *PipelineLink
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  *time.Time
	FinishedAt *time.Time
}

// Duration is the pipeline's running time in seconds, 0 until it started.
func (p *Pipeline) Duration(now time.Time) float64 {
	return span(p.StartedAt, p.FinishedAt, now)
}

func span(start, end *time.Time, now time.Time) float64 {
	if start == nil {
		return 0
	}
	stop := now
	if end != nil {
		stop = *end
	}
	return stop.Sub(*start).Seconds()
}

// PipelinePlan is what .gitlab-ci.yml says a pipeline at one commit runs.
type PipelinePlan struct {
	Stages []string  // in order, including .pre and .post
	Jobs   []JobSpec // jobs whose rules let them into the pipeline; parallel jobs expanded
	Spec   PipelineSpec
	Name   string // workflow:name with variables expanded, "" if none
}

// PipelineSpec is the part of a plan that is the same for every job: it is
// stored once per pipeline, not copied into each job.
type PipelineSpec struct {
	// Variables are the file's global variables, then the matching
	// workflow rule's. A job inherits them (see JobSpec.InheritedVariables)
	// below its own.
	Variables []Variable `json:"variables,omitempty"`
	// Commit is what the predefined variables show of the head commit
	// beyond its sha and title; nil for pipelines stored before Baton kept it.
	Commit *Commit `json:"commit,omitempty"`
}

// PipelineRequest asks for a new pipeline of a project at a ref: one per
// ref a push updated, an API call, a trigger.
type PipelineRequest struct {
	Project   *Project
	Ref       string
	Source    string
	UserID    int64
	Variables []Variable
	// SHA is the commit a push moved the ref to; the ref's commit when the
	// pipeline is planned is what runs. "" for other sources.
	SHA string
	// BeforeSHA is the ref's commit before a push; "" (ZeroSHA) otherwise.
	BeforeSHA string
	// Inputs fill the spec:inputs of a configuration with a spec header
	// (strings, float64 numbers, booleans, []any arrays, as JSON decodes them).
	Inputs map[string]any
	// Config, when not nil, is the configuration to plan instead of the
	// project's CI file (a child pipeline's, given by its bridge job).
	Config []byte
	// Parent links a downstream pipeline to the bridge job creating it.
	Parent *PipelineLink
}

// NewJobs are the rows a new pipeline p of plan starts with: one created
// job per planned job, attempt 1, StageIdx the index of its stage in
// plan.Stages, started by p's user at now. A job whose stage is not in
// plan.Stages is KindInvalid.
func (plan *PipelinePlan) NewJobs(p *Pipeline, now time.Time) ([]*Job, error) {
	jobs := make([]*Job, 0, len(plan.Jobs))
	for _, spec := range plan.Jobs {
		idx := slices.Index(plan.Stages, spec.Stage)
		if idx < 0 {
			return nil, Errorf(KindInvalid, "job %s: stage %s is not defined", spec.Name, spec.Stage)
		}
		jobs = append(jobs, &Job{
			ProjectID: p.ProjectID, Name: spec.Name, Stage: spec.Stage, StageIdx: idx,
			Status: StatusCreated, Spec: spec, Attempt: 1, UserID: p.UserID, CreatedAt: now, UpdatedAt: now,
		})
	}
	return jobs, nil
}
