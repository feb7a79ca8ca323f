package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
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

// readTarget is something benchEntries reads repeatedly: an entry of an
// uploaded archive, or a trivial endpoint as the floor of the HTTP path.
type readTarget struct {
	path  func(rng *rand.Rand) (string, int) // URL path and entry index (-1: no check)
	check func(body []byte, i int) bool
}

// entryTarget reads random entries of zf, uploaded by j.
func entryTarget(j *job, zf *zipFile) readTarget {
	return readTarget{
		path: func(rng *rand.Rand) (string, int) {
			i := rng.IntN(len(zf.Names))
			return fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts/%s", j.ProjectID, j.ID, zf.Names[i]), i
		},
		check: sameBytes,
	}
}

// healthTarget is GET /-/health: no database, no archive.
var healthTarget = readTarget{
	path:  func(*rand.Rand) (string, int) { return "/-/health", -1 },
	check: func(b []byte, _ int) bool { return len(b) > 0 },
}

// apiTarget is GET path (JSON): the authentication and database floor of
// the API without any archive work.
func apiTarget(path string) readTarget {
	return readTarget{
		path:  func(*rand.Rand) (string, int) { return path, -1 },
		check: func(b []byte, _ int) bool { return len(b) > 0 && b[0] == '{' },
	}
}

// readStats is latency plus the server CPU time spent per request.
type readStats struct {
	latency
	CPUPerRequest time.Duration
}

// benchEntries sends requests GETs to each target over one keep-alive
// connection, in alternating batches so that every target sees the same
// machine load, checks every body, and measures the server's CPU time.
func benchEntries(ctx context.Context, s *server, targets map[string]readTarget, requests int) (map[string]readStats, error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 1}}
	rng := rand.New(rand.NewPCG(3, 4))
	names := slices.Sorted(maps.Keys(targets))
	durations := map[string][]time.Duration{}
	cpu := map[string]time.Duration{}
	pid := s.cmd.Process.Pid
	read := func(name string, record bool) error {
		path, i := targets[name].path(rng)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
		if err != nil {
			return fmt.Errorf("building entry read: %w", err)
		}
		req.Header.Set("Private-Token", s.token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("reading %s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(body))
		}
		if !targets[name].check(body, i) {
			return fmt.Errorf("reading %s: got %d bytes that are not the entry's content", path, len(body))
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
			before := totalCPU([]int{pid})
			for range requests/batches + boolInt(b < requests%batches) {
				if err := read(name, true); err != nil {
					return nil, err
				}
			}
			cpu[name] += totalCPU([]int{pid}) - before
		}
	}
	out := map[string]readStats{}
	for name, ds := range durations {
		out[name] = readStats{latency: summarize(ds), CPUPerRequest: cpu[name] / time.Duration(len(ds))}
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
