package main

import (
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"
)

// pct is the p-th percentile (0..100) of ds, nearest rank.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string {
	if d < 10*time.Millisecond {
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// printReport writes the table; targets are reported, never enforced.
func printReport(w io.Writer, cfg config, r *results) {
	fmt.Fprintf(w, "\nBaton scale-out benchmark: 2 replicas, 1 PostgreSQL, 1 S3 (versitygw), %d runners × %d concurrent\n", cfg.Runners, cfg.Concurrency)
	fmt.Fprintf(w, "machine: %d CPUs, load average at start %s, at end %s\n\n", r.CPUs, r.LoadStart, r.LoadEnd)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\tvalue\tbaseline\tratio\ttarget\n")
	fmt.Fprintf(tw, "drain: %d pipelines × %d no-op jobs\t%d jobs (%d ok) in %.1f s = %.1f jobs/s\t\t\t(report)\n",
		cfg.Pipelines, cfg.Jobs, r.Jobs, r.Succeeded, r.Drain.Seconds(), float64(r.Jobs)/r.Drain.Seconds())
	fmt.Fprintf(tw, "job pickup (queued_duration) p50 / p99\t%s / %s\t\t\t(report; includes waiting for a free slot)\n",
		ms(pct(r.Pickup, 50)), ms(pct(r.Pickup, 99)))
	idle50, idle99, load50, load99 := pct(r.IdleAPI, 50), pct(r.IdleAPI, 99), pct(r.LoadAPI, 50), pct(r.LoadAPI, 99)
	ratio := float64(load99) / float64(max(idle99, 1))
	fmt.Fprintf(tw, "GET pipeline p50 / p99 under load (%d req, %d errors)\t%s / %s\tidle (%d req): %s / %s\tp99 %.1f×\t< 5× idle: %s\n",
		len(r.LoadAPI), r.ReplicaAPIErrs, ms(load50), ms(load99), len(r.IdleAPI), ms(idle50), ms(idle99), ratio, verdict(ratio < 5))
	if len(r.LoadStatic) > 0 && len(r.IdleStatic) > 0 {
		s99 := pct(r.IdleStatic, 99)
		sr := float64(pct(r.LoadStatic, 99)) / float64(max(s99, 1))
		fmt.Fprintf(tw, "floor: nginx, 1 KiB static file, p50 / p99 under the same load (%d req)\t%s / %s\tidle (%d req): %s / %s\tp99 %.1f×\t(the machine's own ratio)\n",
			len(r.LoadStatic), ms(pct(r.LoadStatic, 50)), ms(pct(r.LoadStatic, 99)), len(r.IdleStatic), ms(pct(r.IdleStatic, 50)), ms(s99), sr)
	} else if r.StaticNote != "" {
		fmt.Fprintf(tw, "floor: nginx static file\t%s\t\t\t\n", r.StaticNote)
	}
	fan := fmt.Sprintf("fan-out (%s): %d consumers × %.1f MiB archive", cfg.Download, cfg.Consumers, float64(r.ArchiveBytes)/(1<<20))
	if r.NginxMBps > 0 {
		fr := r.BatonMBps / r.NginxMBps
		fmt.Fprintf(tw, "%s\t%.0f MB/s (%.1f s, %d errors)\tnginx: %.0f MB/s (%.1f s)\t%.2f×\t≥ 0.8× nginx: %s\n",
			fan, r.BatonMBps, r.BatonFanout.Seconds(), r.FanoutErrs, r.NginxMBps, r.NginxFanout.Seconds(), fr, verdict(fr >= 0.8))
	} else {
		fmt.Fprintf(tw, "%s\t%.0f MB/s (%.1f s, %d errors)\tnginx: %s\t\tn/a\n", fan, r.BatonMBps, r.BatonFanout.Seconds(), r.FanoutErrs, r.NginxNote)
	}
	tw.Flush()
}
