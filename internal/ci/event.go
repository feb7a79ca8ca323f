package ci

import "time"

// Kinds of pipeline events.
const (
	EventPipeline = "pipeline" // the pipeline's status changed (or it was created)
	EventJob      = "job"      // a job's status changed (or it was created)
	EventArtifact = "artifact" // an artifact of a job was stored (archive, report or published)
)

// PipelineEvent is one recorded change of a pipeline: the database writes
// it in the transaction making the change. Seq numbers a pipeline's events
// from 1 without gaps, in the order they were committed.
type PipelineEvent struct {
	PipelineID int64
	Seq        int64
	ProjectID  int64
	Kind       string // EventPipeline, EventJob or EventArtifact
	// Status is the pipeline's (EventPipeline) or the job's (EventJob) new
	// status, PreviousStatus the one before ("" when it was created).
	Status, PreviousStatus Status
	// Detail is the pipeline's ref (EventPipeline), the job's failure
	// reason (EventJob) or the artifact's file type (EventArtifact).
	Detail string
	// The job of a job or artifact event.
	JobID          int64
	JobName, Stage string
	ArtifactID     int64
	ArtifactName   string // a published artifact's name, "" otherwise
	Filename       string
	Size           int64
	SHA256         string // "" where unknown
	CreatedAt      time.Time
}

// Finishes reports whether e is the pipeline reaching a finished status.
func (e *PipelineEvent) Finishes() bool {
	return e.Kind == EventPipeline && e.Status.Finished()
}
