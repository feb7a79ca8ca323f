package web

import (
	"fmt"
	"sort"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// The pipeline graph: one column per stage, one node per job, and the
// needs between jobs as curves in an SVG under the nodes. Positions are
// computed here, so the page needs no script to draw it.
const (
	colWidth  = 232
	nodeWidth = 200
	nodeH     = 44
	rowGap    = 12
	headH     = 36
	padX      = 16
)

// graph is a laid-out pipeline.
type graph struct {
	Stages        []graphStage
	Edges         []graphEdge
	Width, Height int
}

type graphStage struct {
	Name   string
	X      int
	Status ci.Status
	Jobs   []graphNode
}

type graphNode struct {
	Job      *ci.Job
	X, Y     int
	Duration float64
	// Downstream is the pipeline a bridge job created, nil for other jobs.
	Downstream *pipelineRef
}

// graphEdge is one need, drawn from the needed job to the job that needs it.
type graphEdge struct {
	Path   string // SVG path data
	From   int64
	To     int64
	Status ci.Status
}

// layoutGraph places jobs (current attempts only) by stage.
func layoutGraph(jobs []*ci.Job, now time.Time) graph {
	type stageKey struct {
		idx  int
		name string
	}
	byStage := map[stageKey][]*ci.Job{}
	var keys []stageKey
	for _, j := range jobs {
		k := stageKey{j.StageIdx, j.Stage}
		if _, ok := byStage[k]; !ok {
			keys = append(keys, k)
		}
		byStage[k] = append(byStage[k], j)
	}
	sort.Slice(keys, func(a, b int) bool {
		if keys[a].idx != keys[b].idx {
			return keys[a].idx < keys[b].idx
		}
		return keys[a].name < keys[b].name
	})
	g := graph{}
	pos := map[string]graphNode{}
	rows := 0
	for i, k := range keys {
		st := graphStage{Name: k.name, X: padX + i*colWidth}
		list := byStage[k]
		statuses := make([]ci.Status, 0, len(list))
		for r, j := range list {
			n := graphNode{Job: j, X: st.X, Y: headH + r*(nodeH+rowGap), Duration: j.Duration(now)}
			st.Jobs = append(st.Jobs, n)
			pos[j.Name] = n
			statuses = append(statuses, j.Status)
		}
		st.Status = combinedStatus(statuses)
		rows = max(rows, len(list))
		g.Stages = append(g.Stages, st)
	}
	for _, st := range g.Stages {
		for _, n := range st.Jobs {
			if !n.Job.Spec.HasNeeds {
				continue
			}
			for _, need := range n.Job.Spec.Needs {
				from, ok := pos[need.Job]
				if !ok || need.CrossPipeline() {
					continue
				}
				x1, y1 := from.X+nodeWidth, from.Y+nodeH/2
				x2, y2 := n.X, n.Y+nodeH/2
				dx := max((x2-x1)/2, 16)
				g.Edges = append(g.Edges, graphEdge{From: from.Job.ID, To: n.Job.ID, Status: from.Job.Status,
					Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2)})
			}
		}
	}
	g.Width = padX*2 + max(len(keys), 1)*colWidth - (colWidth - nodeWidth)
	g.Height = headH + max(rows, 1)*(nodeH+rowGap)
	return g
}

// combinedStatus summarizes a stage the way GitLab does: failures and
// activity win over success.
func combinedStatus(ss []ci.Status) ci.Status {
	has := map[ci.Status]bool{}
	for _, s := range ss {
		has[s] = true
	}
	for _, s := range []ci.Status{ci.StatusFailed, ci.StatusRunning, ci.StatusCanceling, ci.StatusPending,
		ci.StatusPreparing, ci.StatusWaitingForResource, ci.StatusManual, ci.StatusCanceled, ci.StatusCreated,
		ci.StatusScheduled} {
		if has[s] {
			return s
		}
	}
	if has[ci.StatusSuccess] {
		return ci.StatusSuccess
	}
	return ci.StatusSkipped
}
