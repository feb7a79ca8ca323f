// Package downstream runs bridge jobs (trigger:): it creates the child or
// multi-project pipeline a bridge asks for, through the planner's one
// creation path, and keeps a strategy: depend bridge's status in step with
// its downstream pipeline.
//
// The database is the source of truth: Sweep reads the active bridges
// (pending: to create; running: waiting for their pipeline) and acts on
// each; events from the scheduler only wake Run. One downstream pipeline
// per bridge is a unique index, and every status change a compare-and-set,
// so several replicas may run it at once and a restart loses nothing.
package downstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/wake"
)

// Store is what running bridges reads and compare-and-sets (store.DB).
type Store interface {
	ci.DownstreamStore
	ListActiveBridges(ctx context.Context, afterID int64, limit int) ([]*ci.Job, error)
	UpdateJob(ctx context.Context, j *ci.Job, from ci.Status) error
	AppendTrace(ctx context.Context, jobID, offset int64, data []byte) (int64, error)
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	// PipelineStatuses reads the statuses of the pipelines that exist
	// among ids, in one query.
	PipelineStatuses(ctx context.Context, ids []int64) (map[int64]ci.Status, error)
	PipelineSpec(ctx context.Context, pipelineID int64) (*ci.PipelineSpec, error)
	ProjectByID(ctx context.Context, id int64) (*ci.Project, error)
	ProjectByFullPath(ctx context.Context, fullPath string) (*ci.Project, error)
	UserByID(ctx context.Context, id int64) (*ci.User, error)
	ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error)
	ArtifactsOfJobs(ctx context.Context, jobIDs []int64) ([]*ci.Artifact, error)
}

// Planner creates pipelines (planner.Planner).
type Planner interface {
	Create(ctx context.Context, req ci.PipelineRequest) (*ci.Pipeline, error)
}

// Scheduler hears of the bridges' status changes (scheduler.Scheduler).
type Scheduler interface {
	JobStarted(ctx context.Context, jobID int64) error
	JobFinished(ctx context.Context, jobID int64) error
	CancelPipeline(ctx context.Context, pipelineID int64) error
}

// Policy decides whether the user a pipeline runs for may create one in
// another project (policy.Policy).
type Policy interface {
	Project(ctx context.Context, who *auth.Principal, a policy.Ability, proj *ci.Project) error
}

// ArtifactFiles reads one file of a job's archive (a generated child
// configuration), at most max bytes; KindNotFound if absent, KindTooLarge
// if bigger.
type ArtifactFiles interface {
	ReadArchiveFile(ctx context.Context, a *ci.Artifact, path string, max int64) ([]byte, error)
}

// DefaultMaxConfigBytes bounds a child pipeline's generated configuration.
const DefaultMaxConfigBytes = 1 << 20

// Service runs bridge jobs. Store, Planner, Scheduler, Policy and
// Artifacts are required; Planner may be set after New (the planner's
// scheduler tells this service of events).
type Service struct {
	Store     Store
	Planner   Planner
	Scheduler Scheduler
	Policy    Policy
	Artifacts ArtifactFiles
	// ExternalURL is CI_SERVER_URL in the variables a bridge forwards.
	ExternalURL string
	// MaxConfigBytes bounds a configuration read from an artifact
	// (default DefaultMaxConfigBytes).
	MaxConfigBytes int64
	// Interval is how often Run sweeps without being woken (default 5s):
	// what another replica's events started.
	Interval time.Duration
	Logger   *slog.Logger
	Now      func() time.Time

	wake       chan struct{}
	sweepBatch int // tests: a smaller page than sweepBatch
}

// New returns a Service; see its fields.
func New(s Service) *Service {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Now == nil {
		s.Now = func() time.Time { return time.Now().UTC() }
	}
	if s.Interval <= 0 {
		s.Interval = 5 * time.Second
	}
	if s.MaxConfigBytes <= 0 {
		s.MaxConfigBytes = DefaultMaxConfigBytes
	}
	s.wake = make(chan struct{}, 1)
	return &s
}

// Wake makes Run sweep soon.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Job is told of every job status change (scheduler.Events): a bridge
// that became pending wakes Run; canceling a bridge cancels the pipeline
// it created.
func (s *Service) Job(ctx context.Context, j *ci.Job) {
	if !j.Bridge() {
		return
	}
	if j.Status != ci.StatusCanceled {
		s.Wake()
		return
	}
	links, err := s.Store.LinksOfJobs(ctx, []int64{j.ID})
	if err != nil {
		s.Logger.ErrorContext(ctx, "finding the downstream pipeline of a canceled bridge", "job_id", j.ID, "err", err)
		return
	}
	for _, l := range links {
		if err := s.Scheduler.CancelPipeline(ctx, l.PipelineID); err != nil && !ci.IsNotFound(err) {
			s.Logger.ErrorContext(ctx, "canceling a downstream pipeline", "job_id", j.ID, "pipeline_id", l.PipelineID, "err", err)
		}
	}
}

// Pipeline is told of every pipeline status change (scheduler.Events): a
// downstream pipeline that finished may finish its bridge.
func (s *Service) Pipeline(_ context.Context, p *ci.Pipeline) {
	if p.Status.Finished() && (p.Source == ci.SourceParentPipeline || p.Source == ci.SourcePipeline) {
		s.Wake()
	}
}

// Run sweeps whenever woken and every Interval until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	return wake.Loop(ctx, s.wake, func(ctx context.Context) time.Duration {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Logger.ErrorContext(ctx, "running bridge jobs", "err", err)
		}
		return s.Interval
	})
}

// sweepBatch bounds the bridges one page of a Sweep reads.
const sweepBatch = 200

// Sweep acts on every active bridge, a page of sweepBatch at a time (so
// that many bridges waiting on blocked downstream pipelines never starve
// the others): a pending one gets its downstream pipeline, a running one
// (strategy: depend) takes its pipeline's final status (dependStatus).
// A page's links and downstream statuses are read in one query each.
func (s *Service) Sweep(ctx context.Context) error {
	batch := s.sweepBatch
	if batch <= 0 {
		batch = sweepBatch
	}
	var errs []error
	for after := int64(0); ; {
		bridges, err := s.Store.ListActiveBridges(ctx, after, batch)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if len(bridges) == 0 {
			return errors.Join(errs...)
		}
		if err := s.sweepPage(ctx, bridges); err != nil {
			errs = append(errs, err)
		}
		if len(bridges) < batch || ctx.Err() != nil {
			return errors.Join(errs...)
		}
		after = bridges[len(bridges)-1].ID
	}
}

// sweepPage acts on one page of active bridges.
func (s *Service) sweepPage(ctx context.Context, bridges []*ci.Job) error {
	ids := make([]int64, len(bridges))
	for i, b := range bridges {
		ids[i] = b.ID
	}
	links, err := s.Store.LinksOfJobs(ctx, ids)
	if err != nil {
		return err
	}
	linkOf := make(map[int64]*ci.PipelineLink, len(links))
	children := make([]int64, 0, len(links))
	for _, l := range links {
		linkOf[l.ParentJobID] = l
		children = append(children, l.PipelineID)
	}
	statuses, err := s.Store.PipelineStatuses(ctx, children)
	if err != nil {
		return err
	}
	var errs []error
	for _, b := range bridges {
		if err := s.handle(ctx, b, linkOf[b.ID], statuses); err != nil {
			errs = append(errs, fmt.Errorf("bridge job %d: %w", b.ID, err))
		}
	}
	return errors.Join(errs...)
}

// handle acts on bridge b, whose downstream pipeline is l's (nil: none
// yet), given the statuses of the pipelines that exist.
func (s *Service) handle(ctx context.Context, b *ci.Job, l *ci.PipelineLink, statuses map[int64]ci.Status) error {
	if l == nil {
		if b.Status != ci.StatusPending {
			return nil
		}
		return s.create(ctx, b)
	}
	st, ok := statuses[l.PipelineID]
	if !ok {
		return s.finish(ctx, b, ci.StatusFailed, ci.FailureDownstreamCreation, "the downstream pipeline was deleted")
	}
	return s.created(ctx, b, &ci.Pipeline{ID: l.PipelineID, Status: st})
}

// created moves bridge b on once its downstream pipeline child exists: a
// bridge without strategy: depend succeeds; one with it runs until child
// finishes, then takes child's status (dependStatus).
func (s *Service) created(ctx context.Context, b *ci.Job, child *ci.Pipeline) error {
	if !b.Spec.Trigger.Depend {
		return s.finish(ctx, b, ci.StatusSuccess, "", "")
	}
	if b.Status == ci.StatusPending {
		now := s.Now()
		c := *b
		c.Status, c.StartedAt, c.UpdatedAt = ci.StatusRunning, &now, now
		if err := s.Store.UpdateJob(ctx, &c, ci.StatusPending); err != nil {
			if ci.IsConflict(err) {
				return nil
			}
			return err
		}
		if err := s.Scheduler.JobStarted(ctx, b.ID); err != nil {
			return err
		}
		*b = c
	}
	to, ok := dependStatus(child.Status)
	if !ok {
		return nil
	}
	return s.finish(ctx, b, to, "", "")
}

// dependStatus is the status a strategy: depend bridge takes from its
// downstream pipeline's, GitLab's Ci::Bridge#inherit_status_from_downstream!:
// success and canceled are inherited, a failed or skipped pipeline fails
// the bridge. Any other status (running, and manual: a pipeline blocked
// on a manual job) leaves the bridge running until the pipeline moves on,
// as in GitLab (gitlab-org/gitlab#361574): playing the manual job, or
// canceling the pipeline, ends it.
func dependStatus(child ci.Status) (ci.Status, bool) {
	switch child {
	case ci.StatusSuccess, ci.StatusCanceled:
		return child, true
	case ci.StatusFailed, ci.StatusSkipped:
		return ci.StatusFailed, true
	}
	return "", false
}

// finish moves bridge b to a final status (unless someone moved it first),
// writing why into its log, and lets the scheduler advance its pipeline.
func (s *Service) finish(ctx context.Context, b *ci.Job, to ci.Status, reason, why string) error {
	now := s.Now()
	c := *b
	c.Status, c.FailureReason, c.FinishedAt, c.UpdatedAt = to, reason, &now, now
	if c.StartedAt == nil {
		c.StartedAt = &now
	}
	if why != "" {
		msg := "Downstream pipeline cannot be created: " + why + "\n"
		if _, err := s.Store.AppendTrace(ctx, b.ID, b.TraceSize, []byte(msg)); err == nil {
			c.TraceSize = b.TraceSize + int64(len(msg))
		}
		s.Logger.InfoContext(ctx, "bridge job failed", "job_id", b.ID, "pipeline_id", b.PipelineID, "failure_reason", reason, "why", why)
	}
	if err := s.Store.UpdateJob(ctx, &c, b.Status); err != nil {
		if ci.IsConflict(err) {
			return nil
		}
		return err
	}
	return s.Scheduler.JobFinished(ctx, b.ID)
}

// refusal is a reason a bridge fails instead of creating its pipeline.
type refusal struct{ reason, why string }

func (r *refusal) Error() string { return r.why }

func refuse(reason, format string, args ...any) error {
	return &refusal{reason: reason, why: fmt.Sprintf(format, args...)}
}

// create plans and persists bridge b's downstream pipeline.
func (s *Service) create(ctx context.Context, b *ci.Job) error {
	req, err := s.request(ctx, b)
	var r *refusal
	if errors.As(err, &r) {
		return s.finish(ctx, b, ci.StatusFailed, r.reason, r.why)
	}
	if err != nil {
		return err
	}
	child, err := s.Planner.Create(ctx, *req)
	switch {
	case ci.IsConflict(err):
		return nil // another replica created it; the next sweep moves the bridge on
	case ci.KindOf(err) == ci.KindInvalid || ci.KindOf(err) == ci.KindForbidden || ci.KindOf(err) == ci.KindTooLarge:
		return s.finish(ctx, b, ci.StatusFailed, ci.FailureDownstreamCreation, ci.MessageOf(err))
	case err != nil:
		return err
	}
	s.Logger.InfoContext(ctx, "downstream pipeline created", "job_id", b.ID, "pipeline_id", b.PipelineID,
		"downstream_pipeline_id", child.ID, "source", child.Source)
	return s.created(ctx, b, child)
}

// request is the pipeline request bridge b makes: its project and ref, its
// configuration (children), the variables it forwards and its place in
// the hierarchy, within GitLab's depth limits. A refusal fails the bridge.
func (s *Service) request(ctx context.Context, b *ci.Job) (*ci.PipelineRequest, error) {
	t := b.Spec.Trigger
	parent, err := s.Store.PipelineByID(ctx, b.PipelineID)
	if err != nil {
		return nil, fmt.Errorf("loading pipeline %d: %w", b.PipelineID, err)
	}
	proj, err := s.Store.ProjectByID(ctx, parent.ProjectID)
	if err != nil {
		return nil, fmt.Errorf("loading project %d: %w", parent.ProjectID, err)
	}
	up := &ci.PipelineLink{}
	if l, err := s.Store.LinkOf(ctx, parent.ID); err == nil {
		up = l
	} else if !ci.IsNotFound(err) {
		return nil, err
	}
	link := &ci.PipelineLink{ParentPipelineID: parent.ID, ParentProjectID: parent.ProjectID, ParentJobID: b.ID, Depth: up.Depth + 1}
	if link.Depth > ci.MaxHierarchyDepth {
		return nil, refuse(ci.FailureMaxDescendantsDepth, "downstream pipelines can be at most %d levels below their top pipeline (this one would be level %d)",
			ci.MaxHierarchyDepth, link.Depth)
	}
	vars, err := s.forwarded(ctx, b, parent, proj)
	if err != nil {
		return nil, err
	}
	req := &ci.PipelineRequest{UserID: b.UserID, Variables: vars, Parent: link}
	if req.UserID == 0 {
		req.UserID = parent.UserID
	}
	if t.Child() {
		link.ChildDepth = up.ChildDepth + 1
		if link.ChildDepth > ci.MaxChildDepth {
			return nil, refuse(ci.FailureMaxDescendantsDepth, "child pipelines can be nested at most %d levels deep (this one would be level %d)",
				ci.MaxChildDepth, link.ChildDepth)
		}
		req.Project, req.Ref, req.SHA, req.Source = proj, parent.Ref, parent.SHA, ci.SourceParentPipeline
		if req.Config, err = s.childConfig(ctx, b, parent); err != nil {
			return nil, err
		}
		return req, nil
	}
	env := s.env(parent, proj, b, nil, vars)
	path := ci.ExpandExisting(t.Project, env)
	target, err := s.Store.ProjectByFullPath(ctx, path)
	if err != nil && !ci.IsNotFound(err) {
		return nil, fmt.Errorf("loading project %q: %w", path, err)
	}
	// A project the user may not create pipelines in answers as one that
	// does not exist, so that a bridge cannot probe for private projects.
	notFound := refuse(ci.FailureDownstreamNotFound, "downstream project %q could not be found, or the user may not create pipelines in it", path)
	if target == nil {
		return nil, notFound
	}
	if target.ID == proj.ID {
		return nil, refuse(ci.FailureInvalidBridgeTrigger, "a multi-project trigger cannot target its own project %q; use trigger:include for a child pipeline", path)
	}
	who := &auth.Principal{}
	if req.UserID != 0 {
		if who.User, err = s.Store.UserByID(ctx, req.UserID); err != nil && !ci.IsNotFound(err) {
			return nil, fmt.Errorf("loading user %d: %w", req.UserID, err)
		}
	}
	if who.User == nil || s.Policy.Project(ctx, who, policy.CreatePipeline, target) != nil {
		return nil, notFound
	}
	req.Project, req.Source = target, ci.SourcePipeline
	req.Ref = ci.ExpandExisting(t.Branch, env)
	if req.Ref == "" {
		req.Ref = target.DefaultBranch
	}
	return req, nil
}

// childConfig is the configuration a child pipeline plans: the bridge's
// include list as a file of includes (local files at the parent's commit,
// project files), or the file an earlier job of the parent generated.
func (s *Service) childConfig(ctx context.Context, b *ci.Job, parent *ci.Pipeline) ([]byte, error) {
	incs := b.Spec.Trigger.Include
	for _, inc := range incs {
		if inc.Artifact == "" {
			continue
		}
		if len(incs) > 1 {
			return nil, refuse(ci.FailureInvalidBridgeTrigger, "a child configuration from an artifact must be the trigger's only include")
		}
		return s.artifactConfig(ctx, parent, inc)
	}
	list := make([]map[string]string, 0, len(incs))
	for _, inc := range incs {
		if inc.Local != "" {
			list = append(list, map[string]string{"local": inc.Local})
			continue
		}
		m := map[string]string{"project": inc.Project, "file": inc.File}
		if inc.Ref != "" {
			m["ref"] = inc.Ref
		}
		list = append(list, m)
	}
	return json.Marshal(map[string]any{"include": list}) // JSON is YAML
}

// artifactConfig reads a generated configuration from the archive of the
// latest attempt of the parent's job inc.Job.
func (s *Service) artifactConfig(ctx context.Context, parent *ci.Pipeline, inc ci.TriggerInclude) ([]byte, error) {
	jobs, _, err := s.Store.ListJobs(ctx, ci.JobFilter{PipelineID: parent.ID, Name: inc.Job, Page: ci.Page{Page: 1}})
	if err != nil {
		return nil, fmt.Errorf("listing jobs named %q: %w", inc.Job, err)
	}
	missing := refuse(ci.FailureDownstreamCreation, "job '%s' not found in parent pipeline or does not have artifacts", inc.Job)
	if len(jobs) == 0 {
		return nil, missing
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, []int64{jobs[0].ID})
	if err != nil {
		return nil, fmt.Errorf("listing artifacts of job %d: %w", jobs[0].ID, err)
	}
	var archive *ci.Artifact
	for _, a := range arts {
		if a.FileType == ci.FileTypeArchive {
			archive = a
		}
	}
	if archive == nil {
		return nil, missing
	}
	data, err := s.Artifacts.ReadArchiveFile(ctx, archive, strings.TrimPrefix(inc.Artifact, "/"), s.MaxConfigBytes)
	switch {
	case ci.IsNotFound(err):
		return nil, refuse(ci.FailureDownstreamCreation, "file '%s' not found in the artifacts of job '%s'", inc.Artifact, inc.Job)
	case ci.KindOf(err) == ci.KindTooLarge:
		return nil, refuse(ci.FailureDownstreamCreation, "file '%s' of job '%s' is larger than %d bytes (--max-child-config-bytes)", inc.Artifact, inc.Job, s.MaxConfigBytes)
	case err != nil:
		return nil, err
	}
	return data, nil
}
