// Package runnerapi is the coordinator side of the GitLab runner protocol:
// runner registration under /api/v4/runners and the job routes a runner
// calls (/api/v4/jobs/request, job updates, trace patches, artifact upload
// and download). The stock gitlab-runner and Baton's own runner work against
// it unchanged; /work/shared/reference/runner-protocol.md is the contract.
package runnerapi

import (
	"context"
	"github.com/batonci/baton/internal/archive"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"time"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/junit"
	"github.com/batonci/baton/internal/policy"
)

// Store is what the runner protocol reads and writes (store.DB), with
// what its default artifacts service reads.
type Store interface {
	artifacts.Store
	// LinkOf finds the upstream of a downstream pipeline (needs:pipeline).
	LinkOf(ctx context.Context, pipelineID int64) (*ci.PipelineLink, error)
	// ProjectByFullPath finds a needs:project project.
	ProjectByFullPath(ctx context.Context, fullPath string) (*ci.Project, error)

	// Runners: registration, verification, management.
	CreateRunner(ctx context.Context, r *ci.Runner) error
	RunnerByID(ctx context.Context, id int64) (*ci.Runner, error)
	RunnerByTokenHash(ctx context.Context, hash string) (*ci.Runner, error)
	ListRunners(ctx context.Context, f ci.RunnerFilter) ([]*ci.Runner, int, error)
	UpdateRunner(ctx context.Context, r *ci.Runner) error
	TouchRunner(ctx context.Context, r *ci.Runner) error
	DeleteRunner(ctx context.Context, id int64) error
	// The registration token.
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error

	// Jobs: assignment, updates, traces.
	AssignNextJob(ctx context.Context, r *ci.Runner, tokenHash string, now time.Time) (*ci.Job, error)
	JobByID(ctx context.Context, id int64) (*ci.Job, error)
	JobByTokenHash(ctx context.Context, hash string) (*ci.Job, error)
	UpdateJob(ctx context.Context, j *ci.Job, from ci.Status) error
	TouchJob(ctx context.Context, id int64, at time.Time) error
	AppendTrace(ctx context.Context, jobID, offset int64, data []byte) (int64, error)
	// AppendMaskedTrace is AppendTrace with masked values replaced, their
	// starts held back across patches.
	AppendMaskedTrace(ctx context.Context, jobID, offset int64, data []byte, mask *ci.TraceMask) (int64, error)
	ReadTrace(ctx context.Context, jobID, offset, limit int64) ([]byte, error)
	CreateArtifact(ctx context.Context, a *ci.Artifact) error
	// A zip archive's row with its files' digests; removed again when
	// reading the index failed after the row was written.
	CreateArchive(ctx context.Context, a *ci.Artifact, files iter.Seq[ci.ArtifactFile]) error
	// A published artifact in place of the job's one of the same name.
	ReplaceArtifact(ctx context.Context, a *ci.Artifact) (*ci.Artifact, error)
	DeleteArtifact(ctx context.Context, id int64) error
	// A junit artifact's row with the test suite parsed from it.
	CreateTestReport(ctx context.Context, a *ci.Artifact, suite *ci.TestSuite) error

	// A job's payload.
	ProjectByID(ctx context.Context, id int64) (*ci.Project, error)
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
	PipelineSpec(ctx context.Context, pipelineID int64) (*ci.PipelineSpec, error)
	UserByID(ctx context.Context, id int64) (*ci.User, error)
}

// Scheduler is told when a runner took a job (the pipeline starts running)
// and when a job reached its final state (the pipeline advances).
type Scheduler interface {
	JobStarted(ctx context.Context, jobID int64) error
	JobFinished(ctx context.Context, jobID int64) error
}

// Indexer indexes zip archives (archive.Limits is one). NewDigester is
// fed the bytes of an upload as they stream into the blob store; Build then
// indexes the stored archive with the digests it found. A corrupt or non-zip
// archive is KindInvalid with a client-safe message, one over a limit
// KindTooLarge.
type Indexer interface {
	NewDigester() *archive.Digester
	Build(r io.ReaderAt, size int64, streamed *archive.Digests) (*archive.Index, error)
}

// Defaults for the zero values of Server's fields.
const (
	DefaultLongPoll        = 50 * time.Second
	DefaultTraceLimit      = 16 << 20
	DefaultMaxArtifactSize = 100 << 20 // GitLab's self-managed default
	defaultJobTimeout      = 3600
	traceUpdateInterval    = "3"
)

// Options configure a Server. Zero values take the defaults.
type Options struct {
	// Scheduler advances pipelines as jobs start and finish; nil: no advance.
	Scheduler Scheduler
	// Index builds an archive's entry index; it is stored next to the
	// archive under IndexKey. nil stores archives without an index.
	Index Indexer
	// Auth authenticates personal access tokens for /user/runners and the
	// runner management routes; nil: no PAT-authenticated management.
	Auth *auth.Authenticator
	// Policy decides runner management (admins, project Maintainers, group Owners).
	Policy *policy.Policy
	// ExternalURL is how runners and jobs reach Baton, without trailing
	// slash (CI_SERVER_URL, repo_url, CI_API_V4_URL, ...). Required.
	ExternalURL string
	// Version is Baton's build version (CI_SERVER_REVISION).
	Version string
	// LongPoll is how long a job request is held when nothing is queued;
	// 0 means DefaultLongPoll, negative disables holding.
	LongPoll time.Duration
	// MaxArtifactSize limits one uploaded file in bytes; 0 means
	// DefaultMaxArtifactSize, negative means unlimited.
	MaxArtifactSize int64
	// DefaultArtifactExpireIn applies when an upload names no expire_in
	// (GitLab duration syntax, e.g. "30 days"); "" keeps artifacts forever.
	DefaultArtifactExpireIn string
	// MaxPublished bounds the named artifacts one job attempt publishes;
	// 0 means DefaultMaxPublished, negative no limit.
	MaxPublished int
	// JUnit bounds the junit reports parsed on upload (uncompressed size,
	// test cases); a report over a bound is kept with a suite error.
	JUnit junit.Limits
	// TraceLimit is a job's maximum log size; 0 means DefaultTraceLimit.
	TraceLimit int64
	// Artifacts serves dependency downloads (redirecting to signed URLs
	// when it is set to) and wakes waits for archives on uploads and job
	// finishes; nil: a proxying service over the store and blobs.
	Artifacts *artifacts.Service
	// Variables resolves the CI/CD variables of a project's pipelines
	// (variables.Service); nil: jobs get none.
	Variables Variables
	// Releases creates the release of a job's release: keyword when its
	// script succeeded (releases.Service); nil: no releases.
	Releases Releaser
	Logger   *slog.Logger // nil: discard
	Now      func() time.Time
}

// Releaser creates the release a job's release: keyword describes. An
// error of a client kind (ci.KindInvalid, KindConflict, ...) is the job's
// fault: it fails the job as release-cli would.
type Releaser interface {
	CreateFromJob(ctx context.Context, j *ci.Job) (*ci.Release, error)
}

// Variables resolves the CI/CD variables a project's pipelines may get.
type Variables interface {
	ForProject(ctx context.Context, proj *ci.Project) (ci.ScopedVariables, error)
}

// Server serves the runner protocol: build it with New, then call Register.
type Server struct {
	Store Store
	Blobs blob.Store
	// Queue wakes long-polling job requests.
	Queue *Queue
	Options

	masks traceMasks
}

// New returns the runner protocol on store, blobs and queue, every
// default of opts filled in.
func New(store Store, blobs blob.Store, queue *Queue, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Artifacts == nil {
		opts.Artifacts = &artifacts.Service{Store: store, Blobs: blobs, Logger: opts.Logger}
	}
	return &Server{Store: store, Blobs: blobs, Queue: queue, Options: opts}
}

// Register adds the runner protocol's routes to mux, each with the most
// body bytes it reads: httpx.SmallBody for JSON and form routes (several
// of which read the body before they can authenticate: registration,
// verify, jobs/request), a trace chunk for trace patches, and the artifact
// size limit for uploads.
func (s *Server) Register(mux httpx.Mux) {
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, httpx.LimitBody(rt.body, s.wrap(rt.ability, rt.handler)))
	}
}

// route is one line of the route table: method and path, the ability the
// caller needs (management routes) or the token the route authenticates
// (the protocol's markers), the most body bytes it reads, the handler.
type route struct {
	pattern string
	ability policy.Ability
	body    int64
	handler handlerFunc
}

// routes is the runner API's route table.
func (s *Server) routes() []route {
	const small = httpx.SmallBody
	upload, publish := int64(-1), int64(-1)
	if max := s.maxArtifactSize(); max > 0 {
		upload, publish = max+multipartSlack, max
	}
	return []route{
		// The runner protocol: registration and runner tokens.
		{"POST /api/v4/runners", policy.RunnerToken, small, s.registerRunner},
		{"POST /api/v4/runners/verify", policy.RunnerToken, small, s.verifyRunner},
		{"DELETE /api/v4/runners", policy.RunnerToken, small, s.unregisterRunner},
		{"DELETE /api/v4/runners/managers", policy.RunnerToken, small, s.unregisterManager},
		{"POST /api/v4/runners/reset_authentication_token", policy.RunnerToken, small, s.resetOwnToken},
		{"POST /api/v4/jobs/request", policy.RunnerToken, small, s.requestJob},

		// The runner protocol: job tokens.
		{"PUT /api/v4/jobs/{id}", policy.JobToken, small, s.updateJob},
		{"PATCH /api/v4/jobs/{id}/trace", policy.JobToken, maxTracePatch, s.patchTrace},
		{"POST /api/v4/jobs/{id}/artifacts", policy.JobToken, upload, s.uploadArtifact},
		{"GET /api/v4/jobs/{id}/artifacts", policy.JobToken, small, s.downloadArtifact},
		{"PUT /api/v4/jobs/{id}/artifacts/publish/{name}", policy.OwnJobToken, publish, s.publishArtifact},

		// Runner management, by personal access tokens.
		{"POST /api/v4/runners/reset_registration_token", policy.AdminInstance, small, s.resetRegistrationToken},
		{"POST /api/v4/user/runners", policy.CreateRunner, small, s.createUserRunner},
		{"GET /api/v4/runners", policy.ListInstanceRunner, small, s.listRunners},
		{"GET /api/v4/runners/all", policy.ListInstanceRunner, small, s.listRunners},
		{"GET /api/v4/runners/{id}", policy.ReadRunner, small, s.getRunner},
		{"PUT /api/v4/runners/{id}", policy.AdminRunner, small, s.updateRunner},
		{"DELETE /api/v4/runners/{id}", policy.AdminRunner, small, s.deleteRunner},
		{"POST /api/v4/runners/{id}/reset_authentication_token", policy.AdminRunner, small, s.resetRunnerToken},
	}
}

// Routes describes the route table for checks that walk every surface.
func (s *Server) Routes() []policy.Route {
	rts := s.routes()
	out := make([]policy.Route, len(rts))
	for i, rt := range rts {
		out[i] = policy.Route{Pattern: rt.pattern, Ability: rt.ability, Body: rt.body}
	}
	return out
}

// handlerFunc is a handler that returns its error for httpx.WriteError.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// abilityKey is where wrap puts the route's ability for the management
// handlers' policy questions.
type abilityKey struct{}

// routeAbility is the ability of the route serving r (the zero Ability,
// which the policy refuses, outside a route).
func routeAbility(r *http.Request) policy.Ability {
	a, _ := r.Context().Value(abilityKey{}).(policy.Ability)
	return a
}

func (s *Server) wrap(a policy.Ability, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.Resource() != policy.ResourceMarker {
			// Only the management routes ask the policy; the protocol's
			// hot paths keep their request as it came.
			r = r.WithContext(context.WithValue(r.Context(), abilityKey{}, a))
		}
		if err := h(w, r); err != nil {
			httpx.WriteError(w, r, s.logger(), err)
		}
	})
}

func (s *Server) logger() *slog.Logger { return s.Logger }

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) longPoll() time.Duration {
	if s.LongPoll == 0 {
		return DefaultLongPoll
	}
	return s.LongPoll
}

func (s *Server) traceLimit() int64 {
	if s.TraceLimit <= 0 {
		return DefaultTraceLimit
	}
	return s.TraceLimit
}

func (s *Server) maxArtifactSize() int64 {
	if s.MaxArtifactSize == 0 {
		return DefaultMaxArtifactSize
	}
	return s.MaxArtifactSize
}

func (s *Server) jobStarted(ctx context.Context, jobID int64) {
	if s.Scheduler == nil {
		return
	}
	if err := s.Scheduler.JobStarted(ctx, jobID); err != nil {
		s.logger().ErrorContext(ctx, "updating pipeline after job started", "job_id", jobID, "err", err)
	}
}

// jobFinished advances the job's pipeline and wakes the waits for
// archives of its pipeline (they answer now that none is coming).
func (s *Server) jobFinished(ctx context.Context, j *ci.Job) {
	defer s.Artifacts.Notify(j.ProjectID, j.PipelineID)
	s.forgetMask(j.ID)
	if s.Scheduler == nil {
		return
	}
	if err := s.Scheduler.JobFinished(ctx, j.ID); err != nil {
		s.logger().ErrorContext(ctx, "advancing pipeline after job finished", "job_id", j.ID, "err", err)
	}
}
