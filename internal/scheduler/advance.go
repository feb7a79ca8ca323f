package scheduler

import (
	"slices"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// Change is one transition Advance decided: a created job becomes To, which is
// pending, manual, scheduled or skipped.
type Change struct {
	Job *ci.Job // one of the jobs given to Advance, unchanged
	To  ci.Status
}

// Advance decides which created jobs of one pipeline start now, given all its
// jobs (retried attempts are ignored). It mirrors GitLab's atomic processing:
//
//   - A job without needs waits until every job of the earlier stages
//     (smaller StageIdx) is complete; a job with needs (HasNeeds) waits until
//     the jobs it needs are complete, and `needs: []` starts at once.
//     Optional needs naming no job are ignored, and so is any other need that
//     names no job (the YAML planner rejects those).
//   - An unplayed manual job that may not fail blocks the jobs after it; one
//     that may fail does not block stage ordering but skips jobs needing it.
//   - on_success and manual run when the predecessors succeeded (allowed
//     failures count as success; for stage ordering skipped does too), on_failure
//     when one failed, always unless one was canceled; otherwise the job is skipped.
//     Manual jobs become manual instead of pending, delayed ones scheduled
//     (released at their ScheduledAt by RunDelayed).
//
// Jobs are decided in stage order until nothing changes, so a skip propagates
// through the whole pipeline in one call. Advance does not modify its input.
func Advance(jobs []*ci.Job) []Change {
	g := newGraph(jobs)
	order := make([]int, len(g.jobs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return g.jobs[a].StageIdx - g.jobs[b].StageIdx })

	var changes []Change
	for changed := true; changed; {
		changed = false
		for _, i := range order {
			if g.status[i] != ci.StatusCreated {
				continue
			}
			to, ok := g.decide(i, false)
			if !ok {
				continue
			}
			g.status[i] = to
			changes = append(changes, Change{Job: g.jobs[i], To: to})
			changed = true
		}
	}
	return changes
}

// graph is the latest jobs of a pipeline with their working statuses.
type graph struct {
	jobs   []*ci.Job
	status []ci.Status
	byName map[string][]int
}

func newGraph(jobs []*ci.Job) *graph {
	g := &graph{jobs: latest(jobs), byName: map[string][]int{}}
	g.status = make([]ci.Status, len(g.jobs))
	for i, j := range g.jobs {
		g.status[i] = j.Status
		g.byName[j.Name] = append(g.byName[j.Name], i)
	}
	return g
}

// needs returns the indexes of the jobs that job i needs. A need naming a
// parallel job that was expanded ("test 1/3", "test: [a, b]") means all of
// its instances.
func (g *graph) needs(i int) []int {
	var out []int
	for _, n := range g.jobs[i].Spec.Needs {
		if n.CrossPipeline() {
			continue // another pipeline's job, already finished or not ours to wait for
		}
		if idx, ok := g.byName[n.Job]; ok {
			out = append(out, idx...)
			continue
		}
		for k, j := range g.jobs {
			if j.Spec.NodeTotal > 0 && (strings.HasPrefix(j.Name, n.Job+" ") || strings.HasPrefix(j.Name, n.Job+": ")) {
				out = append(out, k)
			}
		}
	}
	return out
}

// previous is the composite status of what job i waits for: its needs, or
// the jobs of all earlier stages. Nothing to wait for counts as success.
func (g *graph) previous(i int) ci.Status {
	j := g.jobs[i]
	set := statusSet{}
	if j.Spec.HasNeeds {
		for _, k := range g.needs(i) {
			set.add(g.jobs[k], g.status[k])
		}
	} else {
		for k, o := range g.jobs {
			if o.StageIdx < j.StageIdx {
				set.add(o, g.status[k])
			}
		}
	}
	if st := set.status(j.Spec.HasNeeds); st != "" {
		return st
	}
	return ci.StatusSuccess
}

// decide returns the status created job i moves to now, or false while it
// must wait. With immediate (a retry by a user) a manual job becomes pending.
func (g *graph) decide(i int, immediate bool) (ci.Status, bool) {
	prev := g.previous(i)
	if !prev.Finished() {
		return "", false
	}
	spec := g.jobs[i].Spec
	if !slices.Contains(validPrevious(spec.When, spec.HasNeeds), prev) {
		return ci.StatusSkipped, true
	}
	if spec.When == ci.WhenManual && !immediate {
		return ci.StatusManual, true
	}
	if spec.When == ci.WhenDelayed && !immediate {
		return ci.StatusScheduled, true
	}
	return ready(&spec), true
}

// ready is the status of a job whose turn has come: pending, or waiting
// for its resource group, which hands it out one job at a time.
func ready(spec *ci.JobSpec) ci.Status {
	if spec.ResourceGroup != "" {
		return ci.StatusWaitingForResource
	}
	return ci.StatusPending
}

// validPrevious lists the composite statuses of its predecessors under which
// a job with the given when runs (GitLab's ProcessBuildService).
func validPrevious(when string, dag bool) []ci.Status {
	switch when {
	case "", ci.WhenOnSuccess, ci.WhenManual, ci.WhenDelayed:
		if dag {
			return []ci.Status{ci.StatusSuccess}
		}
		return []ci.Status{ci.StatusSuccess, ci.StatusSkipped}
	case ci.WhenOnFailure:
		return []ci.Status{ci.StatusFailed}
	case ci.WhenAlways:
		return []ci.Status{ci.StatusSuccess, ci.StatusFailed, ci.StatusSkipped}
	}
	return nil
}

// Downstream returns the latest skipped jobs that come after one of from:
// jobs of later stages (without needs) or jobs needing them, transitively.
// Retrying or playing a job re-opens these (GitLab's ResetSkippedJobsService).
func Downstream(jobs []*ci.Job, from ...*ci.Job) []*ci.Job {
	g := newGraph(jobs)
	reached := make([]bool, len(g.jobs))
	queue := slices.Clone(from)
	for len(queue) > 0 {
		src := queue[0]
		queue = queue[1:]
		for i, j := range g.jobs {
			if reached[i] || j.Status != ci.StatusSkipped || !g.after(i, src) {
				continue
			}
			reached[i] = true
			queue = append(queue, j)
		}
	}
	var out []*ci.Job
	for i, j := range g.jobs {
		if reached[i] {
			out = append(out, j)
		}
	}
	return out
}

// after reports whether job i waits for src.
func (g *graph) after(i int, src *ci.Job) bool {
	j := g.jobs[i]
	if !j.Spec.HasNeeds {
		return j.StageIdx > src.StageIdx
	}
	for _, k := range g.needs(i) {
		if g.jobs[k].Name == src.Name {
			return true
		}
	}
	return false
}
