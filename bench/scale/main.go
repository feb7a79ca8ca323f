// Command scale measures Baton scaled out: two `baton server` replicas
// (built from this module) on one throwaway PostgreSQL and one S3 store
// (versitygw), four of Baton's runners (in process, two on each replica),
// and reports, next to baselines measured in the same run:
//
//   - drain: P pipelines of J no-op jobs (GIT_STRATEGY: none) created at
//     once through the API; jobs/s from the first create to the last
//     pipeline finished, and each job's pickup (queued_duration: pending
//     to handed to a runner);
//   - GET /projects/:id/pipelines/:pid latency (p50/p99) on both replicas
//     while the drain runs, against the same requests on the idle servers
//     (target: p99 under load < 5× idle);
//   - fan-out: C consumers downloading the same archive at once by the
//     pipeline route, spread over both replicas, aggregate MB/s against
//     nginx (sendfile) serving the same file to C clients (target ≥ 0.8×).
//
// Targets are reported, never asserted: it exits non-zero only when
// something fails.
//
//	go run ./bench/scale            # 200 pipelines × 10 jobs, 50 consumers of 100 MiB
//	go run ./bench/scale -quick     # 20 × 10, 10 consumers of 16 MiB
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// config is what one run measures.
type config struct {
	Pipelines   int    // pipelines created for the drain
	Jobs        int    // no-op jobs per pipeline
	Runners     int    // in-process runners, spread over the replicas
	Concurrency int    // jobs each runner runs at once
	Consumers   int    // concurrent downloads of the fan-out archive
	Size        int64  // bytes of the fan-out artifact file
	IdleSamples int    // GET pipeline requests measured on the idle servers
	Download    string // the replicas' --artifact-download: proxy or redirect
	Baton       string
	Nginx       string
	Keep        bool
}

func defaultConfig() config {
	return config{Pipelines: 200, Jobs: 10, Runners: 4, Concurrency: 4, Consumers: 50, Size: 100 << 20, IdleSamples: 400, Download: "proxy", Nginx: "nginx"}
}

func quickConfig() config {
	return config{Pipelines: 20, Jobs: 10, Runners: 4, Concurrency: 4, Consumers: 10, Size: 16 << 20, IdleSamples: 100, Download: "proxy", Nginx: "nginx"}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "smoke run: 20 pipelines, 10 consumers of 16 MiB (explicit flags still win)")
	var c config
	def := defaultConfig()
	fs.IntVar(&c.Pipelines, "pipelines", def.Pipelines, "pipelines created for the drain")
	fs.IntVar(&c.Jobs, "jobs", def.Jobs, "no-op jobs per pipeline")
	fs.IntVar(&c.Runners, "runners", def.Runners, "in-process runners (alternating between the two replicas)")
	fs.IntVar(&c.Concurrency, "concurrency", def.Concurrency, "jobs each runner runs at once")
	fs.IntVar(&c.Consumers, "consumers", def.Consumers, "concurrent downloads of the fan-out archive")
	size := fs.Int64("size-mib", def.Size>>20, "MiB of the fan-out artifact")
	fs.IntVar(&c.IdleSamples, "idle-samples", def.IdleSamples, "GET pipeline requests measured on the idle servers")
	fs.StringVar(&c.Download, "download", def.Download, "the replicas' --artifact-download: proxy (through Baton) or redirect (302 to a signed S3 URL)")
	fs.StringVar(&c.Baton, "baton", "", "prebuilt baton binary (default: go build ./cmd/baton)")
	fs.StringVar(&c.Nginx, "nginx", def.Nginx, `nginx binary ("none" skips the nginx baseline)`)
	fs.BoolVar(&c.Keep, "keep", false, "keep the work directory (server logs, data)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	c.Size = *size << 20
	if *quick {
		q := quickConfig()
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, pair := range map[string][2]*int{"pipelines": {&c.Pipelines, &q.Pipelines}, "jobs": {&c.Jobs, &q.Jobs},
			"runners": {&c.Runners, &q.Runners}, "concurrency": {&c.Concurrency, &q.Concurrency},
			"consumers": {&c.Consumers, &q.Consumers}, "idle-samples": {&c.IdleSamples, &q.IdleSamples}} {
			if !set[name] {
				*pair[0] = *pair[1]
			}
		}
		if !set["size-mib"] {
			c.Size = q.Size
		}
	}
	if c.Download != "proxy" && c.Download != "redirect" {
		return config{}, fmt.Errorf("-download is proxy or redirect")
	}
	if c.Pipelines < 1 || c.Jobs < 1 || c.Runners < 1 || c.Concurrency < 1 || c.Consumers < 1 || c.Size < 1<<20 || c.IdleSamples < 10 {
		return config{}, fmt.Errorf("want -pipelines, -jobs, -runners, -concurrency, -consumers ≥ 1, -size-mib ≥ 1, -idle-samples ≥ 10")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}
