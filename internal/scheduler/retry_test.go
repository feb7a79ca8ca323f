package scheduler

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func TestShouldRetry(t *testing.T) {
	retry := func(max int, whens []string, codes ...int) func(*ci.Job) {
		return func(j *ci.Job) { j.Spec.Retry = ci.RetrySpec{Max: max, When: whens, ExitCodes: codes} }
	}
	reason := func(r string) func(*ci.Job) { return func(j *ci.Job) { j.FailureReason = r } }
	attempt := func(n int) func(*ci.Job) { return func(j *ci.Job) { j.Attempt = n } }
	tests := []struct {
		name string
		job  *ci.Job
		want bool
	}{
		{"no retry keyword", jb("a", 0, failed, reason(ci.FailureScriptFailure)), false},
		{"max 1 first attempt", jb("a", 0, failed, retry(1, nil), reason(ci.FailureScriptFailure)), true},
		{"max 1 second attempt", jb("a", 0, failed, retry(1, nil), attempt(2)), false},
		{"max 2 second attempt", jb("a", 0, failed, retry(2, nil), attempt(2)), true},
		{"max 2 third attempt", jb("a", 0, failed, retry(2, nil), attempt(3)), false},
		{"max above 2 is capped", jb("a", 0, failed, retry(5, nil), attempt(3)), false},
		{"success is not retried", jb("a", 0, success, retry(2, nil)), false},
		{"canceled is not retried", jb("a", 0, canceled, retry(2, nil)), false},
		{"already retried", jb("a", 0, failed, retry(2, nil), retried), false},
		{"when always", jb("a", 0, failed, retry(2, []string{"always"}), reason(ci.FailureScriptFailure)), true},
		{"when matches reason", jb("a", 0, failed, retry(2, []string{ci.FailureRunnerSystem, ci.FailureStuck}), reason(ci.FailureStuck)), true},
		{"when does not match reason", jb("a", 0, failed, retry(2, []string{ci.FailureRunnerSystem}), reason(ci.FailureScriptFailure)), false},
		{"timeout reason", jb("a", 0, failed, retry(1, []string{ci.FailureJobTimeout}), reason(ci.FailureJobTimeout)), true},
		{"missing dependency never retried", jb("a", 0, failed, retry(2, nil), reason(ci.FailureMissingDependency)), false},
		{"exit code listed", jb("a", 0, failed, retry(2, nil, 137), reason(ci.FailureScriptFailure), exit(137)), true},
		{"exit code not listed", jb("a", 0, failed, retry(2, nil, 137), reason(ci.FailureScriptFailure), exit(1)), false},
		{"exit codes but no exit code", jb("a", 0, failed, retry(2, nil, 137), reason(ci.FailureRunnerSystem)), false},
		{"exit code listed but reason not", jb("a", 0, failed, retry(2, []string{ci.FailureRunnerSystem}, 137),
			reason(ci.FailureScriptFailure), exit(137)), false},
		{"exit code and reason listed", jb("a", 0, failed, retry(2, []string{ci.FailureScriptFailure}, 137),
			reason(ci.FailureScriptFailure), exit(137)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldRetry(tt.job); got != tt.want {
				t.Errorf("ShouldRetry = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestNextAttempt(t *testing.T) {
	old := jb("a", 2, failed, exit(1))
	old.ID, old.PipelineID, old.ProjectID, old.UserID, old.RunnerID, old.Attempt = 7, 3, 4, 5, 9, 2
	old.FailureReason = ci.FailureScriptFailure
	tests := []struct {
		name     string
		userID   int64
		wantUser int64
	}{
		{"keeps the user", 0, 5},
		{"retrying user", 11, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := nextAttempt(old, tt.userID)
			if n.ID != 0 || n.Status != created || n.Attempt != 3 || n.RunnerID != 0 || n.ExitCode != nil ||
				n.FailureReason != "" || n.PipelineID != 3 || n.ProjectID != 4 || n.StageIdx != 2 || n.Name != "a" {
				t.Errorf("nextAttempt = %+v", n)
			}
			if n.UserID != tt.wantUser {
				t.Errorf("UserID = %d, want %d", n.UserID, tt.wantUser)
			}
		})
	}
}
