// Package api serves Baton's GitLab-compatible REST API under /api/v4 and
// Baton's own additions. Handlers use the domain's store interfaces and the
// scheduler; they never reach into SQL.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/artifacttoken"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
	"github.com/batonci/baton/internal/events"
	"github.com/batonci/baton/internal/planner"
	"github.com/batonci/baton/internal/policy"
	civariables "github.com/batonci/baton/internal/variables"
)

// Store is every store interface the API uses.
type Store interface {
	ci.UserStore
	ci.NamespaceStore
	ci.GroupMemberStore
	ci.ProjectStore
	ci.PipelineStore
	ci.JobStore
	ci.ArtifactStore
	ci.RunnerStore
	ci.RunnerProjectStore
	ci.SettingStore
	ci.ProtectedRefStore
	ci.CommitStatusStore
	ci.ScheduleStore
	ci.HookStore
	ci.CoverageStore
	ci.TestReportStore
	ci.DownstreamStore
	ci.EnvironmentStore
	ci.ResourceGroupStore
	ci.ReleaseStore
}

// Environments stops environments (deploy.Service).
type Environments interface {
	// Stop plays the environment's on_stop job, or stops it at once.
	Stop(ctx context.Context, env *ci.Environment, userID int64) error
	// MaxEnvironments bounds a project's environments.
	MaxEnvironments() int
}

// Scheduler is the part of the pipeline state machine the API drives.
type Scheduler interface {
	CancelPipeline(ctx context.Context, pipelineID int64) error
	RetryPipeline(ctx context.Context, pipelineID, userID int64) error
	CancelJob(ctx context.Context, jobID int64) error
	ForceCancelJob(ctx context.Context, jobID int64) error
	RetryJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
	PlayJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
	UnscheduleJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
	// ReportExternal sets an external commit status's job in a pipeline.
	ReportExternal(ctx context.Context, pl *ci.Pipeline, name string, st ci.Status, userID int64) (*ci.Job, error)
}

// Planner creates pipelines from the project's CI configuration at a ref
// (planner.Planner: the one path pushes, the API and triggers take).
// An invalid configuration is KindInvalid with the YAML errors as message.
type Planner interface {
	Create(ctx context.Context, req ci.PipelineRequest) (*ci.Pipeline, error)
	// Lint checks a configuration as GitLab's CI lint does.
	Lint(ctx context.Context, req planner.LintRequest) (*ciconfig.LintResult, error)
	// CreateExternal creates the source-external pipeline of a commit
	// status on a commit without a pipeline.
	CreateExternal(ctx context.Context, proj *ci.Project, ref, sha string, userID int64) (*ci.Pipeline, error)
}

// Repos creates and removes a project's git repository and sets its
// default branch.
type Repos interface {
	Create(ctx context.Context, projectID int64) error
	Delete(ctx context.Context, projectID int64) error
	// SetHEAD points HEAD at branch; KindNotFound if it does not exist.
	SetHEAD(ctx context.Context, projectID int64, branch string) error
}

// Server holds the API's dependencies. Fields are set by the caller before
// Routes is used; none are optional except Blobs (artifact routes need it).
type Server struct {
	Store     Store
	Auth      *auth.Authenticator
	Policy    *policy.Policy
	Scheduler Scheduler
	Planner   Planner
	Repos     Repos
	Blobs     blob.Store
	// Artifacts chooses and serves archives (artifact routes need it).
	Artifacts *artifacts.Service
	// ArtifactTokens mints and checks artifact tokens (their routes, and
	// artifact reads by token, need it).
	ArtifactTokens *artifacttoken.Service
	// Variables keeps CI/CD variables (variable routes need it).
	Variables *civariables.Service
	// Events streams pipelines' events (the events route needs it).
	Events *events.Service
	// Code reads repositories for the repository routes and job commits.
	Code ci.CodeReader
	// Hooks queues webhook test events; Automation bounds schedules and hooks.
	Hooks HookTester
	// Environments stops environments (environment routes need it).
	Environments Environments
	// Releases resolves release commits (release routes need it).
	Releases    Releases
	Automation  Automation
	ExternalURL string // without trailing slash, e.g. http://baton.example:8080
	Version     string
	Logger      *slog.Logger
}

// handlerFunc is an API handler that returns its error for writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// principal authenticates the request. Anonymous callers get nil. An
// artifact token (or a signed link's sig=) authenticates nothing here: it
// reads artifacts through serveChosen only, and every other route answers
// it 401 rather than serving it as an anonymous caller.
func (s *Server) principal(r *http.Request) (*auth.Principal, error) {
	if artifacttoken.Secret(r) != "" {
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	return s.Auth.Authenticate(r.Context(), r)
}

// instanceFor authenticates the request and asks the policy for the
// route's instance ability (anonymous callers get nil where it allows them).
func (s *Server) instanceFor(r *http.Request) (*auth.Principal, error) {
	p, err := s.principal(r)
	if err != nil {
		return nil, err
	}
	if err := s.Policy.Instance(p, routeAbility(r)); err != nil {
		return nil, err
	}
	return p, nil
}

// mustPrincipal is principal for routes that need a signed-in caller.
func (s *Server) mustPrincipal(r *http.Request) (*auth.Principal, error) {
	p, err := s.principal(r)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	return p, nil
}
