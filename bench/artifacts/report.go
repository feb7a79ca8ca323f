package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

func numCPU() int { return runtime.NumCPU() }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func best(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func rates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, " ")
}

// targets are the outcomes of the checks, for tests and the summary.
type targets map[string]string

// printReport writes the results table and returns each target's outcome:
// "met", "MISSED" or "n/a" (baseline absent).
func printReport(w io.Writer, cfg config, r *results) targets {
	out := targets{}
	fmt.Fprintf(w, "\nBaton artifact benchmark: large archive %s, one-file reads from %d and %d entries of %d B\n",
		human(cfg.Size), r.ManyEntries, r.FewEntries, entrySize)
	fmt.Fprintf(w, "machine: %d CPUs, load average at start %s, at end %s\n\n", r.CPUs, r.LoadStart, r.LoadEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tbaton\tbaseline\tratio\ttarget\tresult")
	fmt.Fprintln(tw, "-----------\t-----\t--------\t-----\t------\t------")

	if len(r.Download.MBps) > 0 {
		b := r.Download
		base, ratio, res := "nginx: "+r.NginxMissing, "-", "n/a"
		if n := r.NginxDownload; n != nil && len(n.MBps) > 0 {
			q := median(b.MBps) / median(n.MBps)
			base = fmt.Sprintf("nginx %.0f / %.0f MB/s", best(n.MBps), median(n.MBps))
			ratio = fmt.Sprintf("%.2f× (best %.2f×)", q, best(b.MBps)/best(n.MBps))
			res = verdict(q >= 0.8)
		}
		out["download"] = res
		fmt.Fprintf(tw, "download %s, best / median\t%.0f / %.0f MB/s\t%s\t%s\t≥ 0.80× nginx\t%s\n",
			human(cfg.Size), best(b.MBps), median(b.MBps), base, ratio, res)
		cpu := func(d downloadResult) float64 { return d.CPU.Seconds() / (float64(d.Read) / (1 << 30)) }
		nb := "-"
		if n := r.NginxDownload; n != nil && n.Read > 0 {
			nb = fmt.Sprintf("nginx %.2f s/GiB", cpu(*n))
		}
		fmt.Fprintf(tw, "  server CPU per GiB sent\t%.2f s/GiB\t%s\t\t(info)\t\n", cpu(b), nb)
	}
	if len(r.Upload.MBps) > 0 {
		u := r.Upload
		q := median(u.MBps) / median(r.DD.MBps)
		out["upload"] = verdict(q >= 0.6)
		fmt.Fprintf(tw, "upload %s (chunked multipart), best / median\t%.0f / %.0f MB/s\tdd fsync %.0f / %.0f MB/s\t%.2f×\t≥ 0.60× dd\t%s\n",
			human(cfg.Size), best(u.MBps), median(u.MBps), best(r.DD.MBps), median(r.DD.MBps), q, out["upload"])
		fmt.Fprintf(tw, "  server CPU per GiB received\t%.2f s/GiB\t\t\t(info)\t\n", u.CPU.Seconds()/(float64(u.Bytes)/(1<<30)))
		var growth, base int64
		for i := range u.RSSPeak {
			if g := u.RSSPeak[i] - u.RSSBase[i]; g > growth || i == 0 {
				growth, base = g, u.RSSBase[i]
			}
		}
		out["rss"] = verdict(growth < 64<<20)
		fmt.Fprintf(tw, "  server RSS growth during upload (worst round)\t%.1f MiB\tRSS before %.1f MiB\t\t< 64 MiB\t%s\n",
			float64(growth)/(1<<20), float64(base)/(1<<20), out["rss"])
	}
	if m := r.Merged; m != nil && len(m.MergedMBps) > 0 {
		q := median(m.MergedMBps) / median(m.WholeMBps)
		out["merged"] = verdict(q >= 0.8)
		fmt.Fprintf(tw, "merged download 3 × %s (merge=parallel), best / median\t%.0f / %.0f MB/s\tone %s archive %.0f / %.0f MB/s\t%.2f×\t≥ 0.80× one archive\t%s\n",
			human(cfg.MergeSize/3), best(m.MergedMBps), median(m.MergedMBps), human(m.WholeBytes), best(m.WholeMBps), median(m.WholeMBps), q, out["merged"])
		fmt.Fprintf(tw, "  server CPU per GiB sent, merged / one archive\t%.2f s/GiB\t%.2f s/GiB\t\t(info)\t\n", m.MergedCPU, m.WholeCPU)
	}
	many, okMany := r.Entries["many"]
	few, okFew := r.Entries["few"]
	if okMany {
		label := fmt.Sprintf("one 4 KiB file of %d entries, p50 / p90 / p99", r.ManyEntries)
		base, ratio, res := "unzip: "+r.UnzipMsg, "-", "n/a"
		if u := r.Unzip; u != nil {
			q := float64(u.Median) / float64(many.P50)
			base = fmt.Sprintf("unzip -p median %s", ms(u.Median))
			ratio = fmt.Sprintf("%.1f× faster", q)
			res = verdict(q >= 5)
		}
		out["vs-unzip"] = res
		fmt.Fprintf(tw, "%s\t%s / %s / %s\t%s\t%s\t≥ 5× faster\t%s\n", label, ms(many.P50), ms(many.P90), ms(many.P99), base, ratio, res)
		out["p50"] = verdict(many.P50 < time.Millisecond)
		fmt.Fprintf(tw, "  p50 of one-file read (%d entries)\t%s\t\t\t< 1 ms\t%s\n", r.ManyEntries, ms(many.P50), out["p50"])
	}
	if floor, ok := r.Entries["health"]; okMany && ok {
		q := float64(many.P50) / float64(floor.P50)
		out["vs-floor"] = verdict(q <= 2)
		fmt.Fprintf(tw, "  p50 of one-file read vs the HTTP floor\t%s\tGET /-/health p50 %s\t%.2f×\t≤ 2.00×\t%s\n",
			ms(many.P50), ms(floor.P50), q, out["vs-floor"])
	}
	if okMany && okFew {
		q := float64(many.P50) / float64(few.P50)
		out["scaling"] = verdict(q <= 1.2)
		fmt.Fprintf(tw, "  p50 %d entries vs %d entries\t%s\t%d entries: p50 %s, p90 %s\t%.2f×\t≤ 1.20×\t%s\n",
			r.ManyEntries, r.FewEntries, ms(many.P50), r.FewEntries, ms(few.P50), ms(few.P90), q, out["scaling"])
	}
	for _, k := range []struct{ key, label string }{
		{"many", fmt.Sprintf("%d entries", r.ManyEntries)}, {"few", fmt.Sprintf("%d entries", r.FewEntries)}, {"health", "GET /-/health (HTTP floor)"},
		{"user", "GET /api/v4/user (auth floor)"}, {"job", "GET .../jobs/:job_id (auth+job floor)"},
	} {
		if st, ok := r.Entries[k.key]; ok {
			idx := ""
			if n, ok := r.Indexes[k.key]; ok {
				idx = fmt.Sprintf(", index %s", human(n))
			}
			fmt.Fprintf(tw, "  %s: p50 / p90 / p99\t%s / %s / %s\tserver CPU %s per request%s\t\t(info)\t\n",
				k.label, ms(st.P50), ms(st.P90), ms(st.P99), ms(st.CPUPerRequest), idx)
		}
	}
	tw.Flush()

	fmt.Fprintln(w, "\nper round (MB/s, in order):")
	fmt.Fprintf(w, "  baton download: %s\n", rates(r.Download.MBps))
	if r.NginxDownload != nil {
		fmt.Fprintf(w, "  nginx download: %s\n", rates(r.NginxDownload.MBps))
	}
	fmt.Fprintf(w, "  baton upload:   %s\n", rates(r.Upload.MBps))
	fmt.Fprintf(w, "  dd conv=fsync:  %s\n", rates(r.DD.MBps))
	if m := r.Merged; m != nil {
		fmt.Fprintf(w, "  merged download: %s\n", rates(m.MergedMBps))
		fmt.Fprintf(w, "  one archive:     %s\n", rates(m.WholeMBps))
	}
	for i := range r.Upload.RSSPeak {
		fmt.Fprintf(w, "  upload %d RSS: before %.1f MiB, peak %.1f MiB (%d samples at 20 ms)\n", i+1,
			float64(r.Upload.RSSBase[i])/(1<<20), float64(r.Upload.RSSPeak[i])/(1<<20), r.Upload.Samples[i])
	}
	if r.Sendfile != "" {
		fmt.Fprintf(w, "\nstrace -f -c of the server during one download:\n%s\n", r.Sendfile)
	}
	if r.UploadTrace != "" {
		fmt.Fprintf(w, "\nstrace -f -c of the server during one upload:\n%s\n", r.UploadTrace)
	}
	fmt.Fprintln(w, "\nMB = 10^6 bytes. Targets are reported, never enforced: the exit status only reflects errors.")
	return out
}
