package web

import (
	"context"
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// pipelineRef links the graph to another pipeline: the one a bridge
// created, or the one whose bridge created this one.
type pipelineRef struct {
	ID     int64
	Status ci.Status
	URL    string
	Via    string // the bridge job's name (upstream links)
}

// pipelineLinks finds, for the pipeline page, the pipeline each bridge job
// of jobs created and the pipeline that created pl. A pipeline of another
// project the caller may not read is left out, as if it did not exist.
func (s *Server) pipelineLinks(c *req, pl *ci.Pipeline, jobs []*ci.Job) (map[int64]*pipelineRef, *pipelineRef, error) {
	ctx := c.r.Context()
	var ids []int64
	for _, j := range jobs {
		if j.Bridge() {
			ids = append(ids, j.ID)
		}
	}
	down := map[int64]*pipelineRef{}
	links, err := s.Store.LinksOfJobs(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	for _, l := range links {
		if ref := s.pipelineRef(ctx, c, l.PipelineID); ref != nil {
			down[l.ParentJobID] = ref
		}
	}
	var up *pipelineRef
	if l, err := s.Store.LinkOf(ctx, pl.ID); err == nil {
		if up = s.pipelineRef(ctx, c, l.ParentPipelineID); up != nil {
			if b, err := s.Store.JobByID(ctx, l.ParentJobID); err == nil {
				up.Via = b.Name
			}
		}
	} else if !ci.IsNotFound(err) {
		return nil, nil, err
	}
	return down, up, nil
}

// pipelineRef is a link to pipeline id, nil if it is gone or not readable.
func (s *Server) pipelineRef(ctx context.Context, c *req, id int64) *pipelineRef {
	p, err := s.Store.PipelineByID(ctx, id)
	if err != nil {
		return nil
	}
	proj := c.proj
	if p.ProjectID != proj.ID {
		if proj, err = s.Store.ProjectByID(ctx, p.ProjectID); err != nil {
			return nil
		}
		if s.Policy.Project(ctx, c.p, policy.ReadPipeline, proj) != nil {
			return nil
		}
	}
	return &pipelineRef{ID: p.ID, Status: p.Status, URL: "/" + proj.FullPath + "/-/pipelines/" + strconv.FormatInt(p.ID, 10)}
}
