package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/batonci/baton/internal/api"
	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/artifacttoken"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/blob"
	blobfs "github.com/batonci/baton/internal/blob/fs"
	blobs3 "github.com/batonci/baton/internal/blob/s3"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/deploy"
	"github.com/batonci/baton/internal/downstream"
	"github.com/batonci/baton/internal/events"
	"github.com/batonci/baton/internal/gitserve"
	"github.com/batonci/baton/internal/hooks"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/junit"
	"github.com/batonci/baton/internal/planner"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/reaper"
	"github.com/batonci/baton/internal/releases"
	"github.com/batonci/baton/internal/resourcegroup"
	"github.com/batonci/baton/internal/runnerapi"
	"github.com/batonci/baton/internal/schedule"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storeopen"
	"github.com/batonci/baton/internal/sweeper"
	"github.com/batonci/baton/internal/variables"
	"github.com/batonci/baton/internal/web"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// Main is a running Baton server: config → store → services → HTTP. The
// end-to-end tests start exactly this.
type Main struct {
	Config Config
	Logger *slog.Logger

	Store     *store.DB
	Blobs     blob.Store
	Repos     *gitserve.Repos
	Auth      *auth.Authenticator
	Policy    *policy.Policy
	Scheduler *scheduler.Scheduler
	Planner   *planner.Planner
	Reaper    *reaper.Reaper
	Sweeper   *sweeper.Sweeper // orphaned uploads and blobs
	Artifacts *artifacts.Service
	Waiters   *artifacts.Hub  // requests waiting for archives
	Events    *events.Service // pipeline event streams (API and web UI)

	// ArtifactTokens mints and checks the artifact tokens jobs hand out.
	ArtifactTokens *artifacttoken.Service

	Variables *variables.Service
	RunnerAPI *runnerapi.Server
	API       *api.Server
	Web       *web.Server
	Git       *gitserve.Handler
	Hooks     *hooks.Service   // builds and queues webhook events
	Deliverer *hooks.Deliverer // sends queued webhook deliveries
	Schedules *schedule.Runner // fires due pipeline schedules
	// Downstream creates the pipelines bridge jobs (trigger:) ask for.
	Downstream *downstream.Service
	Deploy     *deploy.Service        // deployments and environments, auto-stop
	Resources  *resourcegroup.Service // hands resource groups to waiting jobs
	Releases   *releases.Service      // creates the releases of release: jobs

	// AdminToken is set when Open created the root user: its first token.
	AdminToken string
	// GeneratedKeyFile is set when Open generated the secrets key (baton up).
	GeneratedKeyFile string

	listener net.Listener
	queue    *runnerapi.Queue
	server   *http.Server
	cancel   context.CancelFunc
	loops    sync.WaitGroup
}

// Open builds every component of Main from m.Config without serving yet:
// store, blobs, repositories, authentication and policy, the services and
// loops (scheduler, planner, artifacts, events, hooks and their deliverer,
// schedules, downstream, deployments, resource groups, releases, reaper,
// sweeper) and the four surfaces (runner protocol, API, web UI, git over
// HTTP). Nothing is built later: after Open every field is set
// (TestOpenBuildsEverything), and Serve only starts them.
func (m *Main) Open(ctx context.Context) error {
	if err := m.Config.finish(); err != nil {
		return err
	}
	if m.Logger == nil {
		m.Logger = m.Config.logger(os.Stderr)
	}
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data directory: %w", err)
	}
	// The server's opener claims a SQLite database before migrating it: a
	// second server fails without changing what the first remembers.
	db, err := openStore(ctx, m.Config.DatabaseURL, storeopen.OpenServer)
	if err != nil {
		return err
	}
	db.RememberReads(int(m.Config.ReadCacheEntries))
	m.Store = db
	if m.Blobs, err = m.openBlobs(ctx); err != nil {
		return err
	}
	if m.Repos, err = gitserve.NewRepos(m.Config.ReposDir); err != nil {
		return fmt.Errorf("opening repositories: %w", err)
	}
	m.Config.RepoReads.apply(m.Repos)
	m.Auth = auth.New(db, nil)
	m.Policy = policy.New(db)
	m.queue = runnerapi.NewQueue(db)
	m.Waiters = artifacts.NewHub(int(m.Config.MaxWaiters), int(m.Config.MaxWaitersPerClient))
	m.Events = &events.Service{Store: db, Hub: events.NewHub(int(m.Config.MaxEventStreams), int(m.Config.MaxEventStreamsPer)),
		Logger: m.Logger}
	m.Hooks = hooks.New(db, hookRepo{m.Repos}, m.Config.ExternalURL, m.Logger)
	m.Deliverer = m.deliverer()
	// Bridge jobs (trigger:) are the downstream service's; it hears of
	// them through the scheduler's events, as webhooks do.
	m.Downstream = downstream.New(downstream.Service{Store: db, Policy: m.Policy, ExternalURL: m.Config.ExternalURL,
		MaxConfigBytes: m.Config.MaxChildConfigBytes, Logger: m.Logger})
	m.Resources = &resourcegroup.Service{Store: db, Logger: m.Logger}
	m.Releases = &releases.Service{Store: db, Code: m.Repos, ServerURL: m.Config.ExternalURL,
		MaxLinks: int(m.Config.MaxReleaseLinks), Logger: m.Logger}
	m.Deploy = deploy.New(db, deploy.Options{Logger: m.Logger, MaxEnvironments: int(m.Config.MaxEnvironments)})
	// No Notify hook for held job requests: the store tells QueueChannel
	// of every job made pending (PostgreSQL's triggers, SQLite's writes),
	// and m.queue's Relay wakes them from there; a hook as well woke each
	// held request twice per new job.
	// Jobs the scheduler finishes (cancel, timeout, stuck, skip) wake the
	// requests waiting for their artifacts.
	m.Scheduler = scheduler.New(db, scheduler.Options{Logger: m.Logger, StuckAfter: m.Config.StuckAfter,
		Finished: func(project, pipeline int64) { m.Artifacts.Notify(project, pipeline) }, JobTimeout: m.jobTimeout, Interval: sweepInterval(m.Config.StuckAfter),
		Events: statusListeners{m.Hooks, m.Downstream, m.Deploy}, Coverage: db, Delayed: m.delayedWake(db), Resources: m.Resources})
	m.Deploy.Jobs, m.Resources.Jobs = m.Scheduler, m.Scheduler
	if m.Variables, err = m.openVariables(ctx); err != nil {
		return err
	}
	m.Planner = planner.New(gitSource{m.Repos}, db, m.Scheduler, m.Policy, planner.Options{ExternalURL: m.Config.ExternalURL, Version: version, Logger: m.Logger, Includes: m.includes(db), Variables: m.Variables,
		DefaultBranchCreated: m.protectDefaultBranch,
		Limits: planner.Limits{MaxPlanBytes: m.Config.MaxPlanBytes, MaxVariableBytes: m.Config.MaxVariableBytes, MaxVariables: m.Config.MaxVariables,
			MaxChangedPaths: m.Config.MaxChangedPaths}})
	m.Artifacts = &artifacts.Service{Store: db, Blobs: m.Blobs, RedirectDownloads: m.Config.ArtifactDownload == "redirect",
		// 256 MiB of indexes: one of up to ~300,000 entries stays in memory.
		Indexes: archive.NewCache(256 << 20), Waiters: m.Waiters, Logger: m.Logger,
		TempDir: filepath.Join(m.Config.DataDir, "tmp")}
	m.ArtifactTokens = m.artifactTokens(db)
	m.Downstream.Planner, m.Downstream.Scheduler, m.Downstream.Artifacts = m.Planner, m.Scheduler, m.Artifacts
	m.Reaper = reaper.New(db, m.Blobs, reaper.Options{KeepLatest: m.Config.KeepLatest, Logger: m.Logger})
	m.RunnerAPI = runnerapi.New(db, m.Blobs, m.queue, runnerapi.Options{
		Scheduler: m.Scheduler, Auth: m.Auth, Policy: m.Policy, Artifacts: m.Artifacts, Index: m.indexer(),
		ExternalURL: m.Config.ExternalURL, Version: version, LongPoll: longPoll(m.Config.LongPoll),
		MaxArtifactSize: m.Config.MaxArtifactMiB << 20, DefaultArtifactExpireIn: m.Config.DefaultExpireIn,
		MaxPublished: int(m.Config.MaxPublished),
		JUnit:        junit.Limits{MaxBytes: m.Config.MaxJUnitMiB << 20, MaxCases: int(m.Config.MaxJUnitCases)},
		TraceLimit:   m.Config.TraceLimitMB << 20, Logger: m.Logger, Variables: m.Variables,
		Releases: m.Releases,
	})
	m.API = &api.Server{Store: db, Auth: m.Auth, Policy: m.Policy, Scheduler: m.Scheduler, Planner: m.Planner, Repos: m.Repos,
		Blobs: m.Blobs, Artifacts: m.Artifacts, ArtifactTokens: m.ArtifactTokens, Variables: m.Variables, Events: m.Events, Code: m.Repos, Hooks: m.Hooks, Automation: m.apiAutomation(), Environments: m.Deploy, Releases: m.Releases,
		ExternalURL: m.Config.ExternalURL, Version: version, Logger: m.Logger}
	m.Schedules = m.scheduleRunner()
	m.Web = web.New(web.Deps{Store: db, Auth: m.Auth, Policy: m.Policy, Scheduler: m.Scheduler, Linter: m.Planner, Artifacts: m.Artifacts, Repos: m.Repos, Variables: m.Variables,
		RegistrationToken: m.RunnerAPI.RegistrationToken, ExternalURL: m.Config.ExternalURL, Version: version, Logger: m.Logger,
		SessionIdle: m.Config.SessionIdle, SessionMaxAge: m.Config.SessionMaxAge, Automation: m.webAutomation(), Events: m.Events,
		ArtifactTokens: m.ArtifactTokens, Environments: m.Deploy})
	// The sweeper removes what crashed uploads leave: unfinished uploads,
	// index spills in DATA_DIR/tmp and artifact bytes no row references
	// (Serve runs it unless --orphan-after is 0).
	m.Sweeper = &sweeper.Sweeper{Store: db, Blobs: m.Blobs, TempDirs: []string{filepath.Join(m.Config.DataDir, "tmp")},
		OlderThan: m.Config.OrphanAfter, Logger: m.Logger}
	m.Git = &gitserve.Handler{Repos: m.Repos, Logger: m.Logger, MaxPushBytes: m.Config.MaxPushMiB << 20,
		Resolve:       db.ProjectByFullPath,
		AuthorizeUser: gitAccess{m.Auth, m.Policy}.authorize,
		OnPush:        m.onPush,
		CheckPush:     gitAccess{m.Auth, m.Policy}.checkPush(db.ListProtectedRefs, m.Config.branchProtection),
	}
	if m.AdminToken, err = bootstrap(ctx, db); err != nil {
		return err
	}
	return nil
}

// indexer builds archive indexes under the configured limits, spilling
// large ones to DATA_DIR/tmp (the system's temporary directory may be
// memory-backed).
func (m *Main) indexer() runnerapi.Indexer {
	lim := archive.Limits{MaxEntries: m.Config.MaxArtifactEntries, MaxUncompressed: m.Config.MaxArtifactUncompressedMiB,
		TempDir: filepath.Join(m.Config.DataDir, "tmp")}
	if lim.MaxUncompressed > 0 {
		lim.MaxUncompressed <<= 20
	}
	return indexer{lim}
}

// indexer is archive.Limits whose temporary directory is created on use.
type indexer struct{ lim archive.Limits }

func (ix indexer) NewDigester() *archive.Digester {
	_ = os.MkdirAll(ix.lim.TempDir, 0o700) // if this fails, so does spilling: entries are then read to hash them
	return ix.lim.NewDigester()
}

func (ix indexer) Build(r io.ReaderAt, size int64, streamed *archive.Digests) (*archive.Index, error) {
	if err := os.MkdirAll(ix.lim.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating temporary directory: %w", err)
	}
	return archive.BuildStreamed(r, size, ix.lim, streamed)
}

// openStore opens the store at --database-url (storeopen.Open, the
// opener the tests use too).
func openStore(ctx context.Context, url string, open func(context.Context, string) (*store.DB, error)) (*store.DB, error) {
	db, err := open(ctx, url)
	if ci.KindOf(err) == ci.KindInvalid {
		return nil, fmt.Errorf("--database-url %q: want sqlite:PATH or postgres://...", url)
	}
	return db, err
}

func (m *Main) openBlobs(ctx context.Context) (blob.Store, error) {
	c := m.Config
	if c.ArtifactStore == "s3" {
		s, err := blobs3.New(ctx, blobs3.Config{Endpoint: c.S3Endpoint, Bucket: c.S3Bucket, Region: c.S3Region,
			AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey, UseSSL: c.S3UseSSL, PathStyle: c.S3PathStyle,
			CreateBucket: c.S3CreateBucket})
		if err != nil {
			return nil, fmt.Errorf("opening S3 bucket %s: %w", c.S3Bucket, err)
		}
		return s, nil
	}
	s, err := blobfs.New(filepath.Join(c.DataDir, "artifacts"))
	if err != nil {
		return nil, fmt.Errorf("opening artifact directory: %w", err)
	}
	return s, nil
}

// bootstrap creates the administrator root on first start and returns its
// first personal access token; on later starts it returns "".
func bootstrap(ctx context.Context, db *store.DB) (string, error) {
	if _, err := db.UserByUsername(ctx, "root"); err == nil {
		return "", nil
	} else if !ci.IsNotFound(err) {
		return "", fmt.Errorf("looking up root: %w", err)
	}
	root := &ci.User{Username: "root", Name: "Administrator", Email: "admin@example.com", Admin: true}
	if err := db.CreateUser(ctx, root); err != nil {
		if ci.IsConflict(err) { // another replica was first
			return "", nil
		}
		return "", fmt.Errorf("creating root: %w", err)
	}
	return createToken(ctx, db, root, "initial admin token", []string{ci.ScopeAPI, ci.ScopeWriteRepo, ci.ScopeCreateRunner}, nil)
}

func createToken(ctx context.Context, db *store.DB, u *ci.User, name string, scopes []string, expires *time.Time) (string, error) {
	secret, hash := auth.NewToken(auth.PrefixPersonal)
	t := &ci.PersonalToken{UserID: u.ID, Name: name, Scopes: scopes, TokenHash: hash, ExpiresAt: expires}
	if err := db.CreatePersonalToken(ctx, t); err != nil {
		return "", fmt.Errorf("creating token: %w", err)
	}
	return secret, nil
}

// Handler is Baton's whole HTTP surface.
func (m *Main) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "GitLab OK")
	})
	mux.HandleFunc("GET /-/readiness", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := m.Store.Ping(ctx); err != nil {
			httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "failed", "db_check": []map[string]string{{"status": "failed", "message": "database unreachable"}}})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "db_check": []map[string]string{{"status": "ok"}}})
	})
	m.RunnerAPI.Register(mux)
	m.API.Register(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := gitserve.Match(r.URL.Path); ok {
			// Clones and pushes stream for as long as the repository needs.
			httpx.Hold(w, gitTransferTime)
			m.Git.ServeHTTP(w, r)
			return
		}
		m.Web.ServeHTTP(w, r)
	})
	metrics := httpx.NewMetrics()
	metrics.Token = m.Config.MetricsToken
	mux.Handle("GET /metrics", metrics)
	return httpx.TrustProxies(m.Config.trustedProxies, httpx.WithRequestLog(m.Logger, metrics, httpx.RejectTraversal(mux)))
}

// sweepInterval is how often the scheduler sweeps: every 30 s, or twice
// per --stuck-after when that is shorter, so that a job whose runner or
// replica vanished fails within about 1.5 × --stuck-after.
func sweepInterval(stuckAfter time.Duration) time.Duration {
	if stuckAfter > 0 && stuckAfter/2 < 30*time.Second {
		return max(stuckAfter/2, 100*time.Millisecond)
	}
	return 30 * time.Second
}

// gitTransferTime is how long one git HTTP request may take, past the
// server's read and write timeouts.
const gitTransferTime = time.Hour

// longPoll maps --long-poll to the runner API's setting, where 0 means
// "the default": on the command line 0 turns holding off.
func longPoll(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// jobTimeout is a job's timeout: its own (or an hour), capped by its
// runner's maximum.
func (m *Main) jobTimeout(ctx context.Context, j *ci.Job) time.Duration {
	d := scheduler.DefaultJobTimeout(j)
	if j.RunnerID == 0 {
		return d
	}
	if r, err := m.Store.RunnerByID(ctx, j.RunnerID); err == nil && r.MaximumTimeout > 0 {
		d = min(d, time.Duration(r.MaximumTimeout)*time.Second)
	}
	return d
}

func (m *Main) onPush(ctx context.Context, proj *ci.Project, pusher string, updates []gitserve.RefUpdate) {
	var pusherID int64
	user, err := m.Store.UserByUsername(ctx, pusher)
	if err == nil {
		pusherID = user.ID
	}
	planned := make([]planner.RefUpdate, 0, len(updates))
	hooked := make([]hooks.RefUpdate, 0, len(updates))
	for _, u := range updates {
		planned = append(planned, planner.RefUpdate{Name: u.Name, Tag: u.Tag, OldSHA: u.OldSHA, NewSHA: u.NewSHA, Deleted: u.Deleted})
		hooked = append(hooked, hooks.RefUpdate{Name: u.Name, Tag: u.Tag, OldSHA: u.OldSHA, NewSHA: u.NewSHA, Deleted: u.Deleted})
	}
	// The push event first: a receiver hears of the push before its pipeline.
	m.Hooks.Push(ctx, proj, user, hooked)
	m.Planner.Push(ctx, proj, pusherID, planned)
}

// Serve listens on Config.Listen (or the given listener) and starts the
// background loops. It returns once the server is accepting connections.
func (m *Main) Serve(ctx context.Context, ln net.Listener) error {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", m.Config.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", m.Config.Listen, err)
		}
	}
	ln = newLimitListener(ln, m.Config.connectionCap(m.Logger))
	m.listener = ln
	// Requests do not end with ctx: at shutdown a built-in runner still
	// reports its jobs, and Close ends what is left after Shutdown.
	reqCtx, cancelRequests := context.WithCancel(context.WithoutCancel(ctx))
	ctx, cancelLoops := context.WithCancel(ctx)
	m.cancel = func() { cancelLoops(); cancelRequests() }
	m.server = m.Config.httpServer(m.Handler(), m.Logger)
	m.server.BaseContext = func(net.Listener) context.Context { return reqCtx }
	m.loop(ctx, "scheduler", m.Scheduler.Run)
	m.loop(ctx, "delayed-jobs", func(ctx context.Context) error {
		wake, err := m.Store.Listen(ctx, scheduler.DelayedChannel)
		if err != nil {
			return fmt.Errorf("listening for delayed jobs: %w", err)
		}
		return m.Scheduler.RunDelayed(ctx, wake)
	})
	m.loop(ctx, "queue-relay", func(ctx context.Context) error { return m.queue.Relay(ctx, m.Store) })
	m.loop(ctx, "artifact-waits", func(ctx context.Context) error { return m.Waiters.Relay(ctx, m.Store) })
	m.loop(ctx, "event-streams", func(ctx context.Context) error { return m.Events.Hub.Relay(ctx, m.Store) })
	m.loop(ctx, "artifact-reaper", m.Reaper.Run)
	m.loop(ctx, "pipeline-schedules", m.Schedules.Run)
	m.loop(ctx, "bridge-jobs", m.Downstream.Run)
	m.loop(ctx, "webhook-deliveries", m.Deliverer.Run)
	m.loop(ctx, "environment-auto-stop", m.Deploy.Run)
	m.loop(ctx, "resource-groups", m.Resources.Run)
	if m.Config.OrphanAfter > 0 {
		m.loop(ctx, "orphan-sweeper", m.Sweeper.Run)
	}
	go func() {
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("serving HTTP", "err", err)
		}
	}()
	m.Logger.Info("Baton is listening", "addr", ln.Addr().String(), "url", m.Config.ExternalURL, "database", redactURL(m.Config.DatabaseURL))
	return nil
}

// statusListeners tells every listener of the scheduler's status changes.
type statusListeners []scheduler.Events

func (e statusListeners) Pipeline(ctx context.Context, p *ci.Pipeline) {
	for _, l := range e {
		l.Pipeline(ctx, p)
	}
}

func (e statusListeners) Job(ctx context.Context, j *ci.Job) {
	for _, l := range e {
		l.Job(ctx, j)
	}
}

// delayedWake tells every replica's RunDelayed (this one's too) that a
// job became scheduled, so that each sleeps until the earliest one.
func (m *Main) delayedWake(db *store.DB) func() {
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := db.Notify(ctx, scheduler.DelayedChannel, ""); err != nil {
			m.Logger.Warn("waking the delayed-job loops; they find the job at the next sweep", "err", err)
		}
	}
}

// loop runs a background loop until ctx ends, restarting it after errors.
func (m *Main) loop(ctx context.Context, name string, run func(context.Context) error) {
	m.loops.Add(1)
	go func() {
		defer m.loops.Done()
		for ctx.Err() == nil {
			if err := run(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("background loop failed; restarting", "loop", name, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(5 * time.Second):
				}
			}
		}
	}()
}

// Close stops serving (waiting up to 10 s for requests in flight), stops the
// background loops and closes the store.
func (m *Main) Close() error {
	if m.queue != nil {
		m.queue.Close() // ends held job requests, which Shutdown would wait for
	}
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.server.Shutdown(ctx)
	}
	if m.Git != nil {
		m.Git.Wait() // pushes still creating pipelines
	}
	if m.cancel != nil {
		m.cancel() // background loops, and requests Shutdown gave up on
	}
	m.loops.Wait()
	if m.Store != nil {
		return m.Store.Close()
	}
	return nil
}

// redactURL hides a password in a database URL for logs.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	cred := u[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return u[:scheme+3] + cred[:i] + ":***" + u[at:]
	}
	return u
}
