package storetest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// BenchmarkPipelineArtifactLookup measures the lookups behind Baton's
// artifact URLs on a store of BATON_BENCH_JOBS jobs (default 1,000,000) and
// reports the median latency of each as p50-µs.
func BenchmarkPipelineArtifactLookup(b *testing.B) {
	jobs := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("BATON_BENCH_JOBS")); err == nil && v > 0 {
		jobs = v
	}
	ctx := context.Background()
	for _, e := range Engines() {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			start := time.Now()
			s := Seed(b, db, 100, jobs, 20)
			b.Logf("%s: seeded %d jobs in %s", e.Name, len(s.Pipelines)*s.JobsPer, time.Since(start).Round(time.Millisecond))
			cases := []struct {
				name string
				run  func(i int) error
			}{
				{"jobs_by_pipeline_and_name", func(i int) error {
					pl := s.Pipelines[(i*7919)%len(s.Pipelines)]
					js, _, err := db.ListJobs(ctx, ci.JobFilter{PipelineID: pl, Name: fmt.Sprintf("job-%d", i%s.JobsPer)})
					if err == nil && len(js) != 1 {
						err = fmt.Errorf("found %d jobs", len(js))
					}
					return err
				}},
				{"latest_ref_pipeline_job_artifacts", func(i int) error {
					proj := s.Projects[i%len(s.Projects)]
					ps, _, err := db.ListPipelines(ctx, ci.PipelineFilter{ProjectID: proj, Ref: "main",
						Statuses: []ci.Status{ci.StatusSuccess}, Page: ci.Page{Page: 1, PerPage: 1}})
					if err != nil || len(ps) != 1 {
						return fmt.Errorf("latest pipeline: %d, %v", len(ps), err)
					}
					js, _, err := db.ListJobs(ctx, ci.JobFilter{PipelineID: ps[0].ID, Name: "job-3"})
					if err != nil || len(js) != 1 {
						return fmt.Errorf("job: %d, %v", len(js), err)
					}
					as, err := db.ArtifactsOfJobs(ctx, []int64{js[0].ID})
					if err == nil && len(as) != 1 {
						err = fmt.Errorf("found %d artifacts", len(as))
					}
					return err
				}},
				{"pipelines_by_sha_prefix", func(i int) error {
					pl := s.Pipelines[(i*7919)%len(s.Pipelines)]
					ps, _, err := db.ListPipelines(ctx, ci.PipelineFilter{ProjectID: s.Projects[((i*7919)%len(s.Pipelines))%len(s.Projects)],
						SHA: fmt.Sprintf("%040x", pl)[:12], Page: ci.Page{Page: 1, PerPage: 20}})
					if err == nil && len(ps) == 0 {
						err = fmt.Errorf("no pipeline for sha prefix")
					}
					return err
				}},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					lat := make([]time.Duration, 0, b.N)
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						t0 := time.Now()
						if err := c.run(i); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(t0))
					}
					b.StopTimer()
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
				})
			}
		})
	}
}
