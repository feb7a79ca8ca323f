// Command artifacts benchmarks Baton's artifact paths against baselines
// measured in the same run:
//
//  1. downloading a large archive through the API vs nginx (sendfile) serving
//     the same file;
//  2. uploading it the way gitlab-runner does (chunked multipart) vs dd with
//     conv=fsync onto the same disk, plus the server's RSS growth;
//  3. reading one small file out of an archive of many entries vs unzip -p,
//     and vs the same read from an archive of 10 entries;
//  4. downloading the shards of a parallel job merged into one zip
//     (merge=parallel, 3 shards of a third each) vs one archive of the
//     same entries and size.
//
// It starts the real baton binary (built from ./cmd/baton unless -baton
// names one) with a fresh data directory, acts as a runner to get jobs, and
// prints a table with absolute numbers, ratios and whether each target was
// met. It exits non-zero only when something fails, never on a missed target.
//
//	go run ./bench/artifacts                 # 1 GiB, 100,000 entries, 3 rounds
//	go run ./bench/artifacts -quick          # a smoke run in a few seconds
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what one run measures; see the flags in parseFlags.
type config struct {
	Size       int64  // bytes of the large archive (upload and download)
	Entries    int    // entries of the many-entries archive
	Rounds     int    // upload and download rounds
	Requests   int    // entry reads per archive
	UnzipRuns  int    // unzip -p invocations
	Baton      string // prebuilt baton binary; "" builds ./cmd/baton
	Nginx      string // nginx binary; "" or "none" skips that baseline
	Unzip      string // unzip binary; "" or "none" skips that baseline
	Strace     bool   // trace the server's sendfile calls during one download
	TempParent string // parent of the temp dir; "" is os.TempDir
	MergeSize  int64  // bytes of the merged download case (3 shards of a third); 0 skips it
}

func defaultConfig() config {
	return config{Size: 1 << 30, Entries: 100_000, Rounds: 3, Requests: 2000, UnzipRuns: 20, Nginx: "nginx", Unzip: "unzip",
		MergeSize: 300 << 20}
}

func quickConfig() config {
	return config{Size: 32 << 20, Entries: 2000, Rounds: 2, Requests: 300, UnzipRuns: 5, Nginx: "nginx", Unzip: "unzip",
		MergeSize: 24 << 20}
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("artifacts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := defaultConfig()
	quick := fs.Bool("quick", false, "smoke run: 32MiB, 2000 entries, 2 rounds, 300 requests (explicit flags still win)")
	size := fs.String("size", "1GiB", "size of the large archive (KiB, MiB, GiB suffixes)")
	mergeSize := fs.String("merge-size", "300MiB", "total size of the merged download case: 3 shards of a third each (0 skips it)")
	fs.IntVar(&def.Entries, "entries", def.Entries, "entries of the many-entries archive")
	fs.IntVar(&def.Rounds, "rounds", def.Rounds, "upload and download rounds")
	fs.IntVar(&def.Requests, "requests", def.Requests, "one-file reads per archive")
	fs.IntVar(&def.UnzipRuns, "unzip-runs", def.UnzipRuns, "unzip -p invocations")
	fs.StringVar(&def.Baton, "baton", "", "prebuilt baton binary (default: go build ./cmd/baton)")
	fs.StringVar(&def.Nginx, "nginx", def.Nginx, `nginx binary ("none" skips the nginx baseline)`)
	fs.StringVar(&def.Unzip, "unzip", def.Unzip, `unzip binary ("none" skips the unzip baseline)`)
	fs.BoolVar(&def.Strace, "strace", false, "also count the server's sendfile calls during one download with strace -f")
	fs.StringVar(&def.TempParent, "tmp", "", "parent directory of the temporary directory (default $TMPDIR or /tmp)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	cfg := def
	if *quick {
		cfg = quickConfig()
		cfg.Baton, cfg.Nginx, cfg.Unzip, cfg.Strace, cfg.TempParent = def.Baton, def.Nginx, def.Unzip, def.Strace, def.TempParent
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !*quick || set["size"] {
		n, err := parseSize(*size)
		if err != nil {
			return config{}, fmt.Errorf("-size: %w", err)
		}
		cfg.Size = n
	}
	if !*quick || set["merge-size"] {
		if strings.TrimSpace(*mergeSize) == "0" {
			cfg.MergeSize = 0
		} else {
			n, err := parseSize(*mergeSize)
			if err != nil {
				return config{}, fmt.Errorf("-merge-size: %w", err)
			}
			cfg.MergeSize = n
		}
	}
	if *quick {
		for name, dst := range map[string]*int{"entries": &cfg.Entries, "rounds": &cfg.Rounds, "requests": &cfg.Requests, "unzip-runs": &cfg.UnzipRuns} {
			if set[name] {
				*dst = map[string]int{"entries": def.Entries, "rounds": def.Rounds, "requests": def.Requests, "unzip-runs": def.UnzipRuns}[name]
			}
		}
	}
	if cfg.Size < 64<<10 || cfg.Entries < 10 || cfg.Rounds < 1 || cfg.Requests < 10 || cfg.UnzipRuns < 1 {
		return config{}, fmt.Errorf("want -size ≥ 64KiB, -entries ≥ 10, -rounds ≥ 1, -requests ≥ 10, -unzip-runs ≥ 1")
	}
	return cfg, nil
}

// parseSize reads "1GiB", "512MiB", "64KiB" or a plain byte count.
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("size %q: want e.g. 1GiB, 256MiB or a byte count", s)
	}
	return int64(f * float64(mult)), nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return
		}
		fmt.Fprintln(os.Stderr, "artifacts:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	res, err := run(ctx, cfg, os.Stdout)
	if res != nil {
		printReport(os.Stdout, cfg, res)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "artifacts:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stdout, "\ntotal time %s\n", time.Since(start).Round(time.Second))
}
