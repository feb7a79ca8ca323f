// Command lookup measures Baton's pipeline-scoped artifact lookup, the store
// work behind GET /api/v4/projects/:id/pipelines/:pid/artifacts?job=NAME
// (PipelineByID, ListJobs by pipeline and name including retries,
// ArtifactsOfJobs), on a database seeded with a million jobs, on SQLite and
// PostgreSQL. It prints p50/p90/p99/max per call, compares the p50 with the
// 1 ms target and with a SELECT 1 round trip measured in the same run, and
// shows the query plans.
//
//	go run ./bench/lookup [-jobs 1000000] [-engine sqlite|postgres|both] [-postgres URL]
//
// Without -postgres it starts a throwaway PostgreSQL cluster as package
// testpg does for tests. With -postgres, give it an empty database: the run
// adds its rows there.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storeopen"
	"github.com/batonci/baton/internal/testpg"
)

// target is the p50 the whole lookup should stay under.
const target = time.Millisecond

func main() {
	engine := flag.String("engine", "both", "sqlite, postgres or both")
	pgURL := flag.String("postgres", "", "PostgreSQL URL of an empty database (default: start a throwaway cluster)")
	var sz sizes
	flag.IntVar(&sz.jobs, "jobs", 1_000_000, "jobs to seed (each with one archive artifact)")
	flag.IntVar(&sz.pipelines, "pipelines", 0, "pipelines to spread the jobs over (default jobs/10)")
	flag.IntVar(&sz.projects, "projects", 5, "projects to spread the pipelines over")
	flag.IntVar(&sz.iterations, "iterations", 20000, "lookups to measure per engine")
	flag.IntVar(&sz.warmup, "warmup", 2000, "lookups before measuring")
	verbose := flag.Bool("v", false, "log seeding details")
	flag.Parse()
	if sz.pipelines <= 0 {
		sz.pipelines = max(1, sz.jobs/10)
	}
	var engines []string
	switch *engine {
	case "sqlite", "postgres":
		engines = []string{*engine}
	case "both":
		engines = []string{"sqlite", "postgres"}
	default:
		fmt.Fprintf(os.Stderr, "lookup: -engine %q: want sqlite, postgres or both\n", *engine)
		os.Exit(2)
	}
	err := run(context.Background(), os.Stdout, engines, *pgURL, sz, *verbose)
	testpg.Stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lookup:", err)
		os.Exit(1)
	}
}

// run measures each engine in turn and prints its report, then a summary.
func run(ctx context.Context, w io.Writer, engines []string, pgURL string, sz sizes, verbose bool) error {
	fmt.Fprintf(w, "Pipeline-scoped artifact lookup: %d jobs in %d pipelines of %d projects, %d lookups per engine (after %d warm-up)\n\n",
		sz.jobs, sz.pipelines, sz.projects, sz.iterations, sz.warmup)
	var results []*result
	for _, e := range engines {
		tb := &programTB{verbose: verbose}
		var r *result
		err := guard(func() error {
			db, err := open(ctx, tb, e, pgURL)
			if err != nil {
				return err
			}
			r, err = measure(ctx, tb, db, sz)
			return err
		})
		tb.cleanup()
		if err != nil {
			return fmt.Errorf("%s: %w", e, err)
		}
		report(w, r)
		results = append(results, r)
	}
	summary(w, results)
	return nil
}

// open opens a fresh store on engine; tb's cleanups close and remove it.
func open(ctx context.Context, tb *programTB, engine, pgURL string) (*store.DB, error) {
	var db *store.DB
	switch engine {
	case "sqlite":
		dir, err := os.MkdirTemp("", "baton-bench-lookup-")
		if err != nil {
			return nil, fmt.Errorf("creating a directory: %w", err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
		if db, err = storeopen.Open(ctx, "sqlite:"+filepath.Join(dir, "baton.db")); err != nil {
			return nil, err
		}
	case "postgres":
		if pgURL == "" {
			pgURL = testpg.URL(tb)
		}
		var err error
		if db, err = storeopen.Open(ctx, pgURL); err != nil {
			return nil, err
		}
	}
	tb.Cleanup(func() { db.Close() })
	return db, nil
}
