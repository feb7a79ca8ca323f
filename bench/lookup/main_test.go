package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

var tiny = sizes{jobs: 300, pipelines: 30, projects: 2, iterations: 40, warmup: 5}

// TestMeasureFindsEveryJob runs the measurement on a tiny store on both
// engines: every lookup must find its one job and archive (measure fails
// otherwise), and the plan must use the (pipeline_id, name) index.
func TestMeasureFindsEveryJob(t *testing.T) {
	for _, e := range storetest.Engines() {
		t.Run(e.Name, func(t *testing.T) {
			r, err := measure(context.Background(), t, e.Open(t), tiny)
			if err != nil {
				t.Fatal(err)
			}
			if r.seeded != tiny.jobs {
				t.Errorf("seeded %d jobs, want %d", r.seeded, tiny.jobs)
			}
			for name, l := range map[string]int{"total": len(r.total), "ListJobs": len(r.listJobs), "floor": len(r.floor)} {
				if l != tiny.iterations {
					t.Errorf("%s: %d samples, want %d", name, l, tiny.iterations)
				}
			}
			if plan := strings.Join(r.jobsPlan, "\n"); !strings.Contains(plan, "jobs_pipeline_name") {
				t.Errorf("ListJobs plan does not use jobs_pipeline_name:\n%s", plan)
			}
		})
	}
}

// TestRunReports runs the program's core as main does, on SQLite, and checks
// the report's shape.
func TestRunReports(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, []string{"sqlite"}, "", tiny, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"== sqlite: seeded 300 jobs", "whole lookup", "SELECT 1 (floor)",
		"USING INDEX jobs_pipeline_name", "== summary"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestPercentile(t *testing.T) {
	l := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		name string
		p    float64
		want int
	}{{"p50", 50, 5}, {"p90", 90, 9}, {"p99", 99, 10}, {"max", 100, 10}, {"p1", 1, 1}} {
		t.Run(c.name, func(t *testing.T) {
			var d []time.Duration
			for _, v := range l {
				d = append(d, time.Duration(v))
			}
			if got := percentile(d, c.p); int(got) != c.want {
				t.Errorf("percentile(%v) = %d, want %d", c.p, got, c.want)
			}
		})
	}
}
