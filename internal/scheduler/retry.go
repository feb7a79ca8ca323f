package scheduler

import (
	"slices"

	"github.com/batonci/baton/internal/ci"
)

// noAutoRetry lists failure reasons GitLab never retries automatically,
// whatever retry says: running the job again cannot help.
var noAutoRetry = []string{ci.FailureMissingDependency, ci.FailureConfigError}

// ShouldRetry reports whether failed job j gets a new attempt automatically
// (GitLab's AutoRetry): it is the latest attempt, retry:max allows another
// (Attempt <= Max, Max is capped at 2), its failure reason is listed in
// retry:when (empty or "always" means any) and, when retry:exit_codes is
// set, its exit code is listed there.
func ShouldRetry(j *ci.Job) bool {
	if j.Status != ci.StatusFailed || j.Retried || slices.Contains(noAutoRetry, j.FailureReason) {
		return false
	}
	r := j.Spec.Retry
	if j.Attempt > min(r.Max, 2) {
		return false
	}
	if len(r.When) > 0 && !slices.Contains(r.When, "always") && !slices.Contains(r.When, j.FailureReason) {
		return false
	}
	if len(r.ExitCodes) > 0 && (j.ExitCode == nil || !slices.Contains(r.ExitCodes, *j.ExitCode)) {
		return false
	}
	return true
}

// nextAttempt is a new, created attempt of old: the same job of the same
// pipeline with nothing of old's run.
func nextAttempt(old *ci.Job, userID int64) *ci.Job {
	if userID == 0 {
		userID = old.UserID
	}
	attempt := old.Attempt
	if attempt < 1 {
		attempt = 1
	}
	return &ci.Job{
		ProjectID:  old.ProjectID,
		PipelineID: old.PipelineID,
		Name:       old.Name,
		Stage:      old.Stage,
		StageIdx:   old.StageIdx,
		Status:     ci.StatusCreated,
		Spec:       old.Spec,
		Attempt:    attempt + 1,
		UserID:     userID,
	}
}

// retryable reports whether a user may retry j: a finished latest attempt
// that ran or was meant to (GitLab: success, failed or canceled).
func retryable(j *ci.Job) bool {
	if j.Retried {
		return false
	}
	switch j.Status {
	case ci.StatusSuccess, ci.StatusFailed, ci.StatusCanceled:
		return true
	}
	return false
}
