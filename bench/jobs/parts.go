package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// fixture is a running server with a project holding a pushed repository
// and a runner token.
type fixture struct {
	srv         *server
	api         *api
	project     *project
	runnerToken string
}

// newFixture starts a server with longPoll and pushes ciYAML to a new project.
func newFixture(ctx context.Context, bin, dir string, longPoll time.Duration, name, ciYAML string) (*fixture, error) {
	srv, err := startServer(ctx, bin, dir, longPoll)
	if err != nil {
		return nil, err
	}
	f := &fixture{srv: srv, api: &api{base: srv.url, token: srv.token, http: &http.Client{Timeout: time.Minute}}}
	if err := f.addProject(ctx, dir, name, ciYAML); err != nil {
		srv.stop()
		return nil, err
	}
	if f.runnerToken, err = f.api.createRunner(ctx); err != nil {
		srv.stop()
		return nil, err
	}
	return f, nil
}

// addProject creates a project and pushes ciYAML to it; it becomes f.project.
func (f *fixture) addProject(ctx context.Context, dir, name, ciYAML string) error {
	p, err := f.api.createProject(ctx, name)
	if err != nil {
		return err
	}
	f.project = p
	return benchkit.PushRepo(ctx, f.srv.url, f.srv.token, dir, p.Path, ciYAML)
}

const oneJob = "only:\n  script: [\":\"]\n"

// runPickup measures pickup latency with long polling and with the
// polling baseline, each on its own server, and prints both.
func runPickup(ctx context.Context, w io.Writer, o options, dir string) error {
	plans := []struct {
		longPoll time.Duration
		plan     pickupPlan
	}{
		{50 * time.Second, pickupPlan{name: fmt.Sprintf("long polling (--long-poll 50s), %d requests held", o.pollers),
			pollers: o.pollers, pickups: o.pickups, warmup: 2}},
		{-time.Second, pickupPlan{name: fmt.Sprintf("baseline: --long-poll -1s, 1 runner polling every %s", o.pollInterval),
			pollers: 1, interval: o.pollInterval, pickups: o.baselinePickups, warmup: 1, jitter: o.pollInterval}},
	}
	var results []*pickupResult
	for i, p := range plans {
		f, err := newFixture(ctx, o.baton, filepath.Join(dir, fmt.Sprintf("pickup%d", i)), p.longPoll, "pickup", oneJob)
		if err != nil {
			return err
		}
		r, err := measurePickup(ctx, f.api, f.project.ID, f.runnerToken, p.plan)
		f.srv.stop()
		if err != nil {
			return fmt.Errorf("%s: %w", p.plan.name, err)
		}
		results = append(results, r)
	}
	fmt.Fprintln(w, "== (a) job pickup latency: pipeline created -> 201 delivering its job to a waiting request")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "mode\tjobs\tfrom\tp50\tp90\tmax")
	for _, r := range results {
		for _, row := range []struct {
			from string
			l    []time.Duration
		}{{"create response", r.fromResponse}, {"create request", r.fromRequest}} {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.plan.name, len(row.l), row.from, ms(pct(row.l, 50)), ms(pct(row.l, 90)), ms(pct(row.l, 100)))
		}
	}
	tw.Flush()
	if len(results) == 2 {
		lp, base := pct(results[0].fromRequest, 50), pct(results[1].fromRequest, 50)
		fmt.Fprintf(w, "from the create request, long polling p50 is %.0f× faster than the polling baseline (%s vs %s)\n",
			float64(base)/float64(max(lp, 1)), ms(lp), ms(base))
		fmt.Fprintf(w, "from the create response: %s vs %s (negative: the 201 reached the poller before the create response reached us)\n\n",
			ms(pct(results[0].fromResponse, 50)), ms(pct(results[1].fromResponse, 50)))
	}
	return nil
}

// runOverhead runs the no-op pipelines with baton runner and prints the
// time per job against bash and git floors.
func runOverhead(ctx context.Context, w io.Writer, o options, dir string) error {
	dir = filepath.Join(dir, "overhead")
	f, err := newFixture(ctx, o.baton, dir, 50*time.Second, "noop-none", noopYAML(o.noopJobs, true))
	if err != nil {
		return err
	}
	defer f.srv.stop()
	none := f.project
	if err := f.addProject(ctx, dir, "noop-clone", noopYAML(o.noopJobs, false)); err != nil {
		return err
	}
	clone := f.project
	rn, err := startRunner(o.baton, f.srv.url, f.runnerToken, dir, filepath.Join(dir, "runner.log"))
	if err != nil {
		return err
	}
	defer rn.stop()
	timeout := time.Duration(o.noopJobs)*10*time.Second + time.Minute
	var results []*overheadResult
	for _, c := range []struct {
		name string
		p    *project
	}{{"no-op, GIT_STRATEGY: none", none}, {"no-op, git fetch (default)", clone}} {
		// baton runner waits its 3 s poll interval after every 204, also the
		// immediate one that answers its first request (and the one after a
		// pipeline's last job): wait until it holds a long-poll request, so
		// that the measurement starts from a listening runner.
		time.Sleep(o.runnerSettle)
		r, err := measureOverhead(ctx, f.api, c.name, c.p.ID, o.noopJobs, timeout)
		if err != nil {
			if log, rerr := os.ReadFile(filepath.Join(dir, "runner.log")); rerr == nil {
				fmt.Fprintf(os.Stderr, "runner log:\n%s\n", tail(log, 4000))
			}
			return fmt.Errorf("%s: %w", c.name, err)
		}
		results = append(results, r)
	}
	bash, err := floor(ctx, o.noopJobs, dir, "bash", "-c", ":")
	if err != nil {
		return err
	}
	cloneDir := filepath.Join(dir, "clone-floor")
	if err := os.MkdirAll(cloneDir, 0o755); err != nil {
		return err
	}
	cloneURL := fmt.Sprintf("%s/%s.git", f.srv.url, clone.Path)
	cloneURL = "http://root:" + f.srv.token + "@" + cloneURL[len("http://"):]
	gitClone, err := floor(ctx, min(o.noopJobs, 10), cloneDir, "sh", "-c", `rm -rf c && git clone -q "$0" c`, cloneURL)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "== (b) per-job overhead: one pipeline of %d independent no-op jobs, baton runner --concurrency 1\n", o.noopJobs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "pipeline\twall (created->finished)\tper job\tfirst job started after\tjob running p50\tgap between jobs p50\tgap p90")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.name, ms(r.wall), ms(r.perJob()), ms(r.firstStart),
			ms(pct(r.running, 50)), ms(pct(r.gaps, 50)), ms(pct(r.gaps, 90)))
	}
	tw.Flush()
	fmt.Fprintf(w, "floor: bash -c ':' %d times: %s each; git clone of the project over HTTP: %s each\n", o.noopJobs, ms(bash), ms(gitClone))
	for _, r := range results {
		fmt.Fprintf(w, "%s: %s per job = %.0f× the bash floor (%s above it)\n", r.name, ms(r.perJob()),
			float64(r.perJob())/float64(max(bash, 1)), ms(r.perJob()-bash))
	}
	fmt.Fprintln(w)
	return nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// pct returns the p-th percentile (0 < p <= 100) of sorted latencies.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// ms formats d in milliseconds.
func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
