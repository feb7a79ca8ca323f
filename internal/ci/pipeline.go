package ci

import "time"

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
	YAMLErrors string // non-empty for a pipeline that failed to be planned
	UserID     int64
	// Variables given when the pipeline was created (API, trigger); they win
	// over the file's variables.
	Variables   []Variable
	CommitTitle string // first line of the head commit's message
	// Spec is what the configuration says for the whole pipeline, stored
	// once rather than in every job. CreatePipeline writes it; PipelineByID
	// and ListPipelines leave it empty (read it with PipelineSpec), so that
	// status reads never carry it.
	Spec       PipelineSpec
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
}

// PipelineSpec is the part of a plan that is the same for every job: it is
// stored once per pipeline, not copied into each job.
type PipelineSpec struct {
	// Variables are the file's global variables, then the matching
	// workflow rule's. A job inherits them (see JobSpec.InheritedVariables)
	// below its own.
	Variables []Variable `json:"variables,omitempty"`
}

// PipelineRequest asks for a new pipeline of a project at a ref (an API
// call or a trigger; pushes carry their ref updates instead).
type PipelineRequest struct {
	Project   *Project
	Ref       string
	Source    string
	UserID    int64
	Variables []Variable
}
