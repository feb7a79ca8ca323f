package runnerapi

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
)

var needVarRe = regexp.MustCompile(`^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$`)

// upstreamNeeds are the jobs j's needs:pipeline:job entries name, with
// artifacts: the latest attempt of the named job in the named pipeline,
// which must be an upstream pipeline of j's own in its project (GitLab:
// a child fetching its parent's artifacts). The pipeline is a number or
// one variable ($PARENT_PIPELINE_ID), looked up in the pipeline's and the
// job's own variables. As GitLab's Ci::BuildDependencies, the named job
// must exist and have succeeded; an entry that resolves to nothing is a
// *missingDependency (the job fails with missing_dependency_failure),
// except an optional one whose job is absent from a valid upstream
// pipeline.
func (s *Server) upstreamNeeds(ctx context.Context, j *ci.Job, pl *ci.Pipeline) ([]*ci.Job, error) {
	var out []*ci.Job
	var ancestors map[int64]bool
	var env map[string]string
	for _, n := range j.Spec.Needs {
		if !n.CrossPipeline() || !n.Artifacts {
			continue
		}
		if env == nil {
			env = needEnv(j, pl)
		}
		if n.Project != "" {
			dep, err := s.projectNeed(ctx, j, n, env)
			if err != nil {
				return nil, err
			}
			if dep != nil {
				out = append(out, dep)
			}
			continue
		}
		raw := n.Pipeline
		if m := needVarRe.FindStringSubmatch(raw); m != nil {
			v, ok := env[m[1]+m[2]]
			if !ok {
				return nil, missingf("needs:pipeline %q names an unset variable", raw)
			}
			raw = v
		}
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, missingf("needs:pipeline %q is not a pipeline id", raw)
		}
		if ancestors == nil {
			if ancestors, err = s.upstreamOf(ctx, pl); err != nil {
				return nil, err
			}
		}
		if !ancestors[id] {
			return nil, missingf("needs:pipeline names pipeline %d, which is not upstream of this job's pipeline", id)
		}
		jobs, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: id, Name: n.Job, Page: ci.Page{Page: 1, PerPage: 1}, ScheduleOnly: true})
		if err != nil {
			return nil, fmt.Errorf("listing jobs of pipeline %d: %w", id, err)
		}
		if len(jobs) == 0 {
			if n.Optional {
				continue
			}
			return nil, missingf("needs:pipeline: pipeline %d has no job %q", id, n.Job)
		}
		if jobs[0].Status != ci.StatusSuccess {
			return nil, missingf("needs:pipeline: job %q of pipeline %d is %s, not successful", n.Job, id, jobs[0].Status)
		}
		out = append(out, jobs[0])
	}
	return out, nil
}

// upstreamOf is the set of pipelines above pl in its project.
func (s *Server) upstreamOf(ctx context.Context, pl *ci.Pipeline) (map[int64]bool, error) {
	out := map[int64]bool{}
	id := pl.ID
	for range ci.MaxHierarchyDepth {
		l, err := s.Store.LinkOf(ctx, id)
		if ci.IsNotFound(err) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("finding the upstream of pipeline %d: %w", id, err)
		}
		if l.ParentProjectID != pl.ProjectID {
			break
		}
		out[l.ParentPipelineID] = true
		id = l.ParentPipelineID
	}
	return out, nil
}

// needEnv is what a cross-pipeline need's variables expand with: the
// job's own variables, then its pipeline's (which win), and the
// predefined ones that name the pipeline and its ref, which nobody may
// override (ci.Reserved).
func needEnv(j *ci.Job, pl *ci.Pipeline) map[string]string {
	env := map[string]string{}
	for _, vs := range [][]ci.Variable{j.Spec.Variables, pl.Variables} {
		for _, v := range vs {
			env[v.Key] = v.Value
		}
	}
	env["CI_COMMIT_REF_NAME"], env["CI_PIPELINE_ID"] = pl.Ref, strconv.FormatInt(pl.ID, 10)
	if !pl.Tag {
		env["CI_COMMIT_BRANCH"] = pl.Ref
	}
	return env
}

// projectNeed is the job a needs:project entry names: job n.Job of the
// latest successful pipeline of project n.Project on ref n.Ref (expanded
// with env), if the job's token may read that project's artifacts
// (internal/policy: its own project, or one whose job-token allow-list
// admits it). Otherwise a *missingDependency.
func (s *Server) projectNeed(ctx context.Context, j *ci.Job, n ci.Need, env map[string]string) (*ci.Job, error) {
	path, ref := ci.ExpandExisting(n.Project, env), ci.ExpandExisting(n.Ref, env)
	target, err := s.Store.ProjectByFullPath(ctx, path)
	if ci.IsNotFound(err) {
		return nil, missingf("needs:project: project %q could not be found or may not be read by this job", path)
	}
	if err != nil {
		return nil, fmt.Errorf("loading project %q: %w", path, err)
	}
	if s.Policy == nil || s.Policy.Project(ctx, &auth.Principal{Job: j}, policy.ReadArtifact, target) != nil {
		// Answered exactly as for an absent project.
		return nil, missingf("needs:project: project %q could not be found or may not be read by this job", path)
	}
	c, err := s.Artifacts.OnRef(ctx, target, ref, n.Job, "", false)
	if ci.IsNotFound(err) {
		return nil, missingf("needs:project: no artifacts of job %q in the latest successful pipeline of %q for ref %q", n.Job, path, ref)
	}
	if err != nil {
		return nil, err
	}
	return c.Job, nil
}

// missingDependency is a needs:pipeline:job or needs:project entry that
// resolves to nothing: GitLab fails the job with missing_dependency_failure
// instead of running it without the artifacts.
type missingDependency struct{ msg string }

func (e *missingDependency) Error() string { return e.msg }

func missingf(format string, args ...any) error {
	return &missingDependency{msg: fmt.Sprintf(format, args...)}
}
