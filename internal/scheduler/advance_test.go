package scheduler

import (
	"testing"

	"github.com/batonci/baton/internal/ci"
)

const (
	created  = ci.StatusCreated
	pending  = ci.StatusPending
	running  = ci.StatusRunning
	success  = ci.StatusSuccess
	failed   = ci.StatusFailed
	canceled = ci.StatusCanceled
	skipped  = ci.StatusSkipped
	manual   = ci.StatusManual
)

func TestAdvance(t *testing.T) {
	tests := []struct {
		name string
		jobs []*ci.Job
		want string // sorted "name:status" of the changes
	}{
		{"empty pipeline", nil, ""},
		{"needs:pipeline is not waited for, even with a job of that name here", []*ci.Job{
			jb("build", 0, running), jb("test", 1, created, func(j *ci.Job) {
				j.Spec.HasNeeds = true
				j.Spec.Needs = []ci.Need{{Job: "build", Artifacts: true, Pipeline: "$PARENT_PIPELINE_ID"}}
			}),
		}, "test:pending"},
		{"first stage starts at once", []*ci.Job{
			jb("a", 0, created), jb("b", 0, created), jb("c", 1, created),
		}, "a:pending b:pending"},
		{"later stage waits for running job", []*ci.Job{
			jb("a", 0, success), jb("b", 0, running), jb("c", 1, created),
		}, ""},
		{"later stage waits for pending job", []*ci.Job{
			jb("a", 0, pending), jb("c", 1, created),
		}, ""},
		{"later stage starts once earlier succeeded", []*ci.Job{
			jb("a", 0, success), jb("b", 0, success), jb("c", 1, created), jb("d", 2, created),
		}, "c:pending"},
		{"stage indexes with gaps", []*ci.Job{
			jb("a", 0, success), jb("c", 3, created), jb("d", 5, created),
		}, "c:pending"},
		{"failure skips all later on_success jobs", []*ci.Job{
			jb("a", 0, failed), jb("b", 1, created), jb("c", 2, created),
		}, "b:skipped c:skipped"},
		{"failure runs on_failure, skips on_success, runs always", []*ci.Job{
			jb("a", 0, failed), jb("b", 1, created), jb("f", 1, created, when(ci.WhenOnFailure)),
			jb("al", 1, created, when(ci.WhenAlways)),
		}, "al:pending b:skipped f:pending"},
		{"on_failure is skipped after success", []*ci.Job{
			jb("a", 0, success), jb("f", 1, created, when(ci.WhenOnFailure)), jb("b", 1, created),
		}, "b:pending f:skipped"},
		{"on_failure in later stage still sees the failure through skipped jobs", []*ci.Job{
			jb("a", 0, failed), jb("b", 1, created), jb("f", 2, created, when(ci.WhenOnFailure)),
		}, "b:skipped f:pending"},
		{"always waits its turn", []*ci.Job{
			jb("a", 0, running), jb("al", 1, created, when(ci.WhenAlways)),
		}, ""},
		{"always runs after success", []*ci.Job{
			jb("a", 0, success), jb("al", 1, created, when(ci.WhenAlways)),
		}, "al:pending"},
		{"always after only skipped jobs", []*ci.Job{
			jb("a", 0, skipped), jb("al", 1, created, when(ci.WhenAlways)),
		}, "al:pending"},
		{"allowed failure counts as success", []*ci.Job{
			jb("a", 0, failed, allowFail), jb("b", 0, success), jb("c", 1, created),
			jb("f", 1, created, when(ci.WhenOnFailure)),
		}, "c:pending f:skipped"},
		{"allowed failure by exit code counts as success", []*ci.Job{
			jb("a", 0, failed, exit(3), allowCodes(2, 3)), jb("c", 1, created),
		}, "c:pending"},
		{"exit code not in allow list fails", []*ci.Job{
			jb("a", 0, failed, exit(1), allowCodes(2, 3)), jb("c", 1, created),
			jb("f", 1, created, when(ci.WhenOnFailure)),
		}, "c:skipped f:pending"},
		{"failure without exit code is not allowed by exit codes", []*ci.Job{
			jb("a", 0, failed, allowCodes(2)), jb("c", 1, created),
		}, "c:skipped"},
		{"skipped earlier jobs count as success for stages", []*ci.Job{
			jb("a", 0, skipped), jb("b", 0, success), jb("c", 1, created),
		}, "c:pending"},
		{"only skipped earlier jobs still run on_success", []*ci.Job{
			jb("a", 0, skipped), jb("c", 1, created),
		}, "c:pending"},
		{"canceled earlier job skips everything after", []*ci.Job{
			jb("a", 0, canceled), jb("b", 0, success), jb("c", 1, created),
			jb("al", 1, created, when(ci.WhenAlways)), jb("f", 1, created, when(ci.WhenOnFailure)),
		}, "al:skipped c:skipped f:skipped"},
		{"canceled with allow_failure counts as success", []*ci.Job{
			jb("a", 0, canceled, allowFail), jb("c", 1, created),
		}, "c:pending"},
		{"canceled and failed: failed wins", []*ci.Job{
			jb("a", 0, canceled), jb("b", 0, failed), jb("f", 1, created, when(ci.WhenOnFailure)),
		}, "f:pending"},
		{"manual job becomes manual on its turn", []*ci.Job{
			jb("a", 0, success), jb("m", 1, created, when(ci.WhenManual), allowFail), jb("c", 2, created),
		}, "c:pending m:manual"},
		{"manual allowed to fail does not block later stages", []*ci.Job{
			jb("m", 0, created, when(ci.WhenManual), allowFail), jb("c", 1, created),
		}, "c:pending m:manual"},
		{"only an unplayed non-blocking manual job before: on_success runs", []*ci.Job{
			jb("m", 0, manual, when(ci.WhenManual), allowFail), jb("c", 1, created),
			jb("f", 1, created, when(ci.WhenOnFailure)),
		}, "c:pending f:skipped"},
		{"blocking manual job blocks later stages", []*ci.Job{
			jb("m", 0, created, when(ci.WhenManual)), jb("b", 0, created), jb("c", 1, created),
			jb("al", 1, created, when(ci.WhenAlways)),
		}, "b:pending m:manual"},
		{"blocking manual job still blocks after the rest succeeded", []*ci.Job{
			jb("m", 0, manual, when(ci.WhenManual)), jb("b", 0, success), jb("c", 1, created),
		}, ""},
		{"played manual job that succeeded unblocks", []*ci.Job{
			jb("m", 0, success, when(ci.WhenManual)), jb("c", 1, created),
		}, "c:pending"},
		{"manual job after a failure is skipped", []*ci.Job{
			jb("a", 0, failed), jb("m", 1, created, when(ci.WhenManual)), jb("c", 2, created),
		}, "c:skipped m:skipped"},
		{"manual job waits its turn", []*ci.Job{
			jb("a", 0, running), jb("m", 1, created, when(ci.WhenManual)),
		}, ""},
		{"retried attempts are ignored", []*ci.Job{
			jb("a", 0, failed, retried), jb("a", 0, success), jb("c", 1, created),
			jb("old", 1, created, retried),
		}, "c:pending"},
		{"retried attempt pending again blocks", []*ci.Job{
			jb("a", 0, failed, retried), jb("a", 0, pending), jb("c", 1, created),
		}, ""},
		{"needs empty starts at once", []*ci.Job{
			jb("a", 0, created), jb("d", 2, created, needs()),
		}, "a:pending d:pending"},
		{"needs start as soon as the needed jobs succeed", []*ci.Job{
			jb("a", 0, success), jb("b", 0, running), jb("d", 1, created, needs("a")), jb("e", 1, created),
		}, "d:pending"},
		{"needs wait for running needed job", []*ci.Job{
			jb("a", 0, running), jb("d", 1, created, needs("a")),
		}, ""},
		{"needs chain within the same stage", []*ci.Job{
			jb("a", 0, created), jb("b", 0, created, needs("a")),
		}, "a:pending"},
		{"needs on a failed job: on_success skipped, on_failure runs, always runs", []*ci.Job{
			jb("a", 0, failed), jb("b", 0, success),
			jb("d", 1, created, needs("a")), jb("f", 1, created, needs("a"), when(ci.WhenOnFailure)),
			jb("al", 1, created, needs("a"), when(ci.WhenAlways)), jb("ok", 1, created, needs("b")),
		}, "al:pending d:skipped f:pending ok:pending"},
		{"needs on allowed failure runs", []*ci.Job{
			jb("a", 0, failed, allowFail), jb("d", 1, created, needs("a")),
		}, "d:pending"},
		{"needs on a skipped job skips on_success", []*ci.Job{
			jb("a", 0, skipped), jb("d", 1, created, needs("a")), jb("al", 1, created, needs("a"), when(ci.WhenAlways)),
		}, "al:pending d:skipped"},
		{"needs on an unplayed allowed manual job skips", []*ci.Job{
			jb("m", 0, manual, when(ci.WhenManual), allowFail), jb("d", 1, created, needs("m")),
		}, "d:skipped"},
		{"needs on a blocking manual job waits", []*ci.Job{
			jb("m", 0, manual, when(ci.WhenManual)), jb("d", 1, created, needs("m")),
		}, ""},
		{"needs on a canceled job skips", []*ci.Job{
			jb("a", 0, canceled), jb("d", 1, created, needs("a")), jb("al", 1, created, needs("a"), when(ci.WhenAlways)),
		}, "al:skipped d:skipped"},
		{"missing optional need is ignored", []*ci.Job{
			jb("a", 0, running), jb("d", 1, created, needs("gone?")),
		}, "d:pending"},
		{"optional need that exists is waited for", []*ci.Job{
			jb("a", 0, running), jb("d", 1, created, needs("a?", "gone?")),
		}, ""},
		{"needs ignore earlier stages", []*ci.Job{
			jb("a", 0, failed), jb("b", 0, success), jb("d", 2, created, needs("b")),
		}, "d:pending"},
		{"need on parallel job waits for all instances", []*ci.Job{
			jb("t 1/2", 0, success, parallel(2)), jb("t 2/2", 0, running, parallel(2)), jb("d", 1, created, needs("t")),
		}, ""},
		{"need on parallel job runs when all instances succeeded", []*ci.Job{
			jb("t 1/2", 0, success, parallel(2)), jb("t 2/2", 0, success, parallel(2)), jb("d", 1, created, needs("t")),
		}, "d:pending"},
		{"skip propagates through DAG and stages in one call", []*ci.Job{
			jb("a", 0, failed), jb("b", 1, created, needs("a")), jb("c", 2, created, needs("b")),
			jb("d", 3, created), jb("f", 4, created, when(ci.WhenOnFailure)),
		}, "b:skipped c:skipped d:skipped f:pending"},
		{"DAG job started from a later stage before the earlier stage finished", []*ci.Job{
			jb("a", 0, success), jb("slow", 0, running), jb("b", 1, created, needs("a")), jb("c", 2, created, needs("b")),
		}, "b:pending"},
		{"finished and active jobs are left alone", []*ci.Job{
			jb("a", 0, success), jb("b", 0, running), jb("c", 0, manual, when(ci.WhenManual), allowFail), jb("d", 0, canceled),
		}, ""},
		{"when never is skipped", []*ci.Job{
			jb("n", 0, created, when(ci.WhenNever)),
		}, "n:skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := make([]ci.Status, len(tt.jobs))
			for i, j := range tt.jobs {
				before[i] = j.Status
			}
			got := render(Advance(tt.jobs))
			if got != tt.want {
				t.Errorf("Advance = %q, want %q", got, tt.want)
			}
			for i, j := range tt.jobs {
				if j.Status != before[i] {
					t.Errorf("Advance modified job %s: %s -> %s", j.Name, before[i], j.Status)
				}
			}
		})
	}
}

func TestDownstream(t *testing.T) {
	a := jb("a", 0, failed)
	tests := []struct {
		name string
		jobs []*ci.Job
		from *ci.Job
		want []string
	}{
		{"later stages", []*ci.Job{a, jb("b", 0, skipped), jb("c", 1, skipped), jb("d", 2, skipped), jb("e", 1, success)}, a,
			[]string{"c", "d"}},
		{"needs chain", []*ci.Job{a, jb("x", 0, skipped), jb("b", 1, skipped, needs("a")), jb("c", 1, skipped, needs("b")),
			jb("o", 1, skipped, needs("x"))}, a, []string{"b", "c"}},
		{"stage job after a needs job", []*ci.Job{jb("a", 2, failed), jb("b", 0, skipped, needs("a")), jb("c", 1, skipped)},
			jb("a", 2, failed), []string{"b", "c"}},
		{"retried skipped jobs are not reopened", []*ci.Job{a, jb("c", 1, skipped, retried)}, a, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, j := range Downstream(tt.jobs, tt.from) {
				got = append(got, j.Name)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Downstream = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("Downstream = %v, want %v", got, tt.want)
				}
			}
		})
	}
}
