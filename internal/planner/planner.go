// Package planner creates pipelines: one entry point, Create, for every
// source (a push's updated refs, the API, triggers). Creating is three
// steps: Plan (the project's CI configuration at the commit, read and
// planned by ciconfig against the predefined variables), Persist (the
// pipeline and its created jobs, one store transaction) and Schedule (the
// scheduler moves the jobs whose turn has come to pending). An invalid
// configuration on push becomes a failed pipeline that carries its
// yaml_errors; elsewhere it is the caller's KindInvalid error.
package planner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
)

// Source reads a project's repository.
type Source interface {
	// ResolveRef returns the commit a branch or tag name (or a full
	// refs/heads/ or refs/tags/ name) points at, and whether it is a tag.
	// KindNotFound if the ref does not exist.
	ResolveRef(ctx context.Context, projectID int64, ref string) (c ci.Commit, tag bool, err error)
	// ReadFile returns a file at a commit. KindNotFound if it is absent.
	ReadFile(ctx context.Context, projectID int64, sha, path string) ([]byte, error)
	// BlobID returns the git object id of a file at a commit, whatever its
	// size. KindNotFound if it is absent or not a file.
	BlobID(ctx context.Context, projectID int64, sha, path string) (string, error)
	// SetHEAD makes branch the repository's default branch.
	SetHEAD(ctx context.Context, projectID int64, branch string) error
	// ChangedPaths lists the paths that differ between two commits (from
	// their merge base with mergeBase), at most max: complete is false
	// when there were more. KindNotFound for an unknown revision.
	ChangedPaths(ctx context.Context, projectID int64, from, to string, mergeBase bool, max int) (paths []string, complete bool, err error)
	// ListPaths lists the file paths of the tree at rev, at most max.
	ListPaths(ctx context.Context, projectID int64, rev string, max int) (paths []string, complete bool, err error)
}

// CommitSource reads one commit by its sha; a Source that is one plans
// child pipelines at their parent's commit rather than the ref's current one.
type CommitSource interface {
	Commit(ctx context.Context, projectID int64, sha string) (ci.Commit, error)
}

// Store is what the planner reads and writes.
type Store interface {
	// CreatePipeline persists a pipeline and its jobs in one transaction.
	CreatePipeline(ctx context.Context, p *ci.Pipeline, jobs []*ci.Job) error
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	UserByID(ctx context.Context, id int64) (*ci.User, error)
	UpdateProject(ctx context.Context, p *ci.Project) error
	// ListProtectedRefs lists the project's protected branches and tags.
	ListProtectedRefs(ctx context.Context, projectID int64) ([]*ci.ProtectedRef, error)
}

// Variables resolves the CI/CD variables a project's pipelines may get
// (variables.Service).
type Variables interface {
	ForProject(ctx context.Context, proj *ci.Project) (ci.ScopedVariables, error)
}

// Scheduler starts a persisted pipeline and cancels the ones it makes
// redundant (scheduler.Scheduler).
type Scheduler interface {
	Advance(ctx context.Context, pipelineID int64) error
	// CancelRedundant cancels the older unfinished pipelines of p's branch
	// that p makes redundant, returning their ids.
	CancelRedundant(ctx context.Context, p *ci.Pipeline) ([]int64, error)
}

// Policy decides whether the user a pipeline runs for may give it
// variables: the project's ci_pipeline_variables_minimum_override_role
// (policy.Policy).
type Policy interface {
	PipelineVariables(ctx context.Context, who *auth.Principal, proj *ci.Project) error
}

// Options configure a Planner. Zero values take the defaults.
type Options struct {
	ExternalURL string // CI_SERVER_URL
	Version     string // Baton's build version, CI_SERVER_REVISION
	Limits      Limits
	Includes    *Includes // nil: only include:local
	// Variables gives rules the project's CI/CD variables; nil: none.
	Variables Variables
	Logger    *slog.Logger     // default slog.Default()
	Now       func() time.Time // default time.Now, in UTC
	// DefaultBranchCreated, if set, hears of a project's new default
	// branch (set by its first push) before that push's pipeline is
	// created: it may protect the branch (GitLab's default branch
	// protection).
	DefaultBranchCreated func(ctx context.Context, proj *ci.Project, branch string)
}

// Planner creates pipelines.
type Planner struct {
	source Source
	store  Store
	sched  Scheduler
	policy Policy
	opts   Options
	log    *slog.Logger
}

// New returns a Planner reading repositories from source, persisting to
// store, starting pipelines with sched and asking policy who may give
// pipelines variables.
func New(source Source, store Store, sched Scheduler, policy Policy, opts Options) *Planner {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return time.Now().UTC() }
	}
	return &Planner{source: source, store: store, sched: sched, policy: policy, opts: opts, log: opts.Logger}
}

// errSkipCI is Create's answer to a push whose head commit asks to skip CI.
var errSkipCI = ci.Errorf(ci.KindInvalid, "the commit message asks to skip CI")

// Create plans, persists and schedules a pipeline for req, the one path
// every source takes. The ref is the one's current commit; a full ref name
// (refs/heads/x, refs/tags/x) is recorded by its short name, as GitLab does.
//
// On push, a commit asking to skip CI ([skip ci]), a missing configuration
// or rules that leave nothing to run create nothing (a KindInvalid error,
// see IsNoPipeline), and an invalid configuration creates a failed
// pipeline carrying its yaml_errors. Elsewhere every invalid or missing
// configuration is KindInvalid with GitLab's messages and creates nothing;
// an unknown ref is KindInvalid "Reference not found".
//
// Variables in req need the project's minimum role of the user the
// pipeline runs for (KindForbidden otherwise), whatever the source. A
// pipeline created with its jobs cancels the older ones of its branch it
// makes redundant unless the project turned auto-cancel off.
func (p *Planner) Create(ctx context.Context, req ci.PipelineRequest) (*ci.Pipeline, error) {
	push := req.Source == ci.SourcePush
	if err := p.variablesAllowed(ctx, req); err != nil {
		return nil, err
	}
	if err := p.opts.Limits.checkRequestVariables(req.Variables); err != nil {
		return nil, err
	}
	if err := p.opts.Limits.checkRequestInputs(req.Inputs); err != nil {
		return nil, err
	}
	c, tag, err := p.source.ResolveRef(ctx, req.Project.ID, req.Ref)
	if ci.IsNotFound(err) && !push {
		return nil, ci.Errorf(ci.KindInvalid, "Reference not found")
	}
	if err != nil {
		return nil, fmt.Errorf("resolving ref %q: %w", req.Ref, err)
	}
	if cs, ok := p.source.(CommitSource); ok && req.Parent != nil && req.SHA != "" && c.SHA != req.SHA {
		// A child pipeline runs the commit its parent runs.
		if c, err = cs.Commit(ctx, req.Project.ID, req.SHA); err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", req.SHA, err)
		}
	}
	if req.SHA != "" && c.SHA != req.SHA {
		p.log.InfoContext(ctx, "ref moved on since the push; planning its current commit",
			"project_id", req.Project.ID, "ref", req.Ref, "sha", req.SHA, "current_sha", c.SHA)
	}
	if push && SkipCI(c.Message) {
		return nil, errSkipCI
	}
	c.Message = p.opts.Limits.clip(c.Message)
	ref := strings.TrimPrefix(strings.TrimPrefix(req.Ref, "refs/heads/"), "refs/tags/")
	// CreatedAt is fixed now, at the microseconds both engines store, so
	// that rules see the CI_PIPELINE_CREATED_AT jobs get (both format it to
	// the second). Truncating it to the second would make pipelines of one
	// second look simultaneous to created_before/created_after filters.
	pl := &ci.Pipeline{ProjectID: req.Project.ID, Ref: ref, Tag: tag, SHA: c.SHA, BeforeSHA: cmp.Or(req.BeforeSHA, ci.ZeroSHA),
		Source: req.Source, UserID: req.UserID, Variables: req.Variables, CommitTitle: c.Title, Parent: req.Parent,
		CreatedAt: p.opts.Now().Truncate(time.Microsecond)}
	rules, err := p.store.ListProtectedRefs(ctx, req.Project.ID)
	if err != nil {
		return nil, fmt.Errorf("reading protected refs: %w", err)
	}
	// Whether the ref is protected is decided once, when the pipeline is
	// created (GitLab's ci_pipelines.protected): its jobs get protected
	// variables and CI_COMMIT_REF_PROTECTED=true.
	pl.Protected = ci.RefProtected(rules, ref, tag)
	plan, err := p.plan(ctx, req.Project, pl, &c, req.Inputs, req.Config)
	if err != nil {
		if !push || IsNoPipeline(err) || ci.KindOf(err) != ci.KindInvalid {
			return nil, err
		}
		if err := p.persistFailed(ctx, pl, ci.MessageOf(err)); err != nil {
			return nil, fmt.Errorf("creating failed pipeline: %w", err)
		}
		return pl, nil
	}
	if err := p.Persist(ctx, pl, plan); err != nil {
		return nil, err
	}
	if err := p.Schedule(ctx, pl); err != nil {
		return nil, err
	}
	if req.Parent == nil { // a downstream pipeline is its upstream's to cancel
		p.cancelRedundant(ctx, req.Project, pl)
	}
	return pl, nil
}

// variablesAllowed asks the policy whether the user req runs for may give
// it variables (as GitLab: a trigger's owner, a job token's user, the API
// caller). A user that no longer exists may not.
func (p *Planner) variablesAllowed(ctx context.Context, req ci.PipelineRequest) error {
	if len(req.Variables) == 0 {
		return nil
	}
	who := &auth.Principal{}
	if req.UserID != 0 {
		u, err := p.store.UserByID(ctx, req.UserID)
		if err != nil && !ci.IsNotFound(err) {
			return fmt.Errorf("loading user %d: %w", req.UserID, err)
		}
		who.User = u
	}
	return p.policy.PipelineVariables(ctx, who, req.Project)
}

// cancelRedundant auto-cancels the pipelines the new pipeline pl makes
// redundant, when the project has auto_cancel_pending_pipelines enabled.
// A failure is logged: the new pipeline exists either way.
func (p *Planner) cancelRedundant(ctx context.Context, proj *ci.Project, pl *ci.Pipeline) {
	if proj.AutoCancelDisabled {
		return
	}
	if _, err := p.sched.CancelRedundant(ctx, pl); err != nil {
		p.log.ErrorContext(ctx, "auto-canceling redundant pipelines", "project_id", proj.ID, "pipeline_id", pl.ID, "err", err)
	}
}

// errMissingConfig is returned when the commit has no CI configuration file.
var errMissingConfig = ci.Errorf(ci.KindInvalid, "Missing CI config file")

// Plan reads the project's configuration at commit c and plans it for pl
// (ciconfig), rules seeing the predefined variables PredefinedVariables
// gives jobs, then pl's own variables; the plan is checked against the
// limits. Its errors are KindInvalid for the configuration's problems.
func (p *Planner) Plan(ctx context.Context, proj *ci.Project, pl *ci.Pipeline, c *ci.Commit) (*ci.PipelinePlan, error) {
	return p.plan(ctx, proj, pl, c, nil, nil)
}

// plan is Plan with the pipeline's inputs for a configuration with a
// spec:inputs header, of config, or of the project's CI file when config
// is nil.
func (p *Planner) plan(ctx context.Context, proj *ci.Project, pl *ci.Pipeline, c *ci.Commit, inputs map[string]any, config []byte) (*ci.PipelinePlan, error) {
	content := config
	if content == nil {
		path := proj.ConfigPath()
		var err error
		content, err = p.source.ReadFile(ctx, proj.ID, c.SHA, path)
		if ci.IsNotFound(err) {
			return nil, errMissingConfig
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s at %s: %w", path, c.SHA, err)
		}
	}
	vars, err := p.ruleVariables(ctx, proj, pl, c)
	if err != nil {
		return nil, err
	}
	in := p.repoInput(ctx, proj, pl, c)
	in.Content, in.Variables, in.Inputs = content, vars, inputs
	plan, err := ciconfig.Plan(in)
	if err != nil {
		return nil, err
	}
	plan.Spec.Commit = c
	if err := p.cacheKeys(ctx, proj.ID, c.SHA, plan); err != nil {
		return nil, err
	}
	if err := p.opts.Limits.checkPlan(pl, plan); err != nil {
		return nil, err
	}
	pl.Name = plan.Name
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

// repoInput is what ciconfig reads of pipeline pl's repository at commit c
// (include:local, rules:changes, rules:exists) and of other projects, as
// pl's user.
func (p *Planner) repoInput(ctx context.Context, proj *ci.Project, pl *ci.Pipeline, c *ci.Commit) ciconfig.Input {
	return ciconfig.Input{
		ReadFile: func(name string) ([]byte, error) {
			return p.source.ReadFile(ctx, proj.ID, c.SHA, strings.TrimPrefix(name, "/"))
		},
		Changes:    p.changes(ctx, proj, pl, c),
		FileExists: p.fileExists(ctx, proj, c),
		ListFiles:  p.listFiles(ctx, proj, c),
		Sources:    p.opts.Includes.Sources(ctx, pl.UserID),
	}
}

// changes gives rules:changes the paths pipeline pl changed at commit c,
// as GitLab computes them: a branch pipeline with a before sha (a push
// updating a branch) compares before..c; a new branch, a tag and every
// other source have no diff (changes match) unless compare_to names a
// ref or sha, compared from its merge base with c. A diff of more than
// MaxChangedPaths paths counts as no diff: every changes matches.
func (p *Planner) changes(ctx context.Context, proj *ci.Project, pl *ci.Pipeline, c *ci.Commit) func(string) ([]string, bool, error) {
	max := int(p.opts.Limits.withDefaults().MaxChangedPaths)
	return func(compareTo string) ([]string, bool, error) {
		from, mergeBase := compareTo, true
		if compareTo == "" {
			if pl.Tag || pl.BeforeSHA == "" || pl.BeforeSHA == ci.ZeroSHA {
				return nil, false, nil
			}
			from, mergeBase = pl.BeforeSHA, false
		}
		paths, complete, err := p.source.ChangedPaths(ctx, proj.ID, from, c.SHA, mergeBase, max)
		if compareTo == "" && ci.IsNotFound(err) {
			// The before commit is gone (a force push, then gc): no diff.
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		if !complete {
			p.log.InfoContext(ctx, "diff too large for rules:changes; every changes matches",
				"project_id", proj.ID, "from", from, "sha", c.SHA, "max_paths", max)
			return nil, false, nil
		}
		return paths, true, nil
	}
}

// fileExists gives rules:exists whether a path is a file at commit c, by
// its blob id: the file is not read, so its size does not matter.
func (p *Planner) fileExists(ctx context.Context, proj *ci.Project, c *ci.Commit) func(string) (bool, error) {
	return func(path string) (bool, error) {
		_, err := p.source.BlobID(ctx, proj.ID, c.SHA, path)
		return blobFound(err)
	}
}

// blobFound turns a BlobID error into whether the file is there: absent,
// not a file or not a valid path is no, any other error an error.
func blobFound(err error) (bool, error) {
	if ci.IsNotFound(err) || ci.KindOf(err) == ci.KindInvalid {
		return false, nil
	}
	return err == nil, err
}

// listFiles gives rules:exists the file listing of commit c.
func (p *Planner) listFiles(ctx context.Context, proj *ci.Project, c *ci.Commit) func(int) ([]string, error) {
	return func(max int) ([]string, error) {
		paths, _, err := p.source.ListPaths(ctx, proj.ID, c.SHA, max)
		return paths, err
	}
}

// ruleVariables are the variables rules and workflow:rules see: the
// predefined ones of a pipeline not yet stored (ci.PredefinedVariables,
// as jobs get them), then the request's.
func (p *Planner) ruleVariables(ctx context.Context, proj *ci.Project, pl *ci.Pipeline, c *ci.Commit) (map[string]string, error) {
	in := ci.Predefined{ServerURL: p.opts.ExternalURL, Revision: p.opts.Version, Project: proj, Pipeline: pl, Commit: c}
	if pl.UserID != 0 {
		u, err := p.store.UserByID(ctx, pl.UserID)
		if err != nil && !ci.IsNotFound(err) {
			return nil, fmt.Errorf("loading user %d: %w", pl.UserID, err)
		}
		in.User = u
	}
	layers := ci.VariableLayers{Predefined: ci.PredefinedVariables(in), Pipeline: pl.Variables}
	if p.opts.Variables != nil {
		// Rules see the CI/CD variables of every environment scope "*"
		// (a pipeline has no environment yet), protected ones only on
		// protected refs, as its jobs get them.
		sv, err := p.opts.Variables.ForProject(ctx, proj)
		if err != nil {
			return nil, fmt.Errorf("reading CI/CD variables: %w", err)
		}
		layers.Instance, layers.Groups, layers.Project = sv.ForJob(pl.Protected, "")
	}
	v := map[string]string{}
	for _, pv := range ci.JobVariables(layers) { // reserved names stay predefined
		v[pv.Key] = pv.Value
	}
	return v, nil
}

// Persist stores pl, with plan.Spec once, and one created job per planned
// job, in one transaction (ci.PipelinePlan.NewJobs).
func (p *Planner) Persist(ctx context.Context, pl *ci.Pipeline, plan *ci.PipelinePlan) error {
	jobs, err := plan.NewJobs(pl, p.opts.Now())
	if err != nil {
		return err
	}
	pl.Spec = plan.Spec
	pl.Status = ci.StatusCreated
	if err := p.store.CreatePipeline(ctx, pl, jobs); err != nil {
		return fmt.Errorf("creating pipeline: %w", err)
	}
	return nil
}

// persistFailed stores a pipeline whose configuration was invalid.
func (p *Planner) persistFailed(ctx context.Context, pl *ci.Pipeline, yamlErrors string) error {
	now := p.opts.Now()
	pl.Status = ci.StatusFailed
	pl.YAMLErrors = yamlErrors
	pl.FinishedAt = &now
	return p.store.CreatePipeline(ctx, pl, nil)
}

// Schedule has the scheduler move pl's jobs whose turn has come to pending
// (the first stage's, say), then reloads pl with its status.
func (p *Planner) Schedule(ctx context.Context, pl *ci.Pipeline) error {
	if err := p.sched.Advance(ctx, pl.ID); err != nil {
		return fmt.Errorf("scheduling pipeline %d: %w", pl.ID, err)
	}
	stored, err := p.store.PipelineByID(ctx, pl.ID)
	if err != nil {
		return fmt.Errorf("reloading pipeline %d: %w", pl.ID, err)
	}
	*pl = *stored
	return nil
}

// IsNoPipeline reports whether err from Create means "this push runs no
// pipeline" (skip CI, no configuration, nothing left by rules) rather than
// "this configuration is broken".
func IsNoPipeline(err error) bool {
	return errors.Is(err, ciconfig.ErrFilteredByWorkflow) || errors.Is(err, ciconfig.ErrNoJobs) ||
		errors.Is(err, errMissingConfig) || errors.Is(err, errSkipCI)
}
