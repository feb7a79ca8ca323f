package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"slices"
	"time"
)

// latency summarises request durations.
type latency struct {
	N             int
	P50, P90, P99 time.Duration
	Min           time.Duration
}

func summarize(ds []time.Duration) latency {
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return latency{N: len(s), P50: pct(0.50), P90: pct(0.90), P99: pct(0.99), Min: s[0]}
}

// entryTarget is an uploaded one-file-read archive.
type entryTarget struct {
	job *job
	zip *zipFile
}

// benchEntries reads random 4 KiB entries of each target over one
// keep-alive connection, in alternating batches so that both archives see
// the same machine load, and checks every body.
func benchEntries(ctx context.Context, s *server, targets map[string]entryTarget, requests int) (map[string]latency, error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
	rng := rand.New(rand.NewPCG(3, 4))
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range targets {
			if !yield(k) {
				return
			}
		}
	})
	durations := map[string][]time.Duration{}
	read := func(name string, record bool) error {
		t := targets[name]
		i := rng.IntN(len(t.zip.Names))
		url := fmt.Sprintf("%s/api/v4/projects/%d/jobs/%d/artifacts/%s", s.url, t.job.ProjectID, t.job.ID, t.zip.Names[i])
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("building entry read: %w", err)
		}
		req.Header.Set("Private-Token", s.token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("reading %s: %w", url, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return fmt.Errorf("reading %s: %w", url, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("reading %s: status %d: %s", url, resp.StatusCode, bytes.TrimSpace(body))
		}
		if !sameBytes(body, i) {
			return fmt.Errorf("reading %s: got %d bytes that are not the entry's content", url, len(body))
		}
		if record {
			durations[name] = append(durations[name], d)
		}
		return nil
	}
	for _, name := range names { // warm-up: index load, connection
		for range 50 {
			if err := read(name, false); err != nil {
				return nil, err
			}
		}
	}
	const batches = 10
	for b := range batches {
		for _, name := range names {
			for range requests/batches + boolInt(b < requests%batches) {
				if err := read(name, true); err != nil {
					return nil, err
				}
			}
		}
	}
	out := map[string]latency{}
	for name, ds := range durations {
		out[name] = summarize(ds)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// unzipResult is `unzip -p archive entry` timings.
type unzipResult struct {
	Runs        int
	Median, Min time.Duration
}

// benchUnzip times runs invocations of unzip -p for random entries of zf,
// checking each output. A missing unzip is reported, not an error.
func benchUnzip(ctx context.Context, bin string, zf *zipFile, runs int) (*unzipResult, string, error) {
	if bin == "" || bin == "none" {
		return nil, "disabled (-unzip none)", nil
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, bin + " not found: install it with `apt-get install -y unzip`", nil
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var ds []time.Duration
	for range runs {
		i := rng.IntN(len(zf.Names))
		var out, errOut bytes.Buffer
		cmd := exec.CommandContext(ctx, path, "-p", zf.Path, zf.Names[i])
		cmd.Stdout, cmd.Stderr = &out, &errOut
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			return nil, "", fmt.Errorf("unzip -p %s: %w: %s", zf.Names[i], err, errOut.Bytes())
		}
		if !sameBytes(out.Bytes(), i) {
			return nil, "", fmt.Errorf("unzip -p %s: wrong content (%d bytes)", zf.Names[i], out.Len())
		}
		ds = append(ds, d)
	}
	l := summarize(ds)
	return &unzipResult{Runs: runs, Median: l.P50, Min: l.Min}, "", nil
}
