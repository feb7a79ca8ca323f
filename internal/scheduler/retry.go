package scheduler

import (
	"slices"

	"github.com/batonci/baton/internal/ci"
)

// noAutoRetry lists failure reasons GitLab never retries automatically,
// whatever retry says: running the job again cannot help.
var noAutoRetry = []string{ci.FailureMissingDependency, ci.FailureConfigError}

// Causes of the failures the scheduler detects itself, for ShouldRetryCause.
const (
	CauseNone          = ""
	CauseRunnerLost    = "runner_lost"    // running, its runner silent for StuckAfter
	CauseServerTimeout = "server_timeout" // running past its timeout plus TimeoutGrace
	CauseStuckPending  = "stuck_pending"  // pending, no runner took it for PendingTimeout
)

// causeCovers lists, per cause the scheduler detects, the retry:when values
// that cover it besides the failure reason it records: GitLab records these
// cases as stuck_or_timeout_failure (before 19.0) or under the names 19.0
// split it into, and a job whose runner stopped reporting was interrupted
// (runner_interrupted).
var causeCovers = map[string][]string{
	CauseRunnerLost:    {"runner_interrupted", ci.FailureStuck, "no_updates_running"},
	CauseServerTimeout: {ci.FailureStuck, "server_timeout_running"},
	CauseStuckPending:  {"stuck_pending_with_matching_runners", "stuck_pending_no_matching_runners"},
}

// ShouldRetry reports whether failed job j gets a new attempt automatically
// (GitLab's AutoRetry): it is the latest attempt, retry:max allows another
// (Attempt <= Max, Max is capped at 2), its failure reason is listed in
// retry:when (empty or "always" means any) and, when retry:exit_codes is
// set, its exit code is listed there.
func ShouldRetry(j *ci.Job) bool { return ShouldRetryCause(j, CauseNone) }

// ShouldRetryCause is ShouldRetry for a job the scheduler failed itself
// for cause: retry:when also matches the values causeCovers lists for it.
func ShouldRetryCause(j *ci.Job, cause string) bool {
	if j.Status != ci.StatusFailed || j.Retried || slices.Contains(noAutoRetry, j.FailureReason) {
		return false
	}
	r := j.Spec.Retry
	if j.Attempt > min(r.Max, 2) {
		return false
	}
	if len(r.When) > 0 && !slices.Contains(r.When, "always") && !slices.Contains(r.When, j.FailureReason) &&
		!slices.ContainsFunc(causeCovers[cause], func(w string) bool { return slices.Contains(r.When, w) }) {
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
// An external status is its outside system's to report again, never retried.
func retryable(j *ci.Job) bool {
	if j.Retried || j.External() {
		return false
	}
	switch j.Status {
	case ci.StatusSuccess, ci.StatusFailed, ci.StatusCanceled:
		return true
	}
	return false
}
