package ci

// Status is a job or pipeline status, with GitLab's names.
type Status string

// GitLab's job and pipeline statuses.
const (
	StatusCreated            Status = "created"
	StatusWaitingForResource Status = "waiting_for_resource"
	StatusPreparing          Status = "preparing"
	StatusPending            Status = "pending"
	StatusRunning            Status = "running"
	StatusSuccess            Status = "success"
	StatusFailed             Status = "failed"
	StatusCanceled           Status = "canceled"
	StatusCanceling          Status = "canceling"
	StatusSkipped            Status = "skipped"
	StatusManual             Status = "manual"
	StatusScheduled          Status = "scheduled"
)

// Finished reports whether s is final: success, failed, canceled or skipped.
func (s Status) Finished() bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped:
		return true
	}
	return false
}

// Active reports whether a job in s holds a runner: running or canceling.
func (s Status) Active() bool { return s == StatusRunning || s == StatusCanceling }

// Valid reports whether s is one of GitLab's status names.
func (s Status) Valid() bool {
	switch s {
	case StatusCreated, StatusWaitingForResource, StatusPreparing, StatusPending, StatusRunning,
		StatusSuccess, StatusFailed, StatusCanceled, StatusCanceling, StatusSkipped, StatusManual, StatusScheduled:
		return true
	}
	return false
}

// Failure reasons, GitLab's names.
const (
	FailureScriptFailure     = "script_failure"
	FailureRunnerSystem      = "runner_system_failure"
	FailureJobTimeout        = "job_execution_timeout"
	FailureUnknown           = "unknown_failure"
	FailureStuck             = "stuck_or_timeout_failure"
	FailureMissingDependency = "missing_dependency_failure"
	FailureTraceSizeExceeded = "trace_size_exceeded"
	FailureJobCanceled       = "job_canceled"
	FailureConfigError       = "config_error"
	// FailureScheduler is GitLab's scheduler_failure: a job assigned to a
	// runner could not be handed over (its payload failed to build).
	FailureScheduler = "scheduler_failure"
	// FailureStaleSchedule is GitLab's stale_schedule: a delayed job still
	// scheduled an hour after its time (the server was down) is dropped.
	FailureStaleSchedule = "stale_schedule"
	// FailureArchived is GitLab's archived_failure, which a runner reports
	// when the job's script passed but its artifacts could not be stored.
	FailureArchived = "archived_failure"
)

// Pipeline sources, GitLab's names.
const (
	SourcePush    = "push"
	SourceWeb     = "web"
	SourceAPI     = "api"
	SourceTrigger = "trigger"
	// SourceSchedule is a pipeline a pipeline schedule created; rules see
	// $CI_PIPELINE_SOURCE == "schedule".
	SourceSchedule = "schedule"
	// SourceExternal is a pipeline created for a commit status an outside
	// system reported (POST /statuses/:sha) on a commit without one.
	SourceExternal = "external"
)

// When values of a job.
const (
	WhenOnSuccess = "on_success"
	WhenOnFailure = "on_failure"
	WhenAlways    = "always"
	WhenManual    = "manual"
	WhenDelayed   = "delayed"
	WhenNever     = "never"
)
