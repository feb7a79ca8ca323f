package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/batonci/baton/internal/runner"
	"github.com/batonci/baton/internal/testpg"
	"github.com/batonci/baton/internal/tests3"
)

// replicaLongPoll and replicaStuckAfter are the replicas' --long-poll and
// --stuck-after. The stuck-job timeout must exceed the runner's keepalive
// (10 s) so that a silent healthy job is never taken for a stuck one.
const (
	replicaLongPoll   = 30 * time.Second
	replicaStuckAfter = 15 * time.Second
)

// TestReplicas runs Baton scaled out as the README describes: two real
// `baton server` processes on one PostgreSQL, one S3 bucket and one
// repository directory, behind a round-robin reverse proxy, with Baton's
// runners polling through the proxy (and a few pinned to one replica, as a
// runner on the replica's host would be). Every request of a client lands
// on the other replica than its previous one.
func TestReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, versitygw and two Baton processes")
	}
	pg := testpg.NewCluster(t)
	bucket := tests3.Server(t)
	bin := buildBaton(t)
	reposDir := t.TempDir()
	proxy := startProxy(t)
	flags := []string{"--long-poll", replicaLongPoll.String(), "--stuck-after", replicaStuckAfter.String(), "--log-level", "debug"}
	a := startReplica(t, bin, "a", pg.URL(), bucket, reposDir, proxy.url, flags...)
	b := startReplica(t, bin, "b", pg.URL(), bucket, reposDir, proxy.url, flags...)
	proxy.setBackends(a, b)

	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"admin", "token", "create", "--database-url", pg.URL(), "--data-dir", t.TempDir()}, &out, &errOut); err != nil {
		t.Fatalf("creating an admin token: %v: %s", err, errOut.String())
	}
	token := strings.TrimSpace(out.String())
	lb := &instance{t: t, url: proxy.url, token: token}
	direct := map[string]*instance{"a": {t: t, url: a.url, token: token}, "b": {t: t, url: b.url, token: token}}

	for i := range 2 {
		runnerThrough(t, lb.url, lb.runnerToken(), 2, fmt.Sprintf("lb-%d", i))
	}

	t.Run("git and pipelines through any replica", func(t *testing.T) {
		pid, r := lb.project("flow", map[string]string{".gitlab-ci.yml": replicaPipeline})
		pl := lb.latestPipeline(pid)
		done := lb.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled")
		jobs := lb.jobs(pid, pl.ID, false)
		if done.Status != "success" {
			for n, js := range jobs {
				t.Logf("--- %s (%s)\n%s", n, js[0].Status, lb.trace(pid, js[0].ID))
			}
			t.Fatalf("pipeline %s: %s", done.Status, statuses(jobs))
		}
		if log := lb.trace(pid, jobs["fetch"][0].ID); !strings.Contains(log, "without wait: 404") {
			t.Errorf("fetch did not ask before build had uploaded:\n%s", log)
		}
		// Every replica serves the repository the proxy pushed to.
		head := strings.TrimSpace(r.git("rev-parse", "HEAD"))
		for name, in := range direct {
			clone := filepath.Join(t.TempDir(), "clone")
			r.git("clone", "-q", in.pushURL("root/flow"), clone)
			if got := strings.TrimSpace(r.git("-C", clone, "rev-parse", "HEAD")); got != head {
				t.Errorf("clone from replica %s is at %s, want %s", name, got, head)
			}
		}
		if a.served("jobs/request") == 0 || b.served("jobs/request") == 0 || a.served(".git/") == 0 || b.served(".git/") == 0 {
			t.Errorf("the proxy did not spread the work: a served %d job requests and %d git requests, b %d and %d",
				a.served("jobs/request"), a.served(".git/"), b.served("jobs/request"), b.served(".git/"))
		}
	})

	t.Run("a push through any replica creates exactly one pipeline", func(t *testing.T) {
		pid, r := lb.project("pushes", map[string]string{".gitlab-ci.yml": "quick:\n  script: 'true'\n"})
		const pushes = 4
		for i := 1; i < pushes; i++ {
			r.commit(fmt.Sprintf("change %d", i), map[string]string{"n.txt": strconv.Itoa(i)})
			r.git("push", "-q", lb.pushURL("root/pushes"), "main")
		}
		var pls []apiPipeline
		eventually(t, 120*time.Second, "every push's pipeline to succeed", func() bool {
			lb.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines?per_page=100", pid), nil, http.StatusOK, &pls)
			for _, p := range pls {
				if p.Status != "success" {
					return false
				}
			}
			return len(pls) >= pushes
		})
		if len(pls) != pushes {
			t.Fatalf("%d pushes created %d pipelines", pushes, len(pls))
		}
	})

	t.Run("pickup latency", func(t *testing.T) {
		pid, _ := lb.project("latency", map[string]string{".gitlab-ci.yml": "lat:\n  tags: [lat]\n  script: 'true'\n"})
		tok := lb.taggedRunner("lat")
		for _, mode := range []struct{ name, runner, create string }{
			{"through the proxy", lb.url, lb.url},
			{"direct, same replica", a.url, a.url},
			{"direct, runner on the other replica", b.url, a.url},
		} {
			track := runnerThrough(t, mode.runner, tok, 1, "lat")
			creator := &instance{t: t, url: mode.create, token: token}
			var lat []time.Duration
			for range 5 {
				track.waitHeld(t)
				lat = append(lat, creator.pickup(pid))
			}
			track.stop()
			slices.Sort(lat)
			t.Logf("pickup latency %s: min %v, median %v, max %v (%d pipelines; job started_at minus the pipeline request)",
				mode.name, lat[0].Round(time.Millisecond), lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond), len(lat))
		}
	})

	t.Run("a runner's new tags reach its request held on the other replica", func(t *testing.T) {
		pid, _ := lb.project("retag", map[string]string{".gitlab-ci.yml": "gpu:\n  tags: [gpu]\n  script: 'true'\n"})
		id, tok := lb.taggedRunnerID("cpu")
		track := runnerThrough(t, b.url, tok, 1, "retag")
		pl := lb.latestPipeline(pid)
		heldSince := track.waitHeld(t)
		direct["a"].api("PUT", fmt.Sprintf("/api/v4/runners/%d", id), url.Values{"tag_list": {"cpu,gpu"}}, http.StatusOK, nil)
		lb.waitPipeline(pid, pl.ID, 2*replicaLongPoll, "success")
		job := lb.jobs(pid, pl.ID, false)["gpu"][0]
		if deadline := heldSince.Add(replicaLongPoll); !job.StartedAt.Before(deadline) {
			t.Fatalf("the job started at %v, not before the held request's hold ended (%v): the tag change did not reach it", job.StartedAt, deadline)
		}
	})

	t.Run("held runners hear of jobs after PostgreSQL restarts", func(t *testing.T) {
		// The runner is held on replica b; the job is created through a.
		// Only the database's notification can wake it: if it were lost,
		// the job would wait for the hold to end (--long-poll).
		pid, _ := lb.project("restart", map[string]string{".gitlab-ci.yml": "pinned:\n  tags: [b-host]\n  script: 'true'\n"})
		track := runnerThrough(t, b.url, lb.taggedRunner("b-host"), 1, "b-host")
		lb.waitPipeline(pid, lb.latestPipeline(pid).ID, 60*time.Second, "success")
		heldSince := track.waitHeld(t)
		pg.Stop(t)
		time.Sleep(time.Second)
		pg.Start(t)
		for _, in := range direct {
			eventually(t, 60*time.Second, "the replica to reach PostgreSQL again", func() bool {
				status, _, _ := in.do("GET", "/-/readiness", nil, nil)
				return status == http.StatusOK
			})
		}
		created := time.Now()
		var pl apiPipeline
		eventually(t, 30*time.Second, "a pipeline created through replica a", func() bool {
			status, body, _ := direct["a"].do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline?ref=main", pid),
				map[string]string{"PRIVATE-TOKEN": token}, nil)
			return status == http.StatusCreated && json.Unmarshal(body, &pl) == nil
		})
		lb.waitPipeline(pid, pl.ID, 2*replicaLongPoll, "success")
		job := lb.jobs(pid, pl.ID, false)["pinned"][0]
		t.Logf("after the restart, the runner held on b got the job created through a %v after the request (its hold had begun %v before that request)",
			job.StartedAt.Sub(created).Round(time.Millisecond), created.Sub(heldSince).Round(time.Millisecond))
		if deadline := heldSince.Add(replicaLongPoll); !job.StartedAt.Before(deadline) {
			t.Fatalf("the job started at %v, not before the held request's hold ended (%v): the wake-up was lost", job.StartedAt, deadline)
		}
	})

	t.Run("a replica killed mid-job", func(t *testing.T) {
		ran := filepath.Join(t.TempDir(), "ran")
		pidFile := filepath.Join(t.TempDir(), "pinned.pid")
		yml := strings.NewReplacer("$RAN", ran, "$PIDFILE", pidFile).Replace(crashPipeline)
		pid, _ := lb.project("crash", map[string]string{".gitlab-ci.yml": yml})
		// A runner on replica a's host: it dies with the replica.
		pinned := startProcess(t, "runner-a", bin, nil, "runner", "--url", a.url, "--token", lb.taggedRunner("a-host"),
			"--builds-dir", t.TempDir(), "--name", "a-host")
		t.Cleanup(func() { killJobGroup(pidFile) })
		pl := lb.latestPipeline(pid)
		eventually(t, 120*time.Second, "all five jobs to be running", func() bool { return len(ranJobs(ran)) == 5 })
		a.kill(t)
		pinned.kill(t)
		killJobGroup(pidFile)
		done := lb.waitPipeline(pid, pl.ID, replicaStuckAfter*4+60*time.Second, "success", "failed", "canceled")
		jobs := lb.jobs(pid, pl.ID, true)
		for name, js := range jobs {
			for _, j := range js {
				switch {
				case name == "pinned" && (j.Status != "failed" || j.FailureReason != "runner_system_failure"):
					t.Errorf("the job whose runner died with replica a is %s (%s), want failed by the stuck-job sweeper", j.Status, j.FailureReason)
				case name != "pinned" && j.Status != "success":
					t.Errorf("job %s is %s (%s), want success: its runner went on through replica b\n%s", name, j.Status, j.FailureReason, lb.trace(pid, j.ID))
				}
			}
		}
		if done.Status != "success" {
			t.Errorf("pipeline %s, want success (the pinned job may fail): %s", done.Status, statuses(jobs))
		}
		seen := map[string]int{}
		for _, id := range ranJobs(ran) {
			if seen[id]++; seen[id] > 1 {
				t.Errorf("job %s ran %d times", id, seen[id])
			}
		}
	})
}

// replicaPipeline uses artifacts, needs and wait= across replicas: whichever
// replica stored an archive, the other serves it and wakes its waiters.
const replicaPipeline = `
stages: [build, test, deploy]
build:
  stage: build
  script:
    - mkdir -p out && echo "payload-$CI_PIPELINE_ID" > out/data.txt
    - sleep 3
  artifacts:
    paths: [out/]
unit:
  stage: test
  needs: [build]
  script:
    - test "$(cat out/data.txt)" = "payload-$CI_PIPELINE_ID"
fetch:
  stage: test
  needs: []
  script:
    - 'code=$(curl -s -o early.json -w "%{http_code}" -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_PIPELINE_ARTIFACTS_URL?job=build"); echo "without wait: $code"; test "$code" = 404'
    - 'curl -sf -H "JOB-TOKEN: $CI_JOB_TOKEN" -o a.zip "$CI_PIPELINE_ARTIFACTS_URL?job=build&wait=60"'
    - unzip -o a.zip && test "$(cat out/data.txt)" = "payload-$CI_PIPELINE_ID"
deploy:
  stage: deploy
  script: test "$(cat out/data.txt)" = "payload-$CI_PIPELINE_ID"
`

// crashPipeline runs four jobs on the runners behind the proxy and one on
// the runner pinned to replica a; each notes its id when it starts.
const crashPipeline = `
.work:
  script:
    - echo "$CI_JOB_ID" >> "$RAN"
    - sleep 6
one: {extends: .work}
two: {extends: .work}
three: {extends: .work}
four: {extends: .work}
pinned:
  tags: [a-host]
  allow_failure: true
  script:
    - echo "$CI_JOB_ID" >> "$RAN"
    - echo $$ > "$PIDFILE"
    - sleep 120
`

func ranJobs(path string) []string {
	b, _ := os.ReadFile(path)
	return strings.Fields(string(b))
}

// killJobGroup ends the orphaned shell of the pinned job (its runner was
// killed; the job runs in its own process group).
func killJobGroup(pidFile string) {
	if b, err := os.ReadFile(pidFile); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// taggedRunner creates an instance runner that runs only jobs with its tags.
func (in *instance) taggedRunner(tags ...string) string {
	in.t.Helper()
	_, token := in.taggedRunnerID(tags...)
	return token
}

// taggedRunnerID is taggedRunner that also returns the runner's id.
func (in *instance) taggedRunnerID(tags ...string) (int64, string) {
	in.t.Helper()
	var out struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	form := url.Values{"runner_type": {"instance_type"}, "run_untagged": {"false"}, "tag_list": {strings.Join(tags, ",")}}
	in.api("POST", "/api/v4/user/runners", form, http.StatusCreated, &out)
	return out.ID, out.Token
}

// pickup creates a pipeline of the project's default branch and returns how
// long after the request its one job was assigned (started_at).
func (in *instance) pickup(pid int64) time.Duration {
	in.t.Helper()
	sent := time.Now()
	var pl apiPipeline
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline?ref=main", pid), nil, http.StatusCreated, &pl)
	in.waitPipeline(pid, pl.ID, 60*time.Second, "success")
	for _, js := range in.jobs(pid, pl.ID, false) {
		return js[0].StartedAt.Sub(sent)
	}
	in.t.Fatalf("pipeline %d has no job", pl.ID)
	return 0
}

// buildBaton builds this command once for the test.
func buildBaton(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "baton")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a child process whose output goes to a file, shown when the
// test fails.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProcess(t *testing.T, name, bin string, env []string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(gitEnv(t), env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 8<<10 {
				b = b[len(b)-8<<10:]
			}
			t.Logf("--- end of %s's log\n%s", name, b)
		}
	})
	return p
}

// kill ends the process with SIGKILL, as a crashed host would.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("killing %s: %v", p.name, err)
	}
	<-p.done
}

// replica is one `baton server` process.
type replica struct {
	*process
	url  string
	hits sync.Map // path class → *atomic.Int64, counted by the proxy
}

// startReplica starts bin as one replica on the shared database, bucket
// and repository directory, reached at externalURL ("": its own address),
// with the extra flags given, and waits until it is ready.
func startReplica(t *testing.T, bin, name, dbURL string, b tests3.Bucket, reposDir, externalURL string, extra ...string) *replica {
	t.Helper()
	addr := freeLoopback(t)
	if externalURL == "" {
		externalURL = "http://" + addr
	}
	args := append([]string{"server", "--listen", addr, "--external-url", externalURL, "--data-dir", t.TempDir(), "--repos-dir", reposDir,
		"--database-url", dbURL, "--artifact-store", "s3", "--s3-endpoint", b.Endpoint, "--s3-bucket", b.Bucket,
		"--s3-region", b.Region, "--s3-ssl=" + strconv.FormatBool(b.UseSSL)}, extra...)
	p := startProcess(t, "replica-"+name, bin,
		[]string{"BATON_S3_ACCESS_KEY=" + b.AccessKey, "BATON_S3_SECRET_KEY=" + b.SecretKey}, args...)
	r := &replica{process: p, url: "http://" + addr}
	eventually(t, 60*time.Second, "replica "+name+" to be ready", func() bool {
		select {
		case <-p.done:
			t.Fatalf("replica %s exited", name)
		default:
		}
		resp, err := http.Get(r.url + "/-/readiness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return r
}

// served counts the requests the proxy sent to the replica whose path
// contains class.
func (r *replica) served(class string) int64 {
	if v, ok := r.hits.Load(class); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func (r *replica) count(path string) {
	for _, class := range []string{"jobs/request", ".git/"} {
		if strings.Contains(path, class) {
			v, _ := r.hits.LoadOrStore(class, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}
	}
}

func freeLoopback(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// roundRobin is the load balancer: every request goes to the next replica
// that is up. A replica that refuses connections is taken out and the
// request goes to the next one (it never reached the replica), as nginx's
// proxy_next_upstream does; a request that broke midway is answered 502.
type roundRobin struct {
	url      string
	mu       sync.Mutex
	backends []*replica
	down     map[*replica]bool
	next     int
}

type (
	backendKey struct{}
	retryKey   struct{}
)

func startProxy(t *testing.T) *roundRobin {
	t.Helper()
	p := &roundRobin{down: map[*replica]bool{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			r := pr.In.Context().Value(backendKey{}).(*replica)
			u, _ := url.Parse(r.url)
			pr.SetURL(u)
			pr.SetXForwarded()
		},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, req *http.Request, err error) {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				p.mu.Lock()
				p.down[req.Context().Value(backendKey{}).(*replica)] = true
				p.mu.Unlock()
				*req.Context().Value(retryKey{}).(*bool) = true
				return
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.url = "http://" + l.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		for {
			r := p.pick()
			if r == nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			r.count(req.URL.Path)
			retry := false
			ctx := context.WithValue(context.WithValue(req.Context(), backendKey{}, r), retryKey{}, &retry)
			rp.ServeHTTP(w, req.WithContext(ctx))
			if !retry {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *roundRobin) setBackends(rs ...*replica) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends = rs
}

func (p *roundRobin) pick() *replica {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.backends {
		r := p.backends[p.next%len(p.backends)]
		p.next++
		if !p.down[r] {
			return r
		}
	}
	return nil
}

// pollTracker sees a runner's job requests: which one is in flight and
// since when.
type pollTracker struct {
	base     http.RoundTripper
	mu       sync.Mutex
	inflight map[*http.Request]time.Time
	stop     func()
}

func (p *pollTracker) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/jobs/request") {
		return p.base.RoundTrip(req)
	}
	p.mu.Lock()
	p.inflight[req] = time.Now()
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.inflight, req)
		p.mu.Unlock()
	}()
	return p.base.RoundTrip(req)
}

// waitHeld waits until the runner's job request has been in flight for a
// while, which an answered one never is, and returns when it was sent.
func (p *pollTracker) waitHeld(t *testing.T) time.Time {
	t.Helper()
	var since time.Time
	eventually(t, 60*time.Second, "a held job request", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, at := range p.inflight {
			if time.Since(at) > 500*time.Millisecond {
				since = at
				return true
			}
		}
		return false
	})
	return since
}

// runnerThrough runs Baton's runner in this process against url until the
// test ends or stop is called. It polls every 3 s after an unchanged 204,
// as by default.
func runnerThrough(t *testing.T, url, token string, concurrency int, name string) *pollTracker {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 10 * time.Minute
	track := &pollTracker{base: tr, inflight: map[*http.Request]time.Time{}}
	r, err := runner.New(runner.Config{URL: url, Token: token, BuildsDir: t.TempDir(), Concurrency: concurrency,
		Name: name, HTTPClient: &http.Client{Transport: track}, Logger: testLogger(t).With("runner", name)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	var once sync.Once
	track.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(track.stop)
	return track
}
