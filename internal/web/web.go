// Package web serves Baton's browser UI: server-rendered pages from embedded
// html/template files, a stylesheet and a little JavaScript that polls small
// JSON endpoints for live pipeline graphs and job logs. It uses the domain's
// store interfaces, the scheduler and the API's artifact machinery; it never
// reaches into SQL.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/batonci/baton/internal/api"
	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// Store is every store interface the UI reads or writes.
type Store interface {
	ci.UserStore
	ci.NamespaceStore
	ci.ProjectStore
	ci.PipelineStore
	ci.JobStore
	ci.ArtifactStore
	ci.RunnerStore
	ci.SettingStore
}

// Scheduler is the part of the pipeline state machine the UI's buttons drive.
type Scheduler interface {
	CancelPipeline(ctx context.Context, pipelineID int64) error
	RetryPipeline(ctx context.Context, pipelineID, userID int64) error
	CancelJob(ctx context.Context, jobID int64) error
	RetryJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
	PlayJob(ctx context.Context, jobID, userID int64) (*ci.Job, error)
}

// Artifacts chooses and serves artifact archives; *api.Server implements it,
// so the UI and the API agree on which archive a URL means.
type Artifacts interface {
	ArtifactInPipeline(ctx context.Context, pl *ci.Pipeline, name string) (*api.ArtifactChoice, error)
	ArtifactOnRef(ctx context.Context, proj *ci.Project, ref, name string) (*api.ArtifactChoice, error)
	ArtifactOfJob(ctx context.Context, j *ci.Job) (*api.ArtifactChoice, error)
	ServeArtifactArchive(w http.ResponseWriter, r *http.Request, a *ci.Artifact) error
	ServeArtifactEntry(w http.ResponseWriter, r *http.Request, a *ci.Artifact, path string, inline bool) error
	OpenArtifactIndex(r *http.Request, a *ci.Artifact) (*archive.Reader, func(), error)
	OpenArtifactEntry(ctx context.Context, a *ci.Artifact, e archive.Entry) (io.ReadCloser, error)
	DeleteArtifactBytes(r *http.Request, a *ci.Artifact)
}

// Repos creates a new project's git repository.
type Repos interface {
	Create(ctx context.Context, projectID int64) error
}

// Deps are the UI's collaborators. All are required except Logger and Now.
type Deps struct {
	Store     Store
	Auth      *auth.Authenticator
	Scheduler Scheduler
	Artifacts Artifacts
	Repos     Repos
	// RegistrationToken returns the instance's runner registration token,
	// creating it on first use (runnerapi.Server.RegistrationToken).
	RegistrationToken func(ctx context.Context) (string, error)
	ExternalURL       string // without trailing slash
	Version           string
	Logger            *slog.Logger
	Now               func() time.Time
}

// Server is the web UI, an http.Handler for every path the rest of Baton
// does not claim.
type Server struct {
	Deps
	pages pages

	keyMu sync.Mutex
	key   []byte // session signing key, loaded from settings on first use
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
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := s.newRequest(w, r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	switch {
	case r.URL.Path == "/":
		err = s.dashboard(c)
	case strings.HasPrefix(r.URL.Path, "/-/"):
		err = s.globalRoutes(c, strings.TrimPrefix(r.URL.Path, "/-/"))
	default:
		err = s.projectRoutes(c)
	}
	if err != nil {
		s.fail(w, r, c, err)
	}
}

// req is one request with what every handler needs: the caller and, under a
// project path, the project and the caller's access to it.
type req struct {
	w       http.ResponseWriter
	r       *http.Request
	p       *auth.Principal
	sess    *session // nil unless signed in with the session cookie
	proj    *ci.Project
	access  ci.AccessLevel
	started time.Time
}

func (s *Server) newRequest(w http.ResponseWriter, r *http.Request) (*req, error) {
	c := &req{w: w, r: r, started: time.Now()}
	sess, p, err := s.sessionPrincipal(r)
	if err != nil {
		return c, err
	}
	if p == nil {
		if p, err = s.Auth.Authenticate(r.Context(), r); err != nil {
			return c, err
		}
	}
	c.sess, c.p = sess, p
	return c, nil
}

// user is the signed-in user, nil for anonymous visitors.
func (c *req) user() *ci.User {
	if c.p == nil {
		return nil
	}
	return c.p.User
}

// canWrite reports whether the caller may press buttons needing level min.
func (c *req) canWrite(min ci.AccessLevel) bool {
	return c.sess != nil && c.access >= min && (c.p.Token == nil || c.p.Token.HasScope(ci.ScopeAPI))
}

func (s *Server) globalRoutes(c *req, rest string) error {
	m := c.r.Method
	get := m == http.MethodGet || m == http.MethodHead
	switch {
	case strings.HasPrefix(rest, "static/") && get:
		return s.static(c, strings.TrimPrefix(rest, "static/"))
	case rest == "sign_in" && get:
		return s.signInPage(c, "")
	case rest == "sign_in" && m == http.MethodPost:
		return s.signIn(c)
	case rest == "sign_out" && m == http.MethodPost:
		return s.signOut(c)
	case rest == "projects/new" && get:
		return s.newProjectPage(c, "", nil)
	case rest == "projects" && m == http.MethodPost:
		return s.createProject(c)
	case rest == "runners" && get:
		return s.runnersPage(c, "")
	case rest == "runners" && m == http.MethodPost:
		return s.createRunner(c)
	case strings.HasPrefix(rest, "runners/") && strings.HasSuffix(rest, "/pause") && m == http.MethodPost:
		return s.toggleRunner(c, strings.TrimSuffix(strings.TrimPrefix(rest, "runners/"), "/pause"))
	case rest == "admin" && get:
		return s.adminPage(c)
	case strings.HasPrefix(rest, "ui/pipelines/") && strings.HasSuffix(rest, ".json") && get:
		return s.pipelineJSON(c, strings.TrimSuffix(strings.TrimPrefix(rest, "ui/pipelines/"), ".json"))
	case strings.HasPrefix(rest, "ui/jobs/") && strings.HasSuffix(rest, "/trace.json") && get:
		return s.traceJSON(c, strings.TrimSuffix(strings.TrimPrefix(rest, "ui/jobs/"), "/trace.json"))
	}
	return notFound()
}

func notFound() error { return ci.Errorf(ci.KindNotFound, "404 Page Not Found") }

// projectRoutes serves /<namespace>/<project>[/-/<rest>].
func (s *Server) projectRoutes(c *req) error {
	full, rest, _ := strings.Cut(strings.Trim(c.r.URL.Path, "/"), "/-/")
	if !strings.Contains(full, "/") {
		return notFound()
	}
	proj, err := s.Store.ProjectByFullPath(c.r.Context(), full)
	if ci.IsNotFound(err) {
		return notFound()
	}
	if err != nil {
		return err
	}
	if c.access, err = s.Auth.Access(c.r.Context(), c.p, proj); err != nil {
		return err
	}
	if c.access == ci.AccessNone {
		if c.p == nil {
			return ci.Errorf(ci.KindNotFound, "404 Project Not Found (sign in to see private projects)")
		}
		return ci.Errorf(ci.KindNotFound, "404 Project Not Found")
	}
	c.proj = proj
	m := c.r.Method
	get := m == http.MethodGet || m == http.MethodHead
	post := m == http.MethodPost
	seg := strings.Split(rest, "/")
	switch {
	case rest == "" && get:
		return s.projectPage(c)
	case rest == "pipelines" && get:
		return s.pipelinesPage(c)
	case seg[0] == "pipelines" && len(seg) >= 2:
		return s.pipelineRoutes(c, seg[1], strings.Join(seg[2:], "/"), get, post)
	case seg[0] == "jobs" && len(seg) >= 3 && seg[1] == "artifacts":
		if get {
			return s.refArtifact(c, strings.Join(seg[2:], "/"))
		}
	case seg[0] == "jobs" && len(seg) >= 2:
		return s.jobRoutes(c, seg[1], strings.Join(seg[2:], "/"), get, post)
	}
	return notFound()
}

func (s *Server) pipelineRoutes(c *req, id, rest string, get, post bool) error {
	pl, err := s.pipelineOf(c, id)
	if err != nil {
		return err
	}
	switch {
	case rest == "" && get:
		return s.pipelinePage(c, pl)
	case (rest == "cancel" || rest == "retry") && post:
		return s.pipelineAction(c, pl, rest)
	case rest == "artifacts/download" && get:
		return s.pipelineArtifact(c, pl, "")
	case strings.HasPrefix(rest, "artifacts/raw/") && get:
		return s.pipelineArtifact(c, pl, strings.TrimPrefix(rest, "artifacts/raw/"))
	}
	return notFound()
}

func (s *Server) jobRoutes(c *req, id, rest string, get, post bool) error {
	j, err := s.jobOf(c, id)
	if err != nil {
		return err
	}
	switch {
	case rest == "" && get:
		return s.jobPage(c, j)
	case rest == "raw" && get:
		return s.rawTrace(c, j)
	case (rest == "cancel" || rest == "retry" || rest == "play") && post:
		return s.jobAction(c, j, rest)
	case rest == "artifacts/download" && get:
		return s.jobArchive(c, j)
	case strings.HasPrefix(rest, "artifacts/raw/") && get:
		return s.jobRaw(c, j, strings.TrimPrefix(rest, "artifacts/raw/"))
	case (rest == "artifacts/browse" || strings.HasPrefix(rest, "artifacts/browse/")) && get:
		return s.browsePage(c, j, strings.TrimPrefix(strings.TrimPrefix(rest, "artifacts/browse"), "/"))
	case strings.HasPrefix(rest, "artifacts/file/") && get:
		return s.previewPage(c, j, strings.TrimPrefix(rest, "artifacts/file/"))
	case (rest == "artifacts/keep" || rest == "artifacts/delete") && post:
		return s.artifactAction(c, j, strings.TrimPrefix(rest, "artifacts/"))
	}
	return notFound()
}
