package ci

import (
	"context"
	"time"
)

// CommitStatus is a status an outside system reported for a commit
// (GitLab's generic commit status): one per (sha, ref, name), updated in
// place when reported again.
type CommitStatus struct {
	ID          int64
	ProjectID   int64
	SHA         string
	Ref         string
	Name        string // "default" when the reporter names none
	Status      Status // pending, running, success, failed or canceled
	TargetURL   string
	Description string
	Coverage    *float64
	PipelineID  int64 // the newest pipeline of the sha when reported, 0 if none
	AuthorID    int64
	CreatedAt   time.Time
	UpdatedAt   time.Time
	StartedAt   *time.Time // first reported running (or finished without running)
	FinishedAt  *time.Time // reported success, failed or canceled
}

// CommitStatusStates are the states POST /statuses/:sha accepts.
var CommitStatusStates = map[Status]bool{StatusPending: true, StatusRunning: true, StatusSuccess: true,
	StatusFailed: true, StatusCanceled: true}

// CommitStatusFilter selects a commit's statuses.
type CommitStatusFilter struct {
	ProjectID int64
	SHA       string // full sha
	Ref       string // "" for any
	Name      string // "" for any
	Page
}

// CommitStatusStore keeps commit statuses.
type CommitStatusStore interface {
	// SetCommitStatus inserts s or, when the (project, sha, ref, name)
	// exists, updates its status, target URL, description, coverage and
	// times; it sets s.ID, CreatedAt and UpdatedAt.
	SetCommitStatus(ctx context.Context, s *CommitStatus) error
	// ListCommitStatuses lists the statuses f selects, oldest first, and
	// their total count.
	ListCommitStatuses(ctx context.Context, f CommitStatusFilter) ([]*CommitStatus, int, error)
}

// RunnerProjectStore keeps the projects a project runner was enabled for
// besides its own.
type RunnerProjectStore interface {
	// EnableRunner lets the project runner run projectID's jobs too;
	// KindConflict if it already may, KindNotFound if either is missing.
	EnableRunner(ctx context.Context, runnerID, projectID int64) error
	// DisableRunner undoes EnableRunner; KindNotFound if it was not enabled.
	DisableRunner(ctx context.Context, runnerID, projectID int64) error
	// RunnerProjects lists the projects the runner was enabled for.
	RunnerProjects(ctx context.Context, runnerID int64) ([]int64, error)
}
