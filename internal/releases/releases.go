// Package releases honours the release: keyword: when the script of a job
// with one succeeds, the release it describes (its fields expanded with
// the job's variables) is created with its asset links before the job is
// marked successful, or the job fails. Asset links may point at
// Baton's pipeline-scoped artifact routes, so that a release's downloads
// are the pipeline's artifacts.
package releases

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Store is what the service reads and writes (store.DB).
type Store interface {
	ci.ReleaseStore
	ProjectByID(ctx context.Context, id int64) (*ci.Project, error)
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	PipelineSpec(ctx context.Context, pipelineID int64) (*ci.PipelineSpec, error)
	UserByID(ctx context.Context, id int64) (*ci.User, error)
}

// Code resolves tags and refs to commits (gitserve.Repos).
type Code interface {
	Tag(ctx context.Context, projectID int64, name string) (*ci.GitTag, error)
	GitCommit(ctx context.Context, projectID int64, rev string) (*ci.GitCommit, error)
}

// Service creates the releases of successful release: jobs.
type Service struct {
	Store     Store
	Code      Code
	ServerURL string // Baton's external URL, for the predefined variables
	MaxLinks  int    // asset links of one release (default 50)
	Logger    *slog.Logger
}

func (s *Service) log() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

// MaxLinksPerRelease is the bound on a release's asset links.
func (s *Service) MaxLinksPerRelease() int {
	if s.MaxLinks <= 0 {
		return 50
	}
	return s.MaxLinks
}

// CreateFromJob creates the release of j's release: keyword (the runner
// API calls it when the job's script succeeded, before the job is marked
// successful). A release of that tag that exists already is KindConflict,
// an invalid field or link KindInvalid: the job fails, as release-cli's
// step would fail it in GitLab.
func (s *Service) CreateFromJob(ctx context.Context, j *ci.Job) (*ci.Release, error) {
	if j.Spec.Release == nil {
		return nil, ci.Errorf(ci.KindInvalid, "the job has no release")
	}
	r, err := s.FromJob(ctx, j)
	if err != nil {
		return nil, err
	}
	if err := s.Store.CreateRelease(ctx, r, s.MaxLinksPerRelease()); err != nil {
		// The runner sending its success again (the first answer was
		// lost) finds the release this very job created: that is success.
		if ci.IsConflict(err) {
			if had, herr := s.Store.ReleaseByTag(ctx, r.ProjectID, r.TagName); herr == nil && had.JobID == j.ID {
				return had, nil
			}
		}
		return nil, err
	}
	return r, nil
}

// FromJob builds the release of j's release: keyword with the job's
// variables expanded, as the release-cli step of a GitLab runner would
// see them: predefined (those of the job, its token and runner aside),
// YAML (global and the job's) and pipeline variables.
func (s *Service) FromJob(ctx context.Context, j *ci.Job) (*ci.Release, error) {
	proj, err := s.Store.ProjectByID(ctx, j.ProjectID)
	if err != nil {
		return nil, err
	}
	pl, err := s.Store.PipelineByID(ctx, j.PipelineID)
	if err != nil {
		return nil, err
	}
	spec, err := s.Store.PipelineSpec(ctx, pl.ID)
	if err != nil {
		return nil, err
	}
	var user *ci.User
	if j.UserID != 0 {
		user, _ = s.Store.UserByID(ctx, j.UserID)
	}
	vars := ci.JobVariables(ci.VariableLayers{
		Predefined: ci.PredefinedVariables(ci.Predefined{ServerURL: s.ServerURL, Project: proj, Pipeline: pl, Commit: spec.Commit,
			User: user, Job: &ci.JobRun{Job: j, Runner: &ci.Runner{}}}),
		YAMLJob:  j.Spec.EffectiveVariables(spec.Variables),
		Pipeline: pl.Variables,
	})
	env := map[string]string{}
	for _, v := range vars {
		if v.Key == "CI_JOB_TOKEN" || v.Key == "CI_REPOSITORY_URL" || v.File {
			continue // never into a release anyone may read
		}
		env[v.Key] = v.Value
	}
	expand := func(s string) string { return os.Expand(s, func(k string) string { return env[k] }) }
	rs := j.Spec.Release
	r := &ci.Release{ProjectID: j.ProjectID, TagName: expand(rs.TagName), Name: expand(rs.Name),
		Description: expand(rs.Description), AuthorID: j.UserID, JobID: j.ID}
	if r.Name == "" {
		r.Name = r.TagName
	}
	if err := ValidateRelease(r); err != nil {
		return nil, err
	}
	if at := expand(rs.ReleasedAt); at != "" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, ci.Errorf(ci.KindInvalid, "released_at %q is not an RFC 3339 time", at)
		}
		r.ReleasedAt = t
	}
	ref := expand(rs.Ref)
	if ref == "" {
		ref = pl.SHA
	}
	if r.SHA, err = s.Resolve(ctx, j.ProjectID, r.TagName, ref); err != nil {
		return nil, err
	}
	for _, l := range rs.Links {
		link := &ci.ReleaseLink{Name: expand(l.Name), URL: expand(l.URL), LinkType: l.LinkType, Filepath: expand(l.Filepath)}
		if err := ci.ValidateLink(link); err != nil {
			return nil, fmt.Errorf("link %q: %w", link.Name, err)
		}
		r.Links = append(r.Links, link)
	}
	return r, nil
}

// ValidateRelease checks a release's tag and name; KindInvalid says which.
func ValidateRelease(r *ci.Release) error {
	switch {
	case r.TagName == "" || len(r.TagName) > ci.MaxReleaseName || strings.ContainsAny(r.TagName, " \n\r\t~^:?*[\\") ||
		strings.Contains(r.TagName, ".."):
		return ci.Errorf(ci.KindInvalid, "400 Bad request - tag_name is missing or not a valid tag name")
	case len(r.Name) > ci.MaxReleaseName || strings.ContainsAny(r.Name, "\n\r"):
		return ci.Errorf(ci.KindInvalid, "400 Bad request - name is too long (maximum is %d characters)", ci.MaxReleaseName)
	}
	return nil
}

// Resolve is the commit a release of tag points at: the tag's, if the
// repository has it, else ref's (Baton does not create the tag).
// KindInvalid when neither resolves.
func (s *Service) Resolve(ctx context.Context, projectID int64, tag, ref string) (string, error) {
	if t, err := s.Code.Tag(ctx, projectID, tag); err == nil && t.Commit != nil {
		return t.Commit.SHA, nil
	} else if err != nil && !ci.IsNotFound(err) {
		return "", err
	}
	if ref == "" {
		return "", ci.Errorf(ci.KindInvalid, "400 Bad request - Ref is not specified: tag %s does not exist", tag)
	}
	c, err := s.Code.GitCommit(ctx, projectID, ref)
	if ci.IsNotFound(err) || ci.KindOf(err) == ci.KindInvalid {
		return "", ci.Errorf(ci.KindInvalid, "400 Bad request - Ref %s does not exist", ref)
	}
	if err != nil {
		return "", err
	}
	return c.SHA, nil
}
