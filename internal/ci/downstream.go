package ci

import "context"

// Downstream pipeline sources, GitLab's names: a child pipeline a bridge
// job of the same project created, and a multi-project pipeline a bridge
// job of another project created.
const (
	SourceParentPipeline = "parent_pipeline"
	SourcePipeline       = "pipeline"
)

// Failure reasons of bridge jobs, GitLab's names.
const (
	FailureDownstreamCreation   = "downstream_pipeline_creation_failed"
	FailureDownstreamNotFound   = "downstream_bridge_project_not_found"
	FailureBridgePermissions    = "insufficient_bridge_permissions"
	FailureInvalidBridgeTrigger = "invalid_bridge_trigger"
	FailureMaxDescendantsDepth  = "reached_max_descendant_pipelines_depth"
)

// Downstream depth limits, GitLab's: a child pipeline may itself have
// children up to MaxChildDepth levels below the top pipeline, and a
// pipeline hierarchy (children and multi-project pipelines) is at most
// MaxHierarchyDepth levels deep.
const (
	MaxChildDepth     = 2
	MaxHierarchyDepth = 3
)

// TriggerSpec is a bridge job's trigger keyword: the job creates a
// downstream pipeline instead of running a script.
type TriggerSpec struct {
	// Include, for a child pipeline, lists its configuration files; empty
	// for a multi-project pipeline.
	Include []TriggerInclude `json:"include,omitempty"`
	// Project and Branch name a multi-project pipeline's project (full
	// path) and ref ("" for the project's default branch).
	Project string `json:"project,omitempty"`
	Branch  string `json:"branch,omitempty"`
	// Depend (strategy: depend) makes the bridge's status mirror the
	// downstream pipeline's; otherwise the bridge succeeds once the
	// downstream pipeline is created.
	Depend bool `json:"depend,omitempty"`
	// ForwardYAMLVariables (default true) passes the bridge's YAML
	// variables down; ForwardPipelineVariables (default false) passes the
	// upstream pipeline's own variables.
	ForwardYAMLVariables     bool `json:"forward_yaml_variables"`
	ForwardPipelineVariables bool `json:"forward_pipeline_variables,omitempty"`
}

// Child reports whether the trigger creates a child pipeline (include)
// rather than a multi-project one.
func (t *TriggerSpec) Child() bool { return len(t.Include) > 0 }

// TriggerInclude is one configuration file of a child pipeline: a file of
// the parent's commit (Local), of another project (Project, File, Ref), or
// of the artifacts of an earlier job of the parent pipeline (Artifact, Job).
type TriggerInclude struct {
	Local    string `json:"local,omitempty"`
	Project  string `json:"project,omitempty"`
	File     string `json:"file,omitempty"`
	Ref      string `json:"ref,omitempty"`
	Artifact string `json:"artifact,omitempty"`
	Job      string `json:"job,omitempty"`
}

// PipelineLink records the bridge job a downstream pipeline was created by.
type PipelineLink struct {
	PipelineID       int64 // the downstream pipeline
	ProjectID        int64 // its project
	ParentPipelineID int64 // the pipeline of the bridge job
	ParentProjectID  int64
	ParentJobID      int64 // the bridge job
	// Depth is 1 for a pipeline created by a top-level pipeline's bridge,
	// 2 for one below that, ...
	Depth int
	// ChildDepth counts only child-pipeline levels (same project).
	ChildDepth int
}

// DownstreamStore keeps the links between bridge jobs and the pipelines
// they created.
type DownstreamStore interface {
	// LinkOf returns the link of a downstream pipeline; KindNotFound for
	// a pipeline no bridge created.
	LinkOf(ctx context.Context, pipelineID int64) (*PipelineLink, error)
	// LinksOfJobs returns the links of the pipelines the given bridge jobs
	// created.
	LinksOfJobs(ctx context.Context, jobIDs []int64) ([]*PipelineLink, error)
	// ChildLinks returns the links of the pipelines created by bridges of
	// pipeline parentID, in creation order.
	ChildLinks(ctx context.Context, parentID int64) ([]*PipelineLink, error)
}
