package policy

import (
	"context"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// errTokenAbsent is every answer an artifact token gets for what it may
// not read: the same as for what does not exist.
var errTokenAbsent = ci.Errorf(ci.KindNotFound, "404 Not Found")

// TokenAbsent is the answer an artifact token gets for anything it may not
// read, and for anything missing: one status and body for both.
func TokenAbsent() error { return errTokenAbsent }

// MintArtifactToken decides whether who may mint an artifact token for
// pipelineID of proj: only a running job, with its own job token, for its
// own pipeline (route marker OwnJobToken). Users, other jobs of the project
// and allow-listed projects' jobs may not.
//
// A caller who cannot see proj gets the answer a missing project gets.
func (p *Policy) MintArtifactToken(ctx context.Context, who *auth.Principal, proj *ci.Project, pipelineID int64) error {
	if who == nil || who.Job == nil {
		if err := p.Project(ctx, who, ReadProject, proj); err != nil {
			return err
		}
	}
	switch {
	case who == nil:
		return errUnauthorized
	case who.Job == nil:
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: artifact tokens are minted by a running job with its own CI_JOB_TOKEN")
	case who.Job.ProjectID != proj.ID:
		return errProjectNotFound
	case who.Job.PipelineID != pipelineID:
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: a job mints artifact tokens for its own pipeline only")
	case !who.Job.Status.Active():
		return errUnauthorized
	}
	return nil
}

// ArtifactTokenProject decides whether an artifact token reads anything in
// proj: its own project only. Anything else is TokenAbsent.
func ArtifactTokenProject(tok *ci.ArtifactToken, proj *ci.Project) error {
	if tok == nil || proj == nil || tok.ProjectID != proj.ID {
		return errTokenAbsent
	}
	return nil
}

// ArtifactTokenJobName decides whether an artifact token may ask for the
// job named name (a ?job= parameter) before anything is chosen.
func ArtifactTokenJobName(tok *ci.ArtifactToken, name string) error {
	if name != "" && !tok.GrantsJob(name) {
		return errTokenAbsent
	}
	return nil
}

// ArtifactTokenReads decides whether an artifact token reads the artifact
// named artifact ("" for the job's archive) of job: a job of the token's
// pipeline that the token names, and an artifact it names (any when it
// names none). Anything else is TokenAbsent.
func ArtifactTokenReads(tok *ci.ArtifactToken, job *ci.Job, artifact string) error {
	if tok == nil || job == nil || job.ProjectID != tok.ProjectID || job.PipelineID != tok.PipelineID ||
		!tok.GrantsJob(job.Name) || !tok.GrantsArtifact(artifact) {
		return errTokenAbsent
	}
	return nil
}
