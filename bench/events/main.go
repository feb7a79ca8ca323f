// Command events measures the latency of pipeline events: from the moment
// a job's status changes (a runner reports it finished through the runner
// API) to the moment a client following GET .../pipelines/:id/events
// receives the event, on one server with SQLite, on one with PostgreSQL,
// and across two replicas sharing the PostgreSQL database (the change
// made through one, the stream opened on the other). It builds and starts
// real `baton server` processes and plays the runner itself, one job at a
// time, so that each sample is one change on an otherwise idle server.
//
//	go run ./bench/events [-n 200]
//
// It reports two latencies per event: from the start of the runner's
// PUT /api/v4/jobs/:id (the request making the change, so it includes the
// handling of that request) to the event's arrival, and from the event's
// created_at (the database's clock inside the changing transaction, before
// commit: microseconds on PostgreSQL, milliseconds on SQLite) to its
// arrival. Targets are reported, never asserted.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
	"github.com/batonci/baton/internal/testpg"
)

// jobsPerPipeline is the parallel: of the benchmark's one job.
const jobsPerPipeline = 50

func main() {
	n := flag.Int("n", 200, "events measured per scenario")
	bin := flag.String("baton", "", "a built baton binary (default: build ./cmd/baton)")
	flag.Parse()
	if err := run(context.Background(), *n, *bin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
}

// scenario is one deployment measured.
type scenario struct {
	name string
	// change and stream are the servers the runner and the client talk to.
	change, stream *benchkit.Server
	token          string
}

func run(ctx context.Context, n int, bin string, w io.Writer) error {
	tmp, err := os.MkdirTemp("", "baton-bench-events-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		fmt.Fprintln(w, "building ./cmd/baton ...")
		if bin, err = benchkit.BuildBaton(ctx, tmp); err != nil {
			return err
		}
	}
	var results []result

	sq, err := start(ctx, bin, tmp, "sqlite", "sqlite:"+filepath.Join(tmp, "sqlite.db"), filepath.Join(tmp, "repos-sqlite"), true)
	if err != nil {
		return err
	}
	r, err := measure(ctx, tmp, scenario{name: "SQLite, one server", change: sq, stream: sq, token: sq.Token}, n, w)
	sq.Stop(10 * time.Second)
	if err != nil {
		return err
	}
	results = append(results, r)

	fmt.Fprintln(w, "starting PostgreSQL ...")
	dbURL, stopPG, err := testpg.Start()
	if err != nil {
		return fmt.Errorf("starting PostgreSQL: %w", err)
	}
	defer stopPG()
	repos := filepath.Join(tmp, "repos-pg")
	a, err := start(ctx, bin, tmp, "a", dbURL, repos, true)
	if err != nil {
		return err
	}
	defer a.Stop(10 * time.Second)
	b, err := start(ctx, bin, tmp, "b", dbURL, repos, false)
	if err != nil {
		return err
	}
	defer b.Stop(10 * time.Second)
	for _, sc := range []scenario{
		{name: "PostgreSQL, one server", change: a, stream: a, token: a.Token},
		{name: "PostgreSQL, two replicas (change on a, stream on b)", change: a, stream: b, token: a.Token},
	} {
		r, err := measure(ctx, tmp, sc, n, w)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	report(w, results, n)
	return nil
}

// start starts one `baton server` with database dbURL.
func start(ctx context.Context, bin, tmp, name, dbURL, repos string, wantToken bool) (*benchkit.Server, error) {
	port, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	logPath := filepath.Join(tmp, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(tmp, "data-"+name),
		"--repos-dir", repos, "--database-url", dbURL, "--log-level", "warn")
	cmd.Stderr = logFile
	s, err := benchkit.StartServer(ctx, cmd, "http://"+addr, "/-/readiness", wantToken, 60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("server %s: %w: %s", name, err, benchkit.LogTail(logPath))
	}
	return s, nil
}

// result is one scenario's samples.
type result struct {
	name          string
	fromRequest   []time.Duration
	fromCreatedAt []time.Duration
}

// arrival is when a job's success event arrived, and when it was recorded.
type arrival struct {
	at, created time.Time
}

func measure(ctx context.Context, tmp string, sc scenario, n int, w io.Writer) (result, error) {
	fmt.Fprintf(w, "measuring %s: %d events ...\n", sc.name, n)
	res := result{name: sc.name}
	hc := &http.Client{Timeout: time.Minute}
	api := func(base, method, path string, body any, want int, out any) error {
		var rd io.Reader
		ct := ""
		switch b := body.(type) {
		case nil:
		case url.Values:
			rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
		default:
			j, _ := json.Marshal(b)
			rd, ct = bytes.NewReader(j), "application/json"
		}
		req, err := http.NewRequestWithContext(ctx, method, base+"/api/v4"+path, rd)
		if err != nil {
			return err
		}
		req.Header.Set("PRIVATE-TOKEN", sc.token)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
		}
		if out != nil {
			return json.Unmarshal(raw, out)
		}
		return nil
	}
	name := fmt.Sprintf("events-%d", time.Now().UnixNano())
	var proj struct {
		ID   int64  `json:"id"`
		Path string `json:"path_with_namespace"`
	}
	if err := api(sc.change.URL, "POST", "/projects", url.Values{"name": {name}}, http.StatusCreated, &proj); err != nil {
		return res, err
	}
	yaml := fmt.Sprintf("job:\n  variables: {GIT_STRATEGY: none}\n  script: [\"true\"]\n  parallel: %d\n", jobsPerPipeline)
	if err := benchkit.PushRepo(ctx, sc.change.URL, sc.token, tmp, proj.Path, yaml); err != nil {
		return res, err
	}
	var runner struct {
		Token string `json:"token"`
	}
	if err := api(sc.change.URL, "POST", "/user/runners", url.Values{"runner_type": {"instance_type"}, "run_untagged": {"true"}},
		http.StatusCreated, &runner); err != nil {
		return res, err
	}
	for len(res.fromRequest) < n {
		var pl struct {
			ID int64 `json:"id"`
		}
		if err := api(sc.change.URL, "POST", fmt.Sprintf("/projects/%d/pipeline", proj.ID), url.Values{"ref": {"main"}},
			http.StatusCreated, &pl); err != nil {
			return res, err
		}
		arrivals, stop, err := follow(ctx, sc.stream.URL, sc.token, proj.ID, pl.ID)
		if err != nil {
			return res, err
		}
		for range jobsPerPipeline {
			var job struct {
				ID    int64  `json:"id"`
				Token string `json:"token"`
			}
			if err := api(sc.change.URL, "POST", "/jobs/request", map[string]string{"token": runner.Token}, http.StatusCreated, &job); err != nil {
				stop()
				return res, err
			}
			t0 := time.Now()
			if err := api(sc.change.URL, "PUT", fmt.Sprintf("/jobs/%d", job.ID), map[string]string{"token": job.Token, "state": "success"},
				http.StatusOK, nil); err != nil {
				stop()
				return res, err
			}
			select {
			case a := <-arrivals.get(job.ID):
				if len(res.fromRequest) < n {
					res.fromRequest = append(res.fromRequest, a.at.Sub(t0))
					res.fromCreatedAt = append(res.fromCreatedAt, a.at.Sub(a.created))
				}
			case <-time.After(30 * time.Second):
				stop()
				return res, fmt.Errorf("job %d's success never arrived on the stream", job.ID)
			}
		}
		stop()
	}
	return res, nil
}

// arrivals hands each job's success event to whoever waits for it.
type arrivals struct {
	mu sync.Mutex
	m  map[int64]chan arrival
}

func (a *arrivals) get(id int64) chan arrival {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.m[id]
	if !ok {
		c = make(chan arrival, 1)
		a.m[id] = c
	}
	return c
}

// follow opens the pipeline's event stream and records each job's success
// arrival until stop is called.
func follow(ctx context.Context, base, token string, projectID, pipelineID int64) (*arrivals, func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%d/events", base, projectID, pipelineID), nil)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, nil, fmt.Errorf("events: status %d", resp.StatusCode)
	}
	arr := &arrivals{m: map[int64]chan arrival{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			at := time.Now()
			var d struct {
				CreatedAt time.Time `json:"created_at"`
				Job       *struct {
					ID     int64  `json:"id"`
					Status string `json:"status"`
				} `json:"job"`
			}
			if json.Unmarshal([]byte(line[6:]), &d) != nil || d.Job == nil || d.Job.Status != "success" {
				continue
			}
			select {
			case arr.get(d.Job.ID) <- arrival{at: at, created: d.CreatedAt}:
			default:
			}
		}
	}()
	return arr, func() { cancel(); <-done }, nil
}

// percentile is the p-th percentile of sorted ds (nearest rank).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	i := int(p/100*float64(len(ds))+0.5) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func report(w io.Writer, rs []result, n int) {
	fmt.Fprintf(w, "\nPipeline event latency, %d job-success events per scenario, one change at a time (target p50 < 20 ms)\n\n", n)
	fmt.Fprintln(w, "| scenario | measured from | p50 | p90 | p99 | max |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, r := range rs {
		for _, m := range []struct {
			what string
			ds   []time.Duration
		}{{"runner's PUT sent", r.fromRequest}, {"event's created_at", r.fromCreatedAt}} {
			ds := slices.Clone(m.ds)
			slices.Sort(ds)
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", r.name, m.what, ms(percentile(ds, 50)), ms(percentile(ds, 90)),
				ms(percentile(ds, 99)), ms(ds[len(ds)-1]))
		}
	}
}
