// Package scheduler is Baton's pipeline state machine. Its pure half decides,
// from the jobs of a pipeline alone, which created jobs may start, what a
// pipeline's composite status is and whether a failed job is retried
// automatically; it mirrors GitLab's AtomicProcessingService,
// ProcessBuildService, Gitlab::Ci::Status::Composite and AutoRetry. Its
// service half (Scheduler) applies those decisions through the ci store
// interfaces, keeps no state of its own and is safe on several replicas.
package scheduler

import (
	"github.com/batonci/baton/internal/ci"
)

// The two pseudo-statuses GitLab's composite status knows besides the real ones.
const (
	symWarning ci.Status = "success_with_warnings" // failed or canceled, allowed to fail
	symIgnored ci.Status = "ignored"               // manual, allowed to fail: does not block
)

// statusSet is the set of (pseudo-)statuses of a group of jobs, the input of
// GitLab's composite status.
type statusSet map[ci.Status]bool

func (s statusSet) add(j *ci.Job, status ci.Status) {
	allowed := (&ci.Job{Spec: j.Spec, Status: status, ExitCode: j.ExitCode}).AllowedFailure()
	switch {
	case allowed && (status == ci.StatusFailed || status == ci.StatusCanceled):
		s[symWarning] = true
	case allowed && status == ci.StatusManual:
		s[symIgnored] = true
	default:
		s[status] = true
	}
}

func (s statusSet) any(names ...ci.Status) bool {
	for _, n := range names {
		if s[n] {
			return true
		}
	}
	return false
}

func (s statusSet) only(names ...ci.Status) bool {
	n := 0
	for _, name := range names {
		if s[name] {
			n++
		}
	}
	return n > 0 && n == len(s)
}

// status is GitLab's composite status of the set, "" for an empty set. The
// order of the checks is GitLab's and matters. With dag, the set is the
// status of a job's needs: a need that did not run skips the job, and the job
// waits (pending) until every need is complete.
func (s statusSet) status(dag bool) ci.Status {
	switch {
	case len(s) == 0:
		return ""
	case dag && s.any(ci.StatusSkipped, symIgnored):
		return ci.StatusSkipped
	case dag && !s.only(ci.StatusSuccess, ci.StatusFailed, ci.StatusCanceled, ci.StatusSkipped, symWarning):
		return ci.StatusPending
	case s.only(ci.StatusSkipped, symIgnored):
		return ci.StatusSkipped
	case s.only(ci.StatusSuccess, ci.StatusSkipped, symWarning, symIgnored):
		return ci.StatusSuccess
	case s.only(ci.StatusCreated, symWarning, symIgnored):
		return ci.StatusCreated
	case s.only(ci.StatusPreparing, symWarning, symIgnored):
		return ci.StatusPreparing
	case s.only(ci.StatusCanceled, ci.StatusSuccess, ci.StatusSkipped, symWarning, symIgnored):
		return ci.StatusCanceled
	case s.only(ci.StatusPending, ci.StatusCreated, ci.StatusSkipped, symWarning, symIgnored):
		return ci.StatusPending
	case s.any(ci.StatusRunning, ci.StatusPending):
		return ci.StatusRunning
	case s.any(ci.StatusWaitingForResource):
		return ci.StatusWaitingForResource
	case s.any(ci.StatusManual):
		return ci.StatusManual
	case s.any(ci.StatusScheduled):
		return ci.StatusScheduled
	case s.any(ci.StatusPreparing):
		return ci.StatusPreparing
	case s.any(ci.StatusCreated):
		return ci.StatusRunning
	case s.any(ci.StatusCanceling):
		return ci.StatusCanceling
	}
	return ci.StatusFailed
}

// latest returns the jobs that are not retried, in their order.
func latest(jobs []*ci.Job) []*ci.Job {
	out := make([]*ci.Job, 0, len(jobs))
	for _, j := range jobs {
		if !j.Retried {
			out = append(out, j)
		}
	}
	return out
}

// PipelineStatus is GitLab's composite status of a pipeline (or, given the
// jobs of one stage, of that stage): retried jobs are ignored, failures that
// are allowed count as success (with warnings), unplayed manual jobs that are
// allowed to fail are ignored and a blocking manual job makes it manual.
// Without jobs the status is created.
func PipelineStatus(jobs []*ci.Job) ci.Status {
	set := statusSet{}
	for _, j := range latest(jobs) {
		set.add(j, j.Status)
	}
	if st := set.status(false); st != "" {
		return st
	}
	return ci.StatusCreated
}

// HasWarnings reports whether some latest job failed or was canceled but was
// allowed to: GitLab shows such a successful pipeline as "passed with warnings".
func HasWarnings(jobs []*ci.Job) bool {
	for _, j := range latest(jobs) {
		if (j.Status == ci.StatusFailed || j.Status == ci.StatusCanceled) && j.AllowedFailure() {
			return true
		}
	}
	return false
}
