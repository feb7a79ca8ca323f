package runnerapi

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// dependencyJobs are the jobs whose artifacts j receives, GitLab's way:
// with needs, the needed jobs with artifacts:true; else with dependencies,
// the named jobs; else every job of an earlier stage. Only the latest
// attempt of each job counts. dependencies further narrows needs.
func (s *Server) dependencyJobs(ctx context.Context, j *ci.Job) ([]*ci.Job, error) {
	if j.Spec.HasNeeds && len(j.Spec.Needs) == 0 || j.Spec.HasDependencies && len(j.Spec.Dependencies) == 0 {
		return nil, nil
	}
	var want map[string]bool
	if j.Spec.HasNeeds {
		want = map[string]bool{}
		for _, n := range j.Spec.Needs {
			if n.Artifacts && !n.CrossPipeline() {
				want[n.Job] = true
			}
		}
	}
	if j.Spec.HasDependencies {
		named := map[string]bool{}
		for _, d := range j.Spec.Dependencies {
			if want == nil || want[d] {
				named[d] = true
			}
		}
		want = named
	}
	// Only the rows that can be dependencies, and only their scheduling
	// columns: a job request never reads every spec of a big pipeline.
	f := ci.JobFilter{PipelineID: j.PipelineID, Ascending: true, ScheduleOnly: true}
	if want != nil {
		if len(want) == 0 {
			return nil, nil
		}
		for name := range want {
			f.Names = append(f.Names, name)
		}
	}
	all, _, err := s.Store.ListJobs(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("listing jobs of pipeline %d: %w", j.PipelineID, err)
	}
	var out []*ci.Job
	for _, o := range all {
		if o.ID == j.ID || o.Retried {
			continue
		}
		if want != nil && want[o.Name] || want == nil && o.StageIdx < j.StageIdx {
			out = append(out, o)
		}
	}
	return out, nil
}

// dependencies builds the payload's dependencies and the dotenv variables
// the dependency jobs exported (later jobs win on repeated keys). Every
// dependency carries the running job's own token, which downloadArtifact
// accepts for any job of the same project.
func (s *Server) dependencies(ctx context.Context, j *ci.Job, pl *ci.Pipeline, token string) ([]jobDependency, []jobVariable, error) {
	deps, err := s.dependencyJobs(ctx, j)
	if err != nil {
		return []jobDependency{}, nil, err
	}
	upstream, err := s.upstreamNeeds(ctx, j, pl)
	if err != nil {
		return []jobDependency{}, nil, err
	}
	deps = append(upstream, deps...)
	if len(deps) == 0 {
		return []jobDependency{}, nil, nil
	}
	ids := make([]int64, len(deps))
	for i, d := range deps {
		ids[i] = d.ID
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, ids)
	if err != nil {
		return nil, nil, fmt.Errorf("listing artifacts of dependencies: %w", err)
	}
	archive := map[int64]*ci.Artifact{}
	dotenv := map[int64]*ci.Artifact{}
	for _, a := range arts {
		switch {
		case a.FileType == ci.FileTypeArchive:
			archive[a.JobID] = a
		case a.FileType == ci.FileTypeDotenv:
			dotenv[a.JobID] = a
		}
	}
	out := make([]jobDependency, 0, len(deps))
	var vars []jobVariable
	for _, d := range deps {
		dep := jobDependency{ID: d.ID, Name: d.Name, Token: token}
		if a := archive[d.ID]; a != nil {
			dep.ArtifactsFile = &dependencyArchive{Filename: a.Filename, Size: a.Size}
		}
		out = append(out, dep)
		if a := dotenv[d.ID]; a != nil {
			vs, err := s.readDotenv(ctx, a)
			if err != nil {
				// A stored dotenv was validated on upload; a failure here is
				// the blob store's and must not lose the whole job.
				s.logger().WarnContext(ctx, "reading dotenv report", "job_id", j.ID, "artifact_id", a.ID, "err", err)
				continue
			}
			for _, v := range vs {
				vars = append(vars, jobVariable{Key: v.Key, Value: v.Value})
			}
		}
	}
	return out, vars, nil
}
