package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRunTiny runs the whole benchmark at tiny sizes against the real baton
// binary: every measurement must succeed and the report must carry every
// row. nginx is deliberately absent, so its baseline must be reported as
// absent with the install hint, not fail the run.
func TestRunTiny(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("builds and starts the baton binary")
	}
	cfg := config{Size: 4 << 20, Entries: 200, Rounds: 1, Requests: 40, UnzipRuns: 2,
		Nginx: "baton-bench-no-such-nginx", Unzip: "unzip", TempParent: t.TempDir(), MergeSize: 3 << 20}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	res, err := run(ctx, cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	if len(res.Download.MBps) != 1 || res.Download.MBps[0] <= 0 {
		t.Errorf("download rates = %v, want one positive rate", res.Download.MBps)
	}
	if res.NginxDownload != nil || !strings.Contains(res.NginxMissing, "apt-get install -y nginx") {
		t.Errorf("nginx baseline = %v, %q; want absent with the install hint", res.NginxDownload, res.NginxMissing)
	}
	if len(res.Upload.MBps) != 1 || len(res.DD.MBps) != 1 || res.Upload.RSSBase[0] <= 0 || res.Upload.RSSPeak[0] < res.Upload.RSSBase[0] {
		t.Errorf("upload = %+v, dd = %+v; want one round with RSS samples", res.Upload, res.DD)
	}
	for name, want := range map[string]int{"many": 40, "few": 40} {
		if got := res.Entries[name]; got.N != want || got.P50 <= 0 || got.P99 < got.P50 {
			t.Errorf("entry reads %s = %+v, want %d ordered samples", name, got, want)
		}
	}
	if res.ManyEntries != 200 || res.FewEntries != 10 {
		t.Errorf("archives have %d and %d entries, want 200 and 10", res.ManyEntries, res.FewEntries)
	}
	if res.Unzip == nil && !strings.Contains(res.UnzipMsg, "not found") {
		t.Errorf("unzip baseline absent without a reason: %q", res.UnzipMsg)
	}

	if m := res.Merged; m == nil || len(m.MergedMBps) != 1 || len(m.WholeMBps) != 1 || m.MergedBytes <= 3<<20-(1<<16) || m.WholeBytes <= 0 {
		t.Errorf("merged download = %+v; want one round of each, the merge holding the shards' bytes", m)
	}

	var report bytes.Buffer
	outcome := printReport(&report, cfg, res)
	for _, key := range []string{"download", "upload", "rss", "vs-unzip", "p50", "scaling", "merged"} {
		switch outcome[key] {
		case "met", "MISSED", "n/a":
		default:
			t.Errorf("target %s has outcome %q, want met, MISSED or n/a\n%s", key, outcome[key], report.String())
		}
	}
	if outcome["download"] != "n/a" {
		t.Errorf("download target without nginx = %q, want n/a", outcome["download"])
	}
	for _, want := range []string{"download 4.0 MiB", "upload 4.0 MiB", "RSS growth", "200 entries", "load average", "merged download 3 × 1.0 MiB"} {
		if !strings.Contains(report.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, report.String())
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    config
		wantErr bool
	}{
		{name: "defaults", args: nil, want: defaultConfig()},
		{name: "quick", args: []string{"-quick"}, want: quickConfig()},
		{name: "quick with explicit size and entries", args: []string{"-quick", "-size", "8MiB", "-entries", "50"},
			want: func() config { c := quickConfig(); c.Size, c.Entries = 8<<20, 50; return c }()},
		{name: "sizes", args: []string{"-size", "1.5GiB", "-rounds", "5", "-nginx", "none"},
			want: func() config { c := defaultConfig(); c.Size, c.Rounds, c.Nginx = 3<<29, 5, "none"; return c }()},
		{name: "plain bytes", args: []string{"-size", "131072"},
			want: func() config { c := defaultConfig(); c.Size = 131072; return c }()},
		{name: "bad size", args: []string{"-size", "lots"}, wantErr: true},
		{name: "too small", args: []string{"-size", "1KiB"}, wantErr: true},
		{name: "no rounds", args: []string{"-rounds", "0"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseFlags(%q) = %+v, want an error", tc.args, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q): %v", tc.args, err)
			}
			if got != tc.want {
				t.Errorf("parseFlags(%q) = %+v, want %+v", tc.args, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := latency{N: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Min: time.Millisecond}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
}
