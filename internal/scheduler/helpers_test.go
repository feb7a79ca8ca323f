package scheduler

import (
	"fmt"
	"slices"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// jb builds a job for pure tests: name, stage index and status, then options.
func jb(name string, stage int, status ci.Status, opts ...func(*ci.Job)) *ci.Job {
	j := &ci.Job{Name: name, Stage: fmt.Sprint("s", stage), StageIdx: stage, Status: status, Attempt: 1,
		Spec: ci.JobSpec{Name: name, When: ci.WhenOnSuccess}}
	for _, o := range opts {
		o(j)
	}
	return j
}

func when(w string) func(*ci.Job) { return func(j *ci.Job) { j.Spec.When = w } }

func allowFail(j *ci.Job) { j.Spec.AllowFailure = true }

func retried(j *ci.Job) { j.Retried = true }

func needs(names ...string) func(*ci.Job) {
	return func(j *ci.Job) {
		j.Spec.HasNeeds = true
		j.Spec.Needs = []ci.Need{}
		for _, n := range names {
			opt := strings.HasSuffix(n, "?")
			j.Spec.Needs = append(j.Spec.Needs, ci.Need{Job: strings.TrimSuffix(n, "?"), Artifacts: true, Optional: opt})
		}
	}
}

func exit(code int) func(*ci.Job) { return func(j *ci.Job) { j.ExitCode = &code } }

func allowCodes(codes ...int) func(*ci.Job) {
	return func(j *ci.Job) { j.Spec.AllowFailureExitCodes = codes }
}

func parallel(total int) func(*ci.Job) { return func(j *ci.Job) { j.Spec.NodeTotal = total } }

// render lists changes as "name:status", sorted, for comparison.
func render(changes []Change) string {
	var out []string
	for _, c := range changes {
		out = append(out, c.Job.Name+":"+string(c.To))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}
