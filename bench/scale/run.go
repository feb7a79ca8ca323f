package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
	"github.com/batonci/baton/internal/runner"
	"github.com/batonci/baton/internal/testpg"
	"github.com/batonci/baton/internal/tests3"
)

// api calls the REST API as root on one replica.
type api struct {
	base, token string
	http        *http.Client
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: 0, DisableCompression: true}}
}

// do sends a request (form body if not nil) and decodes JSON into out;
// any status but want is an error. It returns the response headers.
func (a *api) do(ctx context.Context, method, path string, form url.Values, want int, out any) (http.Header, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+"/api/v4"+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("PRIVATE-TOKEN", a.token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: status %d, want %d: %.300s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

type project struct {
	ID   int64  `json:"id"`
	Path string `json:"path_with_namespace"`
}

type pipeline struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

type job struct {
	ID             int64    `json:"id"`
	Status         string   `json:"status"`
	QueuedDuration *float64 `json:"queued_duration"`
}

func (a *api) createProject(ctx context.Context, name string) (*project, error) {
	var p project
	_, err := a.do(ctx, "POST", "/projects", url.Values{"name": {name}}, http.StatusCreated, &p)
	return &p, err
}

func (a *api) runnerToken(ctx context.Context) (string, error) {
	var r struct {
		Token string `json:"token"`
	}
	_, err := a.do(ctx, "POST", "/user/runners", url.Values{"runner_type": {"instance_type"}, "run_untagged": {"true"}}, http.StatusCreated, &r)
	return r.Token, err
}

func (a *api) createPipeline(ctx context.Context, projectID int64) (int64, error) {
	var p pipeline
	_, err := a.do(ctx, "POST", fmt.Sprintf("/projects/%d/pipeline", projectID), url.Values{"ref": {"main"}}, http.StatusCreated, &p)
	return p.ID, err
}

// finishedPipelines counts the project's finished pipelines (X-Total).
func (a *api) finishedPipelines(ctx context.Context, projectID int64) (int, error) {
	h, err := a.do(ctx, "GET", fmt.Sprintf("/projects/%d/pipelines?scope=finished&per_page=1", projectID), nil, http.StatusOK, nil)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(h.Get("X-Total"))
}

// noopYAML is one stage of n jobs that do nothing and fetch no sources.
func noopYAML(n int) string {
	var b strings.Builder
	b.WriteString("variables:\n  GIT_STRATEGY: none\n")
	for i := range n {
		fmt.Fprintf(&b, "noop-%d:\n  script: \"true\"\n", i+1)
	}
	return b.String()
}

// fanoutYAML makes one job whose artifact is a file of size random bytes.
func fanoutYAML(size int64) string {
	return fmt.Sprintf("variables:\n  GIT_STRATEGY: none\nmake:\n  script: head -c %d /dev/urandom > big.bin\n  artifacts:\n    paths: [big.bin]\n", size)
}

// results is what one run measured.
type results struct {
	CPUs                       int
	Jobs, Succeeded            int
	Drain                      time.Duration
	Pickup                     []time.Duration
	IdleAPI, LoadAPI           []time.Duration
	IdleStatic, LoadStatic     []time.Duration // nginx serving a small static file: the machine's floor
	StaticNote                 string
	ArchiveBytes               int64
	BatonMBps, NginxMBps       float64
	BatonFanout, NginxFanout   time.Duration
	NginxNote                  string
	LoadStart, LoadEnd         string
	ReplicaAPIErrs, FanoutErrs int
}

func run(ctx context.Context, cfg config, w io.Writer) error {
	tmp, err := os.MkdirTemp("", "baton-scale-")
	if err != nil {
		return err
	}
	if cfg.Keep {
		fmt.Fprintln(w, "work directory:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	bin := cfg.Baton
	if bin == "" {
		fmt.Fprintln(w, "building ./cmd/baton ...")
		if bin, err = benchkit.BuildBaton(ctx, tmp); err != nil {
			return err
		}
	}
	fmt.Fprintln(w, "starting PostgreSQL and versitygw ...")
	dbURL, stopPG, err := testpg.Start()
	if err != nil {
		return fmt.Errorf("starting PostgreSQL: %w", err)
	}
	defer stopPG()
	bucket, stopS3, err := tests3.Start(tmp, "") // the replicas create the bucket
	if err != nil {
		return fmt.Errorf("starting versitygw: %w", err)
	}
	defer stopS3()

	maxUpload := cfg.Size>>20 + 64
	a, err := startReplica(ctx, bin, tmp, "a", dbURL, bucket, maxUpload, cfg.Download, true)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startReplica(ctx, bin, tmp, "b", dbURL, bucket, maxUpload, cfg.Download, false)
	if err != nil {
		return err
	}
	defer b.stop()
	hc := newClient(cfg.Consumers + 8)
	apis := []*api{{base: a.url, token: a.token, http: hc}, {base: b.url, token: a.token, http: hc}}
	fmt.Fprintf(w, "replicas %s and %s on one PostgreSQL and bucket %s\n", a.url, b.url, bucketName)

	load, err := apis[0].createProject(ctx, "load")
	if err != nil {
		return err
	}
	fan, err := apis[0].createProject(ctx, "fanout")
	if err != nil {
		return err
	}
	// The replicas share --repos-dir: a push through a is planned by b too.
	if err := benchkit.PushRepo(ctx, a.url, a.token, tmp, load.Path, noopYAML(cfg.Jobs)); err != nil {
		return err
	}
	if err := benchkit.PushRepo(ctx, a.url, a.token, tmp, fan.Path, fanoutYAML(cfg.Size)); err != nil {
		return err
	}

	stopRunners, err := startRunners(ctx, cfg, apis, tmp)
	if err != nil {
		return err
	}
	defer stopRunners()

	r := &results{CPUs: runtime.NumCPU(), LoadStart: loadavg()}
	// The floor: nginx serving a small static file, sampled beside the API
	// under the same load and idle, shows what the machine itself adds.
	staticFile := filepath.Join(tmp, "static.json")
	if err := os.WriteFile(staticFile, []byte(strings.Repeat(`{"id":1,"status":"success"}`, 40)), 0o644); err != nil {
		return err
	}
	static, why := startNginx(ctx, cfg.Nginx, tmp+"/static", staticFile)
	if static != nil {
		defer static.Stop()
	} else {
		r.StaticNote = why
	}
	if err := measureDrain(ctx, cfg, apis, load.ID, static, r); err != nil {
		return err
	}
	if err := measureFanout(ctx, cfg, apis, fan.ID, tmp, r); err != nil {
		return err
	}
	r.LoadEnd = loadavg()
	printReport(w, cfg, r)
	return nil
}

// startRunners runs cfg.Runners of Baton's runners in this process, each
// with its own token, alternating between the replicas.
func startRunners(ctx context.Context, cfg config, apis []*api, tmp string) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop = func() { cancel(); wg.Wait() }
	for i := range cfg.Runners {
		tok, err := apis[0].runnerToken(ctx)
		if err != nil {
			stop()
			return nil, err
		}
		rn, err := runner.New(runner.Config{URL: apis[i%len(apis)].base, Token: tok, BuildsDir: filepath.Join(tmp, fmt.Sprintf("builds-%d", i)),
			Concurrency: cfg.Concurrency, Name: fmt.Sprintf("bench-%d", i), PollInterval: time.Second,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			stop()
			return nil, err
		}
		wg.Go(func() { _ = rn.Run(ctx) })
	}
	return stop, nil
}

// sampleAPI times GET pipeline on alternating replicas with workers
// goroutines until n samples (n > 0) or until done closes.
func sampleAPI(ctx context.Context, apis []*api, projectID int64, ids func() []int64, workers, n int, done <-chan struct{}) ([]time.Duration, int) {
	var mu sync.Mutex
	var out []time.Duration
	var errs atomic.Int64
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	for wk := range workers {
		wg.Go(func() {
			for i := wk; ; i++ {
				if n > 0 && left.Add(-1) < 0 {
					return
				}
				select {
				case <-done:
					return
				case <-ctx.Done():
					return
				default:
				}
				list := ids()
				if len(list) == 0 {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				id := list[rand.IntN(len(list))]
				t0 := time.Now()
				_, err := apis[i%len(apis)].do(ctx, "GET", fmt.Sprintf("/projects/%d/pipelines/%d", projectID, id), nil, http.StatusOK, nil)
				d := time.Since(t0)
				if err != nil {
					errs.Add(1)
					continue
				}
				mu.Lock()
				out = append(out, d)
				mu.Unlock()
				if n == 0 {
					time.Sleep(20 * time.Millisecond) // a steady client, not a flood
				}
			}
		})
	}
	wg.Wait()
	return out, int(errs.Load())
}

// measureDrain creates cfg.Pipelines pipelines at once, alternately
// through both replicas, and waits for all
// of them to finish, sampling the API meanwhile; then samples the idle API.
func measureDrain(ctx context.Context, cfg config, apis []*api, projectID int64, static *benchkit.Nginx, r *results) error {
	var mu sync.Mutex
	var ids []int64
	snapshot := func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(ids)
	}
	done := make(chan struct{})
	var loadSamples []time.Duration
	var sampler sync.WaitGroup
	sampler.Go(func() { loadSamples, r.ReplicaAPIErrs = sampleAPI(ctx, apis, projectID, snapshot, 2, 0, done) })
	if static != nil {
		sampler.Go(func() { r.LoadStatic = sampleStatic(ctx, apis[0].http, static.URL, 0, done) })
	}

	start := time.Now()
	var create sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, 8)
	for range 8 {
		create.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(cfg.Pipelines) {
					return
				}
				id, err := apis[i%int64(len(apis))].createPipeline(ctx, projectID)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		})
	}
	create.Wait()
	close(errs)
	if err := <-errs; err != nil {
		close(done)
		sampler.Wait()
		return fmt.Errorf("creating pipelines: %w", err)
	}
	deadline := time.Now().Add(time.Duration(cfg.Pipelines*cfg.Jobs)*time.Second + 2*time.Minute)
	for {
		n, err := apis[0].finishedPipelines(ctx, projectID)
		if err == nil && n >= cfg.Pipelines {
			break
		}
		if time.Now().After(deadline) {
			close(done)
			sampler.Wait()
			return fmt.Errorf("pipelines not finished in time (%d of %d, %v)", n, cfg.Pipelines, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.Drain = time.Since(start)
	close(done)
	sampler.Wait()
	r.LoadAPI = loadSamples

	for page := 1; ; page++ {
		var js []job
		h, err := apis[0].do(ctx, "GET", fmt.Sprintf("/projects/%d/jobs?per_page=100&page=%d", projectID, page), nil, http.StatusOK, &js)
		if err != nil {
			return err
		}
		for _, j := range js {
			r.Jobs++
			if j.Status == "success" {
				r.Succeeded++
			}
			if j.QueuedDuration != nil {
				r.Pickup = append(r.Pickup, time.Duration(*j.QueuedDuration*float64(time.Second)))
			}
		}
		if h.Get("X-Next-Page") == "" || len(js) == 0 {
			break
		}
	}
	// Idle: the same requests with no pipelines running (runners idle in
	// their long polls), on the same data.
	r.IdleAPI, _ = sampleAPI(ctx, apis, projectID, snapshot, 1, cfg.IdleSamples, nil)
	if static != nil {
		r.IdleStatic = sampleStatic(ctx, apis[0].http, static.URL, cfg.IdleSamples, nil)
	}
	return nil
}

// sampleStatic times GETs of u (nginx's static file) one at a time: n of
// them (n > 0), or every 20 ms until done closes, as sampleAPI's steady
// clients do.
func sampleStatic(ctx context.Context, c *http.Client, u string, n int, done <-chan struct{}) []time.Duration {
	var out []time.Duration
	for i := 0; n == 0 || i < n; i++ {
		select {
		case <-done:
			return out
		case <-ctx.Done():
			return out
		default:
		}
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return out
		}
		t0 := time.Now()
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			out = append(out, time.Since(t0))
		}
		if n == 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return out
}

// measureFanout runs the fan-out pipeline, then has cfg.Consumers clients
// download its archive at once through both replicas, and as many from
// nginx serving the same bytes.
func measureFanout(ctx context.Context, cfg config, apis []*api, projectID int64, tmp string, r *results) error {
	id, err := apis[0].createPipeline(ctx, projectID)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		var p pipeline
		if _, err := apis[0].do(ctx, "GET", fmt.Sprintf("/projects/%d/pipelines/%d", projectID, id), nil, http.StatusOK, &p); err != nil {
			return err
		}
		if p.Status == "success" {
			break
		}
		if p.Status == "failed" || p.Status == "canceled" || time.Now().After(deadline) {
			return fmt.Errorf("fan-out pipeline %s", p.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	path := fmt.Sprintf("/projects/%d/pipelines/%d/artifacts?job=make", projectID, id)
	file := filepath.Join(tmp, "fanout.zip")
	n, err := download(ctx, apis[0].http, apis[0].base+"/api/v4"+path, apis[0].token, file)
	if err != nil {
		return err
	}
	r.ArchiveBytes = n

	urls := make([]string, cfg.Consumers)
	for i := range urls {
		urls[i] = apis[i%len(apis)].base + "/api/v4" + path
	}
	var bytes int64
	bytes, r.BatonFanout, r.FanoutErrs = fanout(ctx, apis[0].http, urls, apis[0].token)
	r.BatonMBps = float64(bytes) / 1e6 / r.BatonFanout.Seconds()

	ng, why := startNginx(ctx, cfg.Nginx, tmp, file)
	if ng == nil {
		r.NginxNote = why
		return nil
	}
	defer ng.Stop()
	for i := range urls {
		urls[i] = ng.URL
	}
	var errs int
	bytes, r.NginxFanout, errs = fanout(ctx, apis[0].http, urls, "")
	r.NginxMBps = float64(bytes) / 1e6 / r.NginxFanout.Seconds()
	if errs > 0 {
		r.NginxNote = fmt.Sprintf("%d nginx downloads failed", errs)
	}
	return nil
}

// download saves url's body to file.
func download(ctx context.Context, c *http.Client, u, token, file string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return io.Copy(f, resp.Body)
}

// fanout downloads every url at once (discarding the bodies) and returns
// the bytes received, the wall time and how many downloads failed.
func fanout(ctx context.Context, c *http.Client, urls []string, token string) (int64, time.Duration, int) {
	var total atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	startGate := make(chan struct{})
	for _, u := range urls {
		wg.Go(func() {
			<-startGate
			req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
			if err != nil {
				failed.Add(1)
				return
			}
			if token != "" {
				req.Header.Set("PRIVATE-TOKEN", token)
			}
			resp, err := c.Do(req)
			if err != nil {
				failed.Add(1)
				return
			}
			defer resp.Body.Close()
			n, err := io.CopyBuffer(io.Discard, resp.Body, make([]byte, 256<<10))
			total.Add(n)
			if err != nil || resp.StatusCode != http.StatusOK {
				failed.Add(1)
			}
		})
	}
	t0 := time.Now()
	close(startGate)
	wg.Wait()
	return total.Load(), time.Since(t0), int(failed.Load())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
