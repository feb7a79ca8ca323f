// Package web serves Baton's browser UI: server-rendered pages from embedded
// html/template files, a stylesheet and a little JavaScript that polls small
// JSON endpoints for live pipeline graphs and job logs. It uses the domain's
// store interfaces, the scheduler and the artifact service the API also uses; it never
// reaches into SQL.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/artifacttoken"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/events"
	"github.com/batonci/baton/internal/policy"
)

// Store is what the UI reads and writes (store.DB).
type Store interface {
	ci.DownstreamStore
	ArtifactsOfJobs(ctx context.Context, jobIDs []int64) ([]*ci.Artifact, error)
	CreateProject(ctx context.Context, p *ci.Project) error
	CreateRunner(ctx context.Context, r *ci.Runner) error
	CreateSession(ctx context.Context, s *ci.Session, keep int, idleBefore time.Time) error
	DeleteArtifact(ctx context.Context, id int64) error
	DeleteProject(ctx context.Context, id int64) error
	DeleteSession(ctx context.Context, userID, id int64) error
	JobByID(ctx context.Context, id int64) (*ci.Job, error)
	ListJobs(ctx context.Context, f ci.JobFilter) ([]*ci.Job, int, error)
	ListPipelines(ctx context.Context, f ci.PipelineFilter) ([]*ci.Pipeline, int, error)
	ListProjects(ctx context.Context, f ci.ProjectFilter) ([]*ci.Project, int, error)
	ListRunners(ctx context.Context, f ci.RunnerFilter) ([]*ci.Runner, int, error)
	ListSessions(ctx context.Context, userID int64) ([]*ci.Session, error)
	NamespaceOfUser(ctx context.Context, userID int64) (*ci.Namespace, error)
	PersonalTokenByHash(ctx context.Context, hash string) (*ci.PersonalToken, error)
	PersonalTokenByID(ctx context.Context, id int64) (*ci.PersonalToken, error)
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	PipelineEventSeq(ctx context.Context, pipelineID int64) (int64, error)
	ProjectByFullPath(ctx context.Context, fullPath string) (*ci.Project, error)
	// ProjectWithLevel is ProjectByFullPath (id 0) with userID's level on it.
	ProjectWithLevel(ctx context.Context, id int64, fullPath string, userID int64) (*ci.Project, ci.AccessLevel, error)
	ProjectByID(ctx context.Context, id int64) (*ci.Project, error)
	ReadTrace(ctx context.Context, jobID, offset, limit int64) ([]byte, error)
	RunnerByID(ctx context.Context, id int64) (*ci.Runner, error)
	SessionByHash(ctx context.Context, hash string) (*ci.Session, error)
	TouchSession(ctx context.Context, id int64, at time.Time) error
	UpdateArtifact(ctx context.Context, a *ci.Artifact) error
	UpdateProject(ctx context.Context, p *ci.Project) error
	UpdateRunner(ctx context.Context, r *ci.Runner) error
	UserByID(ctx context.Context, id int64) (*ci.User, error)
	ListProtectedRefs(ctx context.Context, projectID int64) ([]*ci.ProtectedRef, error)
	CreateProtectedRef(ctx context.Context, r *ci.ProtectedRef) error
	DeleteProtectedRef(ctx context.Context, id int64) error
	// Badges, the schedules and the webhooks pages.
	JobCoverage(ctx context.Context, pipelineID int64) (map[int64]float64, error)
	PipelineCoverage(ctx context.Context, pipelineID int64) (*float64, error)
	// The pipeline's Tests tab.
	PipelineTestSuites(ctx context.Context, pipelineID int64, withCases bool) ([]*ci.TestSuite, error)
	ListPipelineSchedules(ctx context.Context, projectID int64, active *bool) ([]*ci.PipelineSchedule, error)
	PipelineScheduleByID(ctx context.Context, id int64) (*ci.PipelineSchedule, error)
	CreatePipelineSchedule(ctx context.Context, s *ci.PipelineSchedule, max int) error
	UpdatePipelineSchedule(ctx context.Context, s *ci.PipelineSchedule) error
	SetPipelineScheduleLastPipeline(ctx context.Context, id, pipelineID int64) error
	ListProjectHooks(ctx context.Context, projectID int64) ([]*ci.ProjectHook, error)
	ProjectHookByID(ctx context.Context, projectID, id int64) (*ci.ProjectHook, error)
	CreateProjectHook(ctx context.Context, h *ci.ProjectHook, max int) error
	DeleteProjectHook(ctx context.Context, projectID, id int64) error
	UpdateProjectHook(ctx context.Context, h *ci.ProjectHook) error
	// The group CI/CD variables page.
	NamespaceByFullPath(ctx context.Context, fullPath string) (*ci.Namespace, error)
	ListHookDeliveries(ctx context.Context, hookID int64, p ci.Page) ([]*ci.HookDelivery, int, error)
	// The environments page.
	ListEnvironments(ctx context.Context, projectID int64, name, state string, p ci.Page) ([]*ci.Environment, int, error)
	EnvironmentByID(ctx context.Context, id int64) (*ci.Environment, error)
	LastDeployments(ctx context.Context, envIDs []int64) (map[int64]*ci.Deployment, error)
	// The releases page and release asset downloads.
	ListReleases(ctx context.Context, projectID int64, p ci.Page) ([]*ci.Release, int, error)
	ReleaseByTag(ctx context.Context, projectID int64, tag string) (*ci.Release, error)
}

// Environments stops environments (deploy.Service), as the API does.
type Environments interface {
	Stop(ctx context.Context, env *ci.Environment, userID int64) error
}

// Variables keeps CI/CD variables (variables.Service).
type Variables interface {
	List(ctx context.Context, scope ci.VariableScope, ownerID int64) ([]*ci.CIVariable, error)
	Create(ctx context.Context, v *ci.CIVariable) error
	Update(ctx context.Context, scope ci.VariableScope, ownerID int64, key, env string, change func(*ci.CIVariable) error) (*ci.CIVariable, error)
	Delete(ctx context.Context, scope ci.VariableScope, ownerID int64, key, env string) error
}

// Scheduler is the part of the pipeline state machine the UI's buttons drive.
type Scheduler interface {
	CancelPipeline(ctx context.Context, pipelineID int64) error
	RetryPipeline(ctx context.Context, pipelineID, userID int64) error
	CancelJob(ctx context.Context, jobID int64) error
	RetryJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
	PlayJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
	UnscheduleJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
}

// Repos creates a new project's git repository, lists its branches and
// sets its default branch.
type Repos interface {
	Create(ctx context.Context, projectID int64) error
	Branches(ctx context.Context, projectID int64) ([]string, error)
	// SetHEAD points HEAD at branch; KindNotFound if it does not exist.
	SetHEAD(ctx context.Context, projectID int64, branch string) error
}

// Deps are the UI's collaborators. All are required except Logger and Now.
type Deps struct {
	Store     Store
	Auth      *auth.Authenticator
	Policy    *policy.Policy
	Scheduler Scheduler
	Artifacts *artifacts.Service // chooses and serves archives as the API does
	Repos     Repos
	Linter    Linter    // the CI lint page
	Variables Variables // the CI/CD variables page
	// RegistrationToken returns the instance's runner registration token,
	// creating it on first use (runnerapi.Server.RegistrationToken).
	RegistrationToken func(ctx context.Context) (string, error)
	ExternalURL       string // without trailing slash; https makes every cookie Secure
	Version           string
	// SessionIdle ends a session unused this long, SessionMaxAge any session
	// this long after sign-in (0: DefaultSessionIdle, DefaultSessionMaxAge).
	SessionIdle   time.Duration
	SessionMaxAge time.Duration
	// Events serves the live views' event streams (pipeline page, job log).
	Events *events.Service
	// Automation serves the schedules and webhooks pages.
	Automation Automation
	// Environments stops environments from the environments page.
	Environments Environments
	Logger       *slog.Logger
	Now          func() time.Time

	// ArtifactTokens lists and revokes artifact tokens (their page).
	ArtifactTokens *artifacttoken.Service
}

// Server is the web UI, an http.Handler for every path the rest of Baton
// does not claim.
type Server struct {
	Deps
	pages pages
}

// New returns the UI with its templates parsed. It panics if an embedded
// template is malformed, which is a build defect, not a runtime condition.
func New(d Deps) *Server {
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	d.ExternalURL = strings.TrimSuffix(d.ExternalURL, "/")
	return &Server{Deps: d, pages: mustParsePages()}
}

// ServeHTTP routes a request: instance-wide pages under /-/, the project
// list at /, and everything else under a project's full path.
//
// Every form the UI posts is a few fields: each route bounds its body
// (serve; httpx.SmallBody but for the CI lint form), no request reads
// more than the largest of them, and forms are parsed in memory
// (ParseForm, never ParseMultipartForm).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Body != nil && r.Body != http.NoBody {
		if err := tooLarge(r, maxRouteBody); err != nil {
			s.fail(w, r, nil, err)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxRouteBody)
	}
	c, err := s.newRequest(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	switch {
	case r.URL.Path == "/", strings.HasPrefix(r.URL.Path, "/-/"):
		err = s.globalRoutes(c)
	default:
		err = s.projectRoutes(c)
	}
	if err != nil {
		s.fail(w, r, c, err)
	}
}

// req is one request with what every handler needs: the caller and, under a
// project path, the project.
type req struct {
	w      http.ResponseWriter
	r      *http.Request
	p      *auth.Principal
	sess   *session // nil unless signed in with the session cookie
	script bool     // an artifact download with a token in a header
	proj   *ci.Project
	// level is the caller's membership level on proj, read with it when
	// the policy needs one (policy.NeedsMemberLevel); nil otherwise.
	level *ci.AccessLevel
	// frame is set once the page frame asked the policy for ReadProject,
	// so that a route needing only that does not ask again.
	frame   bool
	started time.Time
	// ability is the serving route's (see route): the handlers' checks
	// (requireInstance, requireView) ask the policy for it.
	ability policy.Ability
}

// newRequest authenticates the caller by the session cookie only: pages
// never take a token from the URL (where it leaks into logs, history and
// Referer headers) or from headers. The artifact download routes also take
// a token in a header (see artifactAuth).
func (s *Server) newRequest(w http.ResponseWriter, r *http.Request) (*req, error) {
	c := &req{w: w, r: r, started: time.Now()}
	sess, p, err := s.sessionPrincipal(r)
	if err != nil {
		return c, err
	}
	c.sess, c.p = sess, p
	return c, nil
}

// artifactAuth lets scripts download artifacts from the web URLs the way
// they do from GitLab's (curl -H "PRIVATE-TOKEN: ..." or -H "JOB-TOKEN:
// ..."): without a session, a token in a header authenticates. Tokens in
// the query string are ignored here as on every page; the API routes take
// them as GitLab's API does.
func (s *Server) artifactAuth(c *req) error {
	if c.sess != nil {
		return nil
	}
	secret, _ := auth.HeaderCredential(c.r)
	c.script = secret != ""
	p, err := s.Auth.AuthenticateHeaders(c.r.Context(), c.r)
	if err != nil {
		return err
	}
	c.p = p
	return nil
}

// artifactDownload reports whether rest (the part of a project path after
// /-/) names a route serving artifact bytes, which artifactAuth covers.
func artifactDownload(rest string) bool {
	seg := strings.Split(rest, "/")
	switch {
	case len(seg) >= 4 && seg[0] == "jobs" && seg[1] == "artifacts": // jobs/artifacts/<ref>/{download,raw/...}
		return true
	case len(seg) >= 4 && (seg[0] == "jobs" || seg[0] == "pipelines") && seg[2] == "artifacts":
		return seg[3] == "download" || (seg[3] == "raw" && len(seg) >= 5)
	}
	return false
}

// user is the signed-in user, nil for anonymous visitors.
func (c *req) user() *ci.User {
	if c.p == nil {
		return nil
	}
	return c.p.User
}

// allow asks the policy whether the caller may do a on the request's
// project. Changes also need a signed-in session: the UI's forms carry its
// CSRF token.
func (s *Server) allow(c *req, a policy.Ability) error {
	if err := s.onProject(c, a); err != nil {
		return err
	}
	if a.Writes() && c.sess == nil {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: sign in to change this")
	}
	return nil
}

// onProject asks the policy for a on the request's project, with the
// caller's level read together with the project when there is one.
func (s *Server) onProject(c *req, a policy.Ability) error {
	if c.level != nil {
		return s.Policy.ProjectAt(c.r.Context(), c.p, a, c.proj, *c.level)
	}
	return s.Policy.Project(c.r.Context(), c.p, a, c.proj)
}

// can is allow as a yes/no, for showing buttons.
func (s *Server) can(c *req, a policy.Ability) bool { return s.allow(c, a) == nil }

// errProjectNotFound answers for a project that does not exist and for one
// the caller may not see alike.
var errProjectNotFound = ci.Errorf(ci.KindNotFound, "404 Project Not Found")

func notFound() error { return ci.Errorf(ci.KindNotFound, "404 Page Not Found") }
