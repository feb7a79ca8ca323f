package api

import (
	"net/http"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

// bridgeEntity is GitLab's bridge: a job entity with the pipeline it
// created.
type bridgeEntity struct {
	jobEntity
	DownstreamPipeline *pipelineBasic `json:"downstream_pipeline"`
}

// listPipelineBridges is GET /projects/:id/pipelines/:pipeline_id/bridges:
// the pipeline's trigger jobs, each with its downstream pipeline, which is
// null until created and for a pipeline of a project the caller may not
// read (as for one that does not exist).
func (s *Server) listPipelineBridges(w http.ResponseWriter, r *http.Request) error {
	proj, pl, viewer, err := s.pipelineFor(r)
	if err != nil {
		return err
	}
	f := ci.JobFilter{ProjectID: proj.ID, PipelineID: pl.ID, Kind: ci.JobKindBridges}
	return s.listJobsAs(w, r, proj, f, func(jobs []*ci.Job, es []jobEntity) (any, error) {
		ids := make([]int64, len(jobs))
		for i, j := range jobs {
			ids[i] = j.ID
		}
		links, err := s.Store.LinksOfJobs(r.Context(), ids)
		if err != nil {
			return nil, err
		}
		byJob := map[int64]*ci.PipelineLink{}
		for _, l := range links {
			byJob[l.ParentJobID] = l
		}
		out := make([]bridgeEntity, len(es))
		for i, e := range es {
			out[i].jobEntity = e
			l := byJob[jobs[i].ID]
			if l == nil {
				continue
			}
			down, err := s.Store.PipelineByID(r.Context(), l.PipelineID)
			if ci.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			dproj := proj
			if down.ProjectID != proj.ID {
				if dproj, err = s.Store.ProjectByID(r.Context(), down.ProjectID); err != nil {
					continue
				}
				if s.Policy.Project(r.Context(), viewer, policy.ReadPipeline, dproj) != nil {
					continue
				}
			}
			b := s.pipelineBasic(down, dproj)
			out[i].DownstreamPipeline = &b
		}
		return out, nil
	})
}
