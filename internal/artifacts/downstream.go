package artifacts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// Tree is what reaching a pipeline's downstream pipelines reads
// (store.DB). A Service whose Store is not a Tree sees no downstream
// pipelines.
type Tree interface {
	ChildLinks(ctx context.Context, parentID int64) ([]*ci.PipelineLink, error)
	LinkOf(ctx context.Context, pipelineID int64) (*ci.PipelineLink, error)
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	JobByID(ctx context.Context, id int64) (*ci.Job, error)
}

// MaxChildSelector bounds the child= selector of the pipeline routes.
const MaxChildSelector = 1024

// descendant is a child pipeline of the same project, reached from the
// pipeline asked about through the bridges named by path.
type descendant struct {
	path     []string // bridge job names, outermost first
	pipeline *ci.Pipeline
}

func (d descendant) selector() string { return strings.Join(d.path, "/") }

// children returns the child pipelines (same project) of pl, one per
// bridge name, the newest where a bridge was retried, in bridge order.
func (s *Service) children(ctx context.Context, t Tree, pl *ci.Pipeline, path []string) ([]descendant, error) {
	links, err := t.ChildLinks(ctx, pl.ID)
	if err != nil {
		return nil, err
	}
	var out []descendant
	at := map[string]int{}
	for _, l := range links {
		if l.ProjectID != pl.ProjectID {
			continue // a multi-project pipeline is another project's, read with its own rights
		}
		b, err := t.JobByID(ctx, l.ParentJobID)
		if ci.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		child, err := t.PipelineByID(ctx, l.PipelineID)
		if ci.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		d := descendant{path: append(slices.Clip(path), b.Name), pipeline: child}
		if i, ok := at[b.Name]; ok {
			out[i] = d // links are in creation order: the later one is the retry's
			continue
		}
		at[b.Name] = len(out)
		out = append(out, d)
	}
	return out, nil
}

// InPipelineTree is InPipeline through pl's downstream tree, the
// resolution of the pipeline routes' ?job=NAME: pl itself first; if pl has
// no job named name, its child pipelines (same project), depth-first. A
// name that more than one descendant has is KindConflict naming the
// candidates; child selects one ("bridge" or "bridge/inner-bridge", bridge
// job names from pl down) and resolves name from there.
func (s *Service) InPipelineTree(ctx context.Context, pl *ci.Pipeline, name, artifact, child string) (*Choice, error) {
	t, ok := s.Store.(Tree)
	if !ok {
		if child != "" {
			return nil, ci.Errorf(ci.KindNotFound, "404 Child pipeline '%s' Not Found in pipeline %d", child, pl.ID)
		}
		return s.InPipeline(ctx, pl, name, artifact)
	}
	root := descendant{pipeline: pl}
	if child != "" {
		var err error
		if root, err = s.selectChild(ctx, t, pl, child); err != nil {
			return nil, err
		}
	}
	// The jobs read here are the ones chosen from: each pipeline's are
	// read once, which keeps a read of a pipeline that has the job at the
	// queries of InPipeline.
	jobs, arts, err := s.jobsNamed(ctx, root.pipeline.ID, name)
	if err != nil {
		return nil, err
	}
	if len(jobs) > 0 {
		return pickInPipeline(root.pipeline, name, artifact, jobs, arts)
	}
	type candidate struct {
		descendant
		jobs []*ci.Job
		arts []*ci.Artifact
	}
	var found []candidate
	var walk func(d descendant, depth int) error
	walk = func(d descendant, depth int) error {
		if depth > ci.MaxHierarchyDepth {
			return nil
		}
		kids, err := s.children(ctx, t, d.pipeline, d.path)
		if err != nil {
			return err
		}
		for _, k := range kids {
			jobs, arts, err := s.jobsNamed(ctx, k.pipeline.ID, name)
			if err != nil {
				return err
			}
			if len(jobs) > 0 {
				found = append(found, candidate{k, jobs, arts})
			}
			if err := walk(k, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root, 1); err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		if child != "" {
			return nil, ci.Errorf(ci.KindNotFound, "404 Job '%s' Not Found in child pipeline '%s' (pipeline %d) or its child pipelines", name, child, root.pipeline.ID)
		}
		return nil, ci.Errorf(ci.KindNotFound, "404 Job '%s' Not Found in pipeline %d or its child pipelines", name, pl.ID)
	case 1:
		return pickInPipeline(found[0].pipeline, name, artifact, found[0].jobs, found[0].arts)
	}
	var names []string
	for _, d := range found {
		sel := d.selector()
		if child != "" {
			sel = child + "/" + sel[len(strings.Join(root.path, "/"))+1:]
		}
		names = append(names, fmt.Sprintf("child=%s (pipeline %d)", sel, d.pipeline.ID))
	}
	return nil, ci.Errorf(ci.KindConflict, "409 Conflict - job '%s' is in %d child pipelines of pipeline %d: %s; choose one with ?child=",
		name, len(found), pl.ID, strings.Join(names, ", "))
}

// selectChild follows child, bridge job names separated by "/", down from pl.
func (s *Service) selectChild(ctx context.Context, t Tree, pl *ci.Pipeline, child string) (descendant, error) {
	parts := strings.Split(child, "/")
	if len(child) > MaxChildSelector || len(parts) > ci.MaxHierarchyDepth {
		return descendant{}, ci.Errorf(ci.KindInvalid, "400 Bad request - child must be at most %d bridge job names separated by '/' (%d bytes)", ci.MaxHierarchyDepth, MaxChildSelector)
	}
	d := descendant{pipeline: pl}
	for _, name := range parts {
		kids, err := s.children(ctx, t, d.pipeline, d.path)
		if err != nil {
			return descendant{}, err
		}
		i := slices.IndexFunc(kids, func(k descendant) bool { return k.path[len(k.path)-1] == name })
		if i < 0 {
			return descendant{}, ci.Errorf(ci.KindNotFound, "404 Child pipeline '%s' Not Found in pipeline %d: no bridge job '%s' created one", child, pl.ID, name)
		}
		d = kids[i]
	}
	return d, nil
}

// notifyUpstream wakes the waits of the pipelines above pipelineID too: a
// request for ?job=NAME on a parent waits for its children's archives.
func (s *Service) notifyUpstream(projectID, pipelineID int64) {
	t, ok := s.Store.(Tree)
	if !ok {
		return
	}
	ctx := context.Background()
	for range ci.MaxHierarchyDepth {
		l, err := t.LinkOf(ctx, pipelineID)
		if err != nil {
			return // not downstream (or unreadable: the waits re-check on their own)
		}
		if l.ParentProjectID != projectID {
			return
		}
		pipelineID = l.ParentPipelineID
		s.hub().Notify(projectID, pipelineID)
	}
}
