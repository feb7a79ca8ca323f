package runnerapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/blob/fs"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/planner"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

const testSHA = "0123456789abcdef0123456789abcdef01234567"

// env is a running runner API on a real store, blob store and scheduler.
type env struct {
	t        *testing.T
	db       *store.DB
	srv      *Server
	sched    *scheduler.Scheduler
	url      string
	blobRoot string
	admin    *ci.User
	pat      string // admin's personal token
	project  *ci.Project
	runner   string // token of an instance runner that runs untagged jobs
	// pipelineVars are given to the next pipelines, as the API would.
	pipelineVars []ci.Variable
}

func newEnv(t *testing.T, opts ...func(*Server)) *env {
	return newEnvOn(t, storetest.OpenSQLite(t), opts...)
}

func newEnvOn(t *testing.T, db *store.DB, opts ...func(*Server)) *env {
	t.Helper()
	ctx := context.Background()
	blobRoot := t.TempDir()
	blobs, err := fs.New(blobRoot)
	if err != nil {
		t.Fatalf("opening blob store: %v", err)
	}
	q := NewQueue(db)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sched := scheduler.New(db, scheduler.Options{Notify: q.Notify, Logger: logger})
	srv := New(db, blobs, q, Options{
		Scheduler: sched, Logger: logger,
		Index:    archive.Limits{},
		Auth:     auth.New(db, nil),
		Policy:   policy.New(db),
		LongPoll: -1,
	})
	for _, o := range opts {
		o(srv)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	t.Cleanup(q.Close)
	// As the server does: the database's queue notifications wake holds.
	rctx, stopRelay := context.WithCancel(context.Background())
	relayed := make(chan struct{})
	go func() { defer close(relayed); _ = q.Relay(rctx, db) }()
	t.Cleanup(func() { stopRelay(); <-relayed })
	srv.ExternalURL = hs.URL

	e := &env{t: t, db: db, srv: srv, sched: sched, url: hs.URL, blobRoot: blobRoot}
	e.admin = &ci.User{Username: "root", Name: "Root", Email: "root@example.com", Admin: true}
	if err := db.CreateUser(ctx, e.admin); err != nil {
		t.Fatalf("creating user: %v", err)
	}
	e.pat = e.token(e.admin, ci.ScopeAPI)
	ns, err := db.NamespaceOfUser(ctx, e.admin.ID)
	if err != nil {
		t.Fatalf("loading namespace: %v", err)
	}
	e.project = &ci.Project{NamespaceID: ns.ID, Name: "Demo", Path: "demo", Visibility: ci.VisibilityPrivate, DefaultBranch: "main", CreatorID: e.admin.ID}
	if err := db.CreateProject(ctx, e.project); err != nil {
		t.Fatalf("creating project: %v", err)
	}
	e.runner = e.newRunner(&ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true})
	return e
}

// token creates a personal access token for u.
func (e *env) token(u *ci.User, scopes ...string) string {
	e.t.Helper()
	secret, hash := auth.NewToken(auth.PrefixPersonal)
	if err := e.db.CreatePersonalToken(context.Background(), &ci.PersonalToken{UserID: u.ID, Name: "t", Scopes: scopes, TokenHash: hash}); err != nil {
		e.t.Fatalf("creating token: %v", err)
	}
	return secret
}

// newRunner stores r with a fresh token and returns the token.
func (e *env) newRunner(r *ci.Runner) string {
	e.t.Helper()
	secret, hash := auth.NewToken(auth.PrefixRunner)
	r.TokenHash = hash
	if r.AccessLevel == "" {
		r.AccessLevel = "not_protected"
	}
	if err := e.db.CreateRunner(context.Background(), r); err != nil {
		e.t.Fatalf("creating runner: %v", err)
	}
	return secret
}

// pipeline creates a pipeline of the env's project on main with the given
// stages and jobs; jobs of the first stage are pending afterwards.
func (e *env) pipeline(stages []string, jobs ...ci.JobSpec) *ci.Pipeline {
	e.t.Helper()
	for i := range jobs {
		if jobs[i].When == "" {
			jobs[i].When = ci.WhenOnSuccess
		}
	}
	p := &ci.Pipeline{ProjectID: e.project.ID, Ref: "main", SHA: testSHA, Source: ci.SourcePush, UserID: e.admin.ID, CommitTitle: "first", Variables: e.pipelineVars}
	e.create(p, &ci.PipelinePlan{Stages: stages, Jobs: jobs})
	return p
}

// create persists and schedules p with plan, the planner's last two steps.
func (e *env) create(p *ci.Pipeline, plan *ci.PipelinePlan) {
	e.t.Helper()
	pl := planner.New(nil, e.db, e.sched, policy.New(e.db), planner.Options{})
	if err := pl.Persist(context.Background(), p, plan); err != nil {
		e.t.Fatalf("creating pipeline: %v", err)
	}
	if err := pl.Schedule(context.Background(), p); err != nil {
		e.t.Fatalf("scheduling pipeline: %v", err)
	}
}

func (e *env) job(id int64) *ci.Job {
	e.t.Helper()
	j, err := e.db.JobByID(context.Background(), id)
	if err != nil {
		e.t.Fatalf("loading job %d: %v", id, err)
	}
	return j
}

// do sends a request; body may be nil, a []byte, an io.Reader or a value to
// encode as JSON. headers alternate names and values.
func (e *env) do(method, path string, body any, headers ...string) *http.Response {
	e.t.Helper()
	var rd io.Reader
	isJSON := false
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		data, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encoding body: %v", err)
		}
		rd, isJSON = bytes.NewReader(data), true
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatalf("building request: %v", err)
	}
	if isJSON {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// expect checks the status and returns the body.
func expect(t *testing.T, resp *http.Response, status int) []byte {
	t.Helper()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	return body
}

// expectJSON checks the status and a JSON Content-Type and decodes into v.
func expectJSON(t *testing.T, resp *http.Response, status int, v any) {
	t.Helper()
	body := expect(t, resp, status)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("decoding %s: %v", body, err)
		}
	}
}

// info is what gitlab-runner sends as info.
var runnerInfoBody = map[string]any{
	"name": "gitlab-runner", "version": "17.4.0", "revision": "abc", "platform": "linux",
	"architecture": "amd64", "executor": "shell", "shell": "bash",
	"features": map[string]bool{"variables": true, "artifacts": true, "cancelable": true, "trace_checksum": true},
	"config":   map[string]string{"gpus": ""},
}

// requestJob polls like gitlab-runner: header and body token, JSON.
func (e *env) requestJob(token, lastUpdate string) *http.Response {
	e.t.Helper()
	body := map[string]any{"info": runnerInfoBody, "token": token, "system_id": "s_0123456789ab"}
	if lastUpdate != "" {
		body["last_update"] = lastUpdate
	}
	return e.do("POST", "/api/v4/jobs/request", body, "Runner-Token", token, "Accept", "application/json")
}

// takeJob polls once and decodes the 201 payload.
func (e *env) takeJob(token string) *specJob {
	e.t.Helper()
	var j specJob
	expectJSON(e.t, e.requestJob(token, ""), http.StatusCreated, &j)
	return &j
}

// waitFor polls cond until it holds (tests never assert wall-clock times,
// but some effects happen in another goroutine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// version is the queue version a job request is answered with now.
func (e *env) version() string {
	e.t.Helper()
	v, err := e.srv.Queue.Version(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}
