package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// report prints one engine's latencies, its verdict against the target and
// the floor, and the query plans.
func report(w io.Writer, r *result) {
	fmt.Fprintf(w, "== %s: seeded %d jobs in %s\n", r.engine, r.seeded, r.seedTime.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tp50\tp90\tp99\tmax\t")
	for _, row := range []struct {
		name string
		l    []time.Duration
	}{
		{"whole lookup", r.total},
		{"  PipelineByID", r.pipeline},
		{"  ListJobs(pipeline, name)", r.listJobs},
		{"  ArtifactsOfJobs", r.artifacts},
		{"SELECT 1 (floor)", r.floor},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", row.name, us(percentile(row.l, 50)), us(percentile(row.l, 90)),
			us(percentile(row.l, 99)), us(percentile(row.l, 100)))
	}
	tw.Flush()
	p50 := percentile(r.total, 50)
	fmt.Fprintf(w, "p50 %s vs target %s: %s (%.2f× the target; %.1f× the SELECT 1 floor)\n",
		us(p50), us(target), verdict(p50), float64(p50)/float64(target), float64(p50)/float64(max(1, percentile(r.floor, 50))))
	plan := "EXPLAIN QUERY PLAN"
	if r.engine == "postgres" {
		plan = "EXPLAIN (ANALYZE, BUFFERS)"
	}
	fmt.Fprintf(w, "%s of ListJobs (WHERE pipeline_id = ? AND name = '%s' ORDER BY id DESC):\n", plan, r.sampleName)
	for _, l := range r.jobsPlan {
		fmt.Fprintln(w, "    "+l)
	}
	fmt.Fprintf(w, "%s of ArtifactsOfJobs (WHERE job_id IN (?) ORDER BY job_id, id):\n", plan)
	for _, l := range r.artsPlan {
		fmt.Fprintln(w, "    "+l)
	}
	fmt.Fprintln(w)
}

// summary prints one line per engine.
func summary(w io.Writer, rs []*result) {
	fmt.Fprintln(w, "== summary (whole lookup)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "engine\tjobs\tp50\tp90\tp99\tfloor p50\ttarget p50 < 1ms")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", r.engine, r.seeded, us(percentile(r.total, 50)),
			us(percentile(r.total, 90)), us(percentile(r.total, 99)), us(percentile(r.floor, 50)), verdict(percentile(r.total, 50)))
	}
	tw.Flush()
}

func verdict(p50 time.Duration) string {
	if p50 < target {
		return "MET"
	}
	return "MISSED"
}

// us formats d in microseconds.
func us(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond)) }
