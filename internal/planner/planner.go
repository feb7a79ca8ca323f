// Package planner turns a push, an API call or a trigger into a pipeline: it
// reads the project's CI configuration at the commit, plans it with
// ciconfig, and hands the plan to the scheduler. An invalid configuration on
// push becomes a failed pipeline that carries its yaml_errors.
package planner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
)

// Commit is what the planner needs to know about a commit.
type Commit struct {
	SHA     string
	Title   string
	Message string
}

// Source reads a project's repository.
type Source interface {
	// ResolveRef returns the commit a branch or tag name points at, and
	// whether it is a tag. KindNotFound if the ref does not exist.
	ResolveRef(ctx context.Context, projectID int64, ref string) (c Commit, tag bool, err error)
	// ReadFile returns a file at a commit. KindNotFound if it is absent.
	ReadFile(ctx context.Context, projectID int64, sha, path string) ([]byte, error)
	// SetHEAD makes branch the repository's default branch.
	SetHEAD(ctx context.Context, projectID int64, branch string) error
}

// Creator stores a planned pipeline and starts it.
type Creator interface {
	CreatePipeline(ctx context.Context, p *ci.Pipeline, plan *ci.PipelinePlan) error
	// CancelRedundant cancels the older unfinished pipelines of p's branch
	// that p makes redundant, returning their ids.
	CancelRedundant(ctx context.Context, p *ci.Pipeline) ([]int64, error)
}

// Store is what the planner persists directly.
type Store interface {
	ci.PipelineStore
	ci.ProjectStore
	ci.NamespaceStore
}

// Planner creates pipelines. Its fields must be set before use.
type Planner struct {
	Source      Source
	Creator     Creator
	Store       Store
	ExternalURL string
	Limits      Limits
	Logger      *slog.Logger
	Now         func() time.Time
}

// CreatePipeline plans and creates a pipeline for an API or trigger request.
// An invalid or missing configuration is KindInvalid with GitLab's messages
// and creates nothing; an unknown ref is KindInvalid "Reference not found".
func (p *Planner) CreatePipeline(ctx context.Context, req ci.PipelineRequest) (*ci.Pipeline, error) {
	if err := p.Limits.checkRequestVariables(req.Variables); err != nil {
		return nil, err
	}
	c, tag, err := p.Source.ResolveRef(ctx, req.Project.ID, req.Ref)
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindInvalid, "Reference not found")
	}
	if err != nil {
		return nil, fmt.Errorf("resolving ref %q: %w", req.Ref, err)
	}
	pl := &ci.Pipeline{ProjectID: req.Project.ID, Ref: req.Ref, Tag: tag, SHA: c.SHA, BeforeSHA: zeroSHA,
		Source: req.Source, UserID: req.UserID, Variables: req.Variables, CommitTitle: c.Title}
	plan, err := p.plan(ctx, req.Project, pl, c)
	if err != nil {
		return nil, err
	}
	if err := p.Creator.CreatePipeline(ctx, pl, plan); err != nil {
		return nil, fmt.Errorf("creating pipeline: %w", err)
	}
	p.cancelRedundant(ctx, req.Project, pl)
	return pl, nil
}

// cancelRedundant auto-cancels the pipelines the new pipeline pl makes
// redundant, when the project has auto_cancel_pending_pipelines enabled.
// A failure is logged: the new pipeline exists either way.
func (p *Planner) cancelRedundant(ctx context.Context, proj *ci.Project, pl *ci.Pipeline) {
	if proj.AutoCancelDisabled {
		return
	}
	if _, err := p.Creator.CancelRedundant(ctx, pl); err != nil {
		p.Logger.Error("auto-canceling redundant pipelines", "project_id", proj.ID, "pipeline_id", pl.ID, "err", err)
	}
}

const zeroSHA = "0000000000000000000000000000000000000000"

// errMissingConfig is returned when the commit has no CI configuration file.
var errMissingConfig = ci.Errorf(ci.KindInvalid, "Missing CI config file")

// plan reads and plans the configuration for pl at commit c.
func (p *Planner) plan(ctx context.Context, proj *ci.Project, pl *ci.Pipeline, c Commit) (*ci.PipelinePlan, error) {
	path := proj.CIConfigPath
	if path == "" {
		path = ".gitlab-ci.yml"
	}
	content, err := p.Source.ReadFile(ctx, proj.ID, c.SHA, path)
	if ci.IsNotFound(err) {
		return nil, errMissingConfig
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", path, c.SHA, err)
	}
	vars, err := p.ruleVariables(ctx, proj, pl, c)
	if err != nil {
		return nil, err
	}
	plan, err := ciconfig.Plan(ciconfig.Input{
		Content:   content,
		Variables: vars,
		ReadFile: func(name string) ([]byte, error) {
			return p.Source.ReadFile(ctx, proj.ID, c.SHA, strings.TrimPrefix(name, "/"))
		},
	})
	if err != nil {
		return nil, err
	}
	if err := p.Limits.checkPlan(pl, plan); err != nil {
		return nil, err
	}
	// A job without a timeout of its own gets the project's (GitLab's
	// build_timeout), fixed when the pipeline is created; the runner's
	// maximum still caps it.
	for i := range plan.Jobs {
		if plan.Jobs[i].Timeout == 0 && proj.BuildTimeout > 0 {
			plan.Jobs[i].Timeout = proj.BuildTimeout
		}
	}
	return plan, nil
}

// ruleVariables are the variables rules and workflow:rules can see: the
// predefined ones known before the pipeline exists, then the request's.
func (p *Planner) ruleVariables(ctx context.Context, proj *ci.Project, pl *ci.Pipeline, c Commit) (map[string]string, error) {
	ns, err := p.Store.NamespaceByID(ctx, proj.NamespaceID)
	if err != nil {
		return nil, fmt.Errorf("loading namespace of project %d: %w", proj.ID, err)
	}
	v := map[string]string{
		"CI": "true", "GITLAB_CI": "true",
		"CI_SERVER_URL": p.ExternalURL, "CI_API_V4_URL": p.ExternalURL + "/api/v4",
		"CI_PROJECT_ID": strconv.FormatInt(proj.ID, 10), "CI_PROJECT_NAME": proj.Path,
		"CI_PROJECT_PATH": proj.FullPath, "CI_PROJECT_NAMESPACE": ns.FullPath,
		"CI_PROJECT_URL": p.ExternalURL + "/" + proj.FullPath, "CI_PROJECT_VISIBILITY": string(proj.Visibility),
		"CI_DEFAULT_BRANCH": proj.DefaultBranch, "CI_PIPELINE_SOURCE": pl.Source,
		"CI_COMMIT_SHA": c.SHA, "CI_COMMIT_SHORT_SHA": c.SHA[:min(8, len(c.SHA))], "CI_COMMIT_BEFORE_SHA": pl.BeforeSHA,
		"CI_COMMIT_REF_NAME": pl.Ref, "CI_COMMIT_REF_SLUG": ci.Slug(pl.Ref),
		"CI_COMMIT_MESSAGE": c.Message, "CI_COMMIT_TITLE": c.Title,
	}
	if pl.Tag {
		v["CI_COMMIT_TAG"] = pl.Ref
	} else {
		v["CI_COMMIT_BRANCH"] = pl.Ref
	}
	for _, pv := range pl.Variables {
		if !ci.Reserved(pv.Key) { // refused on request; never let one through
			v[pv.Key] = pv.Value
		}
	}
	return v, nil
}

// isNoPipeline reports whether err means "this push runs no pipeline" rather
// than "this configuration is broken".
func isNoPipeline(err error) bool {
	return errors.Is(err, ciconfig.ErrFilteredByWorkflow) || errors.Is(err, ciconfig.ErrNoJobs) || errors.Is(err, errMissingConfig)
}
