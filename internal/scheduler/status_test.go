package scheduler

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestPipelineStatus(t *testing.T) {
	manualJob := func(s ci.Status, opts ...func(*ci.Job)) *ci.Job {
		return jb("m", 1, s, append([]func(*ci.Job){when(ci.WhenManual)}, opts...)...)
	}
	tests := []struct {
		name     string
		jobs     []*ci.Job
		want     ci.Status
		warnings bool
	}{
		{"no jobs", nil, created, false},
		{"only created", []*ci.Job{jb("a", 0, created), jb("b", 1, created)}, created, false},
		{"pending and created", []*ci.Job{jb("a", 0, pending), jb("b", 1, created)}, pending, false},
		{"pending after success", []*ci.Job{jb("a", 0, success), jb("b", 1, pending), jb("c", 2, created)}, running, false},
		{"running", []*ci.Job{jb("a", 0, running), jb("b", 1, created)}, running, false},
		{"all success", []*ci.Job{jb("a", 0, success), jb("b", 1, success)}, success, false},
		{"success and skipped", []*ci.Job{jb("a", 0, success), jb("b", 1, skipped)}, success, false},
		{"all skipped", []*ci.Job{jb("a", 0, skipped), jb("b", 1, skipped)}, skipped, false},
		{"failed", []*ci.Job{jb("a", 0, failed), jb("b", 1, skipped)}, failed, false},
		{"failed while another still runs", []*ci.Job{jb("a", 0, failed), jb("b", 0, running)}, running, false},
		{"failed while another is pending", []*ci.Job{jb("a", 0, failed), jb("b", 0, pending)}, running, false},
		{"failed and created: still running", []*ci.Job{jb("a", 0, failed), jb("b", 1, created)}, running, false},
		{"allowed failure is success with warnings", []*ci.Job{jb("a", 0, failed, allowFail), jb("b", 1, success)}, success, true},
		{"allowed failure by exit code", []*ci.Job{jb("a", 0, failed, exit(42), allowCodes(42)), jb("b", 1, success)}, success, true},
		{"failure with other exit code", []*ci.Job{jb("a", 0, failed, exit(1), allowCodes(42)), jb("b", 1, success)}, failed, false},
		{"only allowed failures", []*ci.Job{jb("a", 0, failed, allowFail)}, success, true},
		{"allowed failure and created", []*ci.Job{jb("a", 0, failed, allowFail), jb("b", 1, created)}, created, true},
		{"canceled", []*ci.Job{jb("a", 0, canceled), jb("b", 0, success), jb("c", 1, skipped)}, canceled, false},
		{"canceled and failed", []*ci.Job{jb("a", 0, canceled), jb("b", 0, failed)}, failed, false},
		{"canceled allowed to fail", []*ci.Job{jb("a", 0, canceled, allowFail), jb("b", 0, success)}, success, true},
		{"canceling while others are done", []*ci.Job{jb("a", 0, ci.StatusCanceling), jb("b", 0, canceled)}, ci.StatusCanceling, false},
		{"canceling and running", []*ci.Job{jb("a", 0, ci.StatusCanceling), jb("b", 0, running)}, running, false},
		{"blocking manual", []*ci.Job{jb("a", 0, success), manualJob(manual), jb("c", 2, created)}, manual, false},
		{"non-blocking manual is ignored", []*ci.Job{jb("a", 0, success), manualJob(manual, allowFail)}, success, false},
		{"non-blocking manual alone", []*ci.Job{manualJob(manual, allowFail)}, skipped, false},
		{"non-blocking manual and skipped", []*ci.Job{manualJob(manual, allowFail), jb("b", 1, skipped)}, skipped, false},
		{"non-blocking manual while running", []*ci.Job{manualJob(manual, allowFail), jb("b", 1, running)}, running, false},
		{"blocking manual and failure", []*ci.Job{manualJob(manual), jb("b", 0, failed)}, manual, false},
		{"scheduled", []*ci.Job{jb("a", 0, success), jb("b", 1, ci.StatusScheduled)}, ci.StatusScheduled, false},
		{"preparing only", []*ci.Job{jb("a", 0, ci.StatusPreparing)}, ci.StatusPreparing, false},
		{"waiting for resource", []*ci.Job{jb("a", 0, ci.StatusWaitingForResource), jb("b", 0, success)}, ci.StatusWaitingForResource, false},
		{"retried failure ignored", []*ci.Job{jb("a", 0, failed, retried), jb("a", 0, success)}, success, false},
		{"retried success ignored", []*ci.Job{jb("a", 0, success, retried), jb("a", 0, failed)}, failed, false},
		{"only retried jobs", []*ci.Job{jb("a", 0, success, retried)}, created, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PipelineStatus(tt.jobs); got != tt.want {
				t.Errorf("PipelineStatus = %s, want %s", got, tt.want)
			}
			if got := HasWarnings(tt.jobs); got != tt.warnings {
				t.Errorf("HasWarnings = %v, want %v", got, tt.warnings)
			}
		})
	}
}

func TestAllowedFailure(t *testing.T) {
	tests := []struct {
		name string
		job  *ci.Job
		want bool
	}{
		{"allow_failure", jb("a", 0, failed, allowFail), true},
		{"not allowed", jb("a", 0, failed, exit(1)), false},
		{"listed exit code", jb("a", 0, failed, exit(137), allowCodes(1, 137)), true},
		{"unlisted exit code", jb("a", 0, failed, exit(2), allowCodes(1, 137)), false},
		{"no exit code", jb("a", 0, failed, allowCodes(1)), false},
		{"exit codes only count for failed jobs", jb("a", 0, canceled, exit(1), allowCodes(1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.job.AllowedFailure(); got != tt.want {
				t.Errorf("AllowedFailure = %v, want %v", got, tt.want)
			}
		})
	}
}
