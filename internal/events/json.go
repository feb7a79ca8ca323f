package events

import (
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Event is the data of one streamed event, in GitLab's shapes: the
// pipeline, job and artifact objects carry GitLab's field names.
type Event struct {
	ID         int64     `json:"id"` // the event's seq, also its SSE id
	ObjectKind string    `json:"object_kind"`
	PipelineID int64     `json:"pipeline_id"`
	ProjectID  int64     `json:"project_id"`
	CreatedAt  time.Time `json:"created_at"`
	Pipeline   *Pipeline `json:"pipeline,omitempty"`
	Job        *Job      `json:"job,omitempty"`
	Artifact   *Artifact `json:"artifact,omitempty"`
}

// Pipeline is a pipeline event's pipeline.
type Pipeline struct {
	ID             int64   `json:"id"`
	ProjectID      int64   `json:"project_id"`
	Ref            string  `json:"ref"`
	Status         string  `json:"status"`
	PreviousStatus *string `json:"previous_status"`
}

// Job is a job or artifact event's job.
type Job struct {
	ID             int64   `json:"id"`
	Name           string  `json:"name"`
	Stage          string  `json:"stage"`
	Status         string  `json:"status,omitempty"`
	PreviousStatus *string `json:"previous_status,omitempty"`
	FailureReason  *string `json:"failure_reason,omitempty"`
}

// Artifact is an artifact event's artifact, as in GitLab's job
// "artifacts" list, with its id, published name and digest.
type Artifact struct {
	ID       int64   `json:"id"`
	FileType string  `json:"file_type"`
	Name     *string `json:"name"` // a published artifact's name
	Filename string  `json:"filename"`
	Size     int64   `json:"size"`
	SHA256   *string `json:"sha256"` // null where unknown
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Data is the JSON of e.
func Data(e *ci.PipelineEvent) Event {
	out := Event{ID: e.Seq, ObjectKind: e.Kind, PipelineID: e.PipelineID, ProjectID: e.ProjectID, CreatedAt: e.CreatedAt}
	switch e.Kind {
	case ci.EventPipeline:
		out.Pipeline = &Pipeline{ID: e.PipelineID, ProjectID: e.ProjectID, Ref: e.Detail, Status: string(e.Status),
			PreviousStatus: optional(string(e.PreviousStatus))}
	case ci.EventJob:
		out.Job = &Job{ID: e.JobID, Name: e.JobName, Stage: e.Stage, Status: string(e.Status),
			PreviousStatus: optional(string(e.PreviousStatus)), FailureReason: optional(e.Detail)}
	case ci.EventArtifact:
		out.Job = &Job{ID: e.JobID, Name: e.JobName, Stage: e.Stage}
		out.Artifact = &Artifact{ID: e.ArtifactID, FileType: e.Detail, Name: optional(e.ArtifactName),
			Filename: e.Filename, Size: e.Size, SHA256: optional(e.SHA256)}
	}
	return out
}
