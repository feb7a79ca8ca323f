package artifacts

import (
	"context"
	"fmt"
	"regexp"

	"github.com/batonci/baton/internal/ci"
)

// Choice is the job whose archive a request asked for, with that archive
// (or the published artifact it named) and its pipeline.
type Choice struct {
	Job      *ci.Job
	Archive  *ci.Artifact
	Pipeline *ci.Pipeline // nil when chosen by job id
	// Shards are the instances of a parallel job, in order, when the
	// request merges them (merge=parallel); Job and Archive are the first's.
	Shards []*Choice
}

// ArchiveOf returns the job's archive among arts, or nil. An expired
// archive is served until the reaper deletes it, which it never does for
// the latest successful pipeline of a ref (--keep-latest-artifacts), so
// one rule decides what survives its expiry: the reaper's.
func ArchiveOf(arts []*ci.Artifact, jobID int64) *ci.Artifact {
	for _, a := range arts {
		if a.JobID == jobID && a.FileType == ci.FileTypeArchive {
			return a
		}
	}
	return nil
}

// Pick returns the job's archive among arts when name is "", else its
// published artifact of that name; nil when it has none.
func Pick(arts []*ci.Artifact, jobID int64, name string) *ci.Artifact {
	if name == "" {
		return ArchiveOf(arts, jobID)
	}
	for _, a := range arts {
		if a.JobID == jobID && a.FileType == ci.FileTypePublished && a.Name == name {
			return a
		}
	}
	return nil
}

// what names the artifact asked for in errors.
func what(name string) string {
	if name == "" {
		return "artifacts"
	}
	return fmt.Sprintf("a published artifact %q", name)
}

// jobsNamed returns every attempt of the jobs named name in a pipeline,
// newest first, with their artifacts.
func (s *Service) jobsNamed(ctx context.Context, pipelineID int64, name string) ([]*ci.Job, []*ci.Artifact, error) {
	jobs, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: pipelineID, Name: name, IncludeRetried: true})
	if err != nil || len(jobs) == 0 {
		return nil, nil, err
	}
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, ids)
	return jobs, arts, err
}

// InPipeline chooses, among the jobs named name in pipeline pl (original and
// retries), the most recent attempt that has an archive (artifact "") or
// the published artifact named artifact.
func (s *Service) InPipeline(ctx context.Context, pl *ci.Pipeline, name, artifact string) (*Choice, error) {
	jobs, arts, err := s.jobsNamed(ctx, pl.ID, name)
	if err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return nil, ci.Errorf(ci.KindNotFound, "404 Job '%s' Not Found in pipeline %d", name, pl.ID)
	}
	return pickInPipeline(pl, name, artifact, jobs, arts)
}

// pickInPipeline is InPipeline on the jobs named name in pl (at least one)
// and their artifacts, already read by jobsNamed.
func pickInPipeline(pl *ci.Pipeline, name, artifact string, jobs []*ci.Job, arts []*ci.Artifact) (*Choice, error) {
	for _, j := range jobs {
		if a := Pick(arts, j.ID, artifact); a != nil {
			return &Choice{Job: j, Archive: a, Pipeline: pl}, nil
		}
	}
	return nil, noArchiveYet(fmt.Sprintf("job '%s' in pipeline %d", name, pl.ID), artifact, jobs[0])
}

var shaRe = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// InCommit chooses from the newest pipelines whose sha matches (full or a
// unique prefix of at least 7): a successful job with an archive if any
// pipeline has one, else the newest attempt with an archive.
func (s *Service) InCommit(ctx context.Context, proj *ci.Project, sha, name, artifact string) (*Choice, error) {
	if !shaRe.MatchString(sha) {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - sha %q must be a commit sha or a prefix of at least 7 hex characters", sha)
	}
	pls, _, err := s.Store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: proj.ID, SHA: sha, Page: ci.Page{Page: 1, PerPage: 100}})
	if err != nil {
		return nil, err
	}
	if len(pls) == 0 {
		return nil, ci.Errorf(ci.KindNotFound, "404 Commit '%s' Not Found: no pipeline of project %s ran it", sha, proj.FullPath)
	}
	for _, pl := range pls[1:] {
		if pl.SHA != pls[0].SHA {
			return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - sha prefix %q is ambiguous (%s, %s)", sha, shortSHA(pls[0].SHA), shortSHA(pl.SHA))
		}
	}
	var fallback *Choice
	var newest *ci.Job
	for _, pl := range pls {
		jobs, arts, err := s.jobsNamed(ctx, pl.ID, name)
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			if newest == nil {
				newest = j
			}
			a := Pick(arts, j.ID, artifact)
			if a == nil {
				continue
			}
			if j.Status == ci.StatusSuccess {
				return &Choice{Job: j, Archive: a, Pipeline: pl}, nil
			}
			if fallback == nil {
				fallback = &Choice{Job: j, Archive: a, Pipeline: pl}
			}
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	if newest == nil {
		return nil, ci.Errorf(ci.KindNotFound, "404 Job '%s' Not Found in the pipelines of commit %s", name, shortSHA(pls[0].SHA))
	}
	return nil, noArchiveYet(fmt.Sprintf("job '%s' of commit %s", name, shortSHA(pls[0].SHA)), artifact, newest)
}

// OnRef chooses as GitLab does: the job named name (not retried) with an
// archive in the latest successful pipeline for ref, or with searchRecent,
// the newest such job among the 100 latest successful pipelines.
func (s *Service) OnRef(ctx context.Context, proj *ci.Project, ref, name, artifact string, searchRecent bool) (*Choice, error) {
	limit := 1
	if searchRecent {
		limit = 100
	}
	pls, _, err := s.Store.ListPipelines(ctx, ci.PipelineFilter{ProjectID: proj.ID, Ref: ref, Statuses: []ci.Status{ci.StatusSuccess},
		Page: ci.Page{Page: 1, PerPage: limit}})
	if err != nil {
		return nil, err
	}
	if len(pls) == 0 {
		return nil, ci.Errorf(ci.KindNotFound, "404 Not found: no successful pipeline for ref '%s'", ref)
	}
	for _, pl := range pls {
		jobs, arts, err := s.jobsNamed(ctx, pl.ID, name)
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			if j.Retried {
				continue
			}
			if a := Pick(arts, j.ID, artifact); a != nil {
				return &Choice{Job: j, Archive: a, Pipeline: pl}, nil
			}
		}
	}
	return nil, ci.Errorf(ci.KindNotFound, "404 Job '%s' Not Found with %s in the latest successful pipeline for ref '%s'", name, what(artifact), ref)
}

// OfJob returns the archive of one job, or its published artifact named
// artifact.
func (s *Service) OfJob(ctx context.Context, j *ci.Job, artifact string) (*Choice, error) {
	arts, err := s.Store.ArtifactsOfJobs(ctx, []int64{j.ID})
	if err != nil {
		return nil, err
	}
	return OfJobRows(j, arts, artifact)
}

// OfJobRows is OfJob on a job and its artifacts already read (as
// JobWithArtifacts reads them in one query).
func OfJobRows(j *ci.Job, arts []*ci.Artifact, artifact string) (*Choice, error) {
	a := Pick(arts, j.ID, artifact)
	if a == nil {
		return nil, noArchiveYet(fmt.Sprintf("job %d", j.ID), artifact, j)
	}
	return &Choice{Job: j, Archive: a}, nil // the pipeline is not needed to serve it
}

func shortSHA(sha string) string {
	if len(sha) > 8 {
		return sha[:8]
	}
	return sha
}
