package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

// sizes says how big one engine's run is.
type sizes struct {
	jobs       int // jobs seeded
	pipelines  int // pipelines they are spread over
	projects   int // projects the pipelines are spread over
	iterations int // measured lookups
	warmup     int // lookups run before measuring
}

// result is one engine's measurements; every latency slice is sorted.
type result struct {
	engine     string
	seeded     int // jobs actually seeded
	seedTime   time.Duration
	total      []time.Duration // the whole pipeline-scoped lookup
	pipeline   []time.Duration // PipelineByID
	listJobs   []time.Duration // ListJobs by pipeline and name
	artifacts  []time.Duration // ArtifactsOfJobs
	floor      []time.Duration // SELECT 1 through the same *sql.DB
	jobsPlan   []string        // plan of the ListJobs query
	artsPlan   []string        // plan of the ArtifactsOfJobs query
	sampleName string          // the job name the plans were taken for
}

// measure seeds db with sz and times the pipeline-scoped artifact lookup of
// GET /projects/:id/pipelines/:pid/artifacts?job=NAME (PipelineByID,
// ListJobs with IncludeRetried, ArtifactsOfJobs) on random pipelines and
// names. A lookup that does not find exactly one job with one archive is an
// error. tb is used only for seeding.
func measure(ctx context.Context, tb testing.TB, db *store.DB, sz sizes) (*result, error) {
	jobsPer := max(1, sz.jobs/max(1, sz.pipelines))
	start := time.Now()
	s := storetest.Seed(tb, db, sz.projects, jobsPer*max(1, sz.pipelines), jobsPer)
	r := &result{engine: db.Dialect(), seeded: len(s.Pipelines) * s.JobsPer, seedTime: time.Since(start)}
	if len(s.Pipelines) == 0 {
		return nil, fmt.Errorf("seeding made no pipelines")
	}

	rng := rand.New(rand.NewPCG(1, 2))
	lookup := func(record bool) error {
		pl := s.Pipelines[rng.IntN(len(s.Pipelines))]
		name := fmt.Sprintf("job-%d", rng.IntN(s.JobsPer))
		t0 := time.Now()
		p, err := db.PipelineByID(ctx, pl)
		if err != nil {
			return fmt.Errorf("fetching pipeline %d: %w", pl, err)
		}
		t1 := time.Now()
		jobs, _, err := db.ListJobs(ctx, ci.JobFilter{PipelineID: p.ID, Name: name, IncludeRetried: true})
		if err != nil {
			return fmt.Errorf("listing jobs %q of pipeline %d: %w", name, pl, err)
		}
		t2 := time.Now()
		ids := make([]int64, len(jobs))
		for i, j := range jobs {
			ids[i] = j.ID
		}
		arts, err := db.ArtifactsOfJobs(ctx, ids)
		if err != nil {
			return fmt.Errorf("listing artifacts of jobs %v: %w", ids, err)
		}
		t3 := time.Now()
		if len(jobs) != 1 || len(arts) != 1 || arts[0].JobID != jobs[0].ID || arts[0].FileType != ci.FileTypeArchive {
			return fmt.Errorf("pipeline %d job %q: found %d jobs and %d artifacts, want one of each", pl, name, len(jobs), len(arts))
		}
		if record {
			r.total = append(r.total, t3.Sub(t0))
			r.pipeline = append(r.pipeline, t1.Sub(t0))
			r.listJobs = append(r.listJobs, t2.Sub(t1))
			r.artifacts = append(r.artifacts, t3.Sub(t2))
		}
		return nil
	}
	for i := 0; i < sz.warmup; i++ {
		if err := lookup(false); err != nil {
			return nil, err
		}
	}
	for i := 0; i < sz.iterations; i++ {
		if err := lookup(true); err != nil {
			return nil, err
		}
		// The floor is interleaved so that both see the same cache and load.
		t0 := time.Now()
		var one int
		if err := db.SQL().QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
			return nil, fmt.Errorf("selecting 1: %w", err)
		}
		r.floor = append(r.floor, time.Since(t0))
	}
	for _, l := range [][]time.Duration{r.total, r.pipeline, r.listJobs, r.artifacts, r.floor} {
		slices.Sort(l)
	}

	pl := s.Pipelines[len(s.Pipelines)/2]
	r.sampleName = fmt.Sprintf("job-%d", s.JobsPer/2)
	jobs, _, err := db.ListJobs(ctx, ci.JobFilter{PipelineID: pl, Name: r.sampleName, IncludeRetried: true})
	if err != nil || len(jobs) != 1 {
		return nil, fmt.Errorf("finding the sample job: %d jobs, %v", len(jobs), err)
	}
	if r.jobsPlan, err = explain(ctx, db, listJobsQuery(pl, r.sampleName)); err != nil {
		return nil, err
	}
	if r.artsPlan, err = explain(ctx, db, artifactsQuery(jobs[0].ID)); err != nil {
		return nil, err
	}
	return r, nil
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
