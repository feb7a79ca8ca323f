// Command jobs measures how fast Baton hands out and runs jobs, against a
// baseline measured in the same run:
//
//   - pickup latency: N long-polling job requests held by the server; time
//     from a pipeline's create response to the 201 that delivers its job.
//     Baseline: long polling off (--long-poll -1s) and one runner polling
//     every 3 s, gitlab-runner's default check_interval.
//
//   - per-job overhead: a pipeline of no-op jobs run by `baton runner
//     --concurrency 1`, without and with the git clone, as wall time per job.
//     Baseline: `bash -c :` run as many times (and `git clone` for the clone).
//
//     go run ./bench/jobs [-pickups 50] [-noop-jobs 50] [-baton path/to/baton]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// options are the program's flags.
type options struct {
	baton           string        // baton binary; built from ./cmd/baton when empty
	pollers         int           // long-poll requests held at once
	pickups         int           // measured pickups with long polling
	baselinePickups int           // measured pickups of the polling baseline
	pollInterval    time.Duration // baseline's pause after a 204
	noopJobs        int           // jobs in the no-op pipelines
	part            string        // pickup, overhead or both
	keep            bool          // keep the work directory
	runnerSettle    time.Duration // pause before each no-op pipeline (see runnerSettle)
}

// runnerSettle is how long a baton runner takes from a 204 to a held
// request: its poll interval (3 s) and a margin.
const runnerSettle = 3500 * time.Millisecond

func main() {
	var o options
	flag.StringVar(&o.baton, "baton", "", "baton binary to run (default: go build ./cmd/baton)")
	flag.IntVar(&o.pollers, "pollers", 4, "long-polling job requests kept outstanding")
	flag.IntVar(&o.pickups, "pickups", 50, "pipelines whose pickup is measured with long polling")
	flag.IntVar(&o.baselinePickups, "baseline-pickups", 20, "pipelines whose pickup is measured with polling (each takes ~3 s)")
	flag.DurationVar(&o.pollInterval, "poll-interval", 3*time.Second, "baseline runner's check_interval")
	flag.IntVar(&o.noopJobs, "noop-jobs", 50, "no-op jobs per pipeline for the overhead measurement")
	flag.StringVar(&o.part, "part", "both", "pickup, overhead or both")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory (runner log, data)")
	flag.Parse()
	o.runnerSettle = runnerSettle
	if err := run(context.Background(), os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "jobs:", err)
		os.Exit(1)
	}
}

// run prepares the binary and a work directory and runs the parts o asks for.
func run(ctx context.Context, w io.Writer, o options) error {
	dir, err := os.MkdirTemp("", "baton-bench-jobs-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(w, "work directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	if o.baton == "" {
		if o.baton, err = benchkit.BuildBaton(ctx, dir); err != nil {
			return err
		}
	}
	if o.part == "pickup" || o.part == "both" {
		if err := runPickup(ctx, w, o, dir); err != nil {
			return err
		}
	}
	if o.part == "overhead" || o.part == "both" {
		if err := runOverhead(ctx, w, o, dir); err != nil {
			return err
		}
	}
	return nil
}
