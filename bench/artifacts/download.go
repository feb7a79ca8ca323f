package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// downloadResult is whole-archive downloads from one server, per round.
type downloadResult struct {
	MBps []float64
	CPU  time.Duration // server CPU time over the measured rounds
	Read int64         // bytes read over the measured rounds
}

// findBlob is the file under dir of exactly size bytes: the stored archive.
func findBlob(dir string, size int64) (string, error) {
	var found string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" || strings.HasSuffix(p, ".index") {
			return err
		}
		if info, err := d.Info(); err == nil && info.Size() == size {
			found = p
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("looking for the stored archive: %w", err)
	}
	if found == "" {
		return "", fmt.Errorf("no file of %d bytes under %s: where did the artifact go?", size, dir)
	}
	return found, nil
}

// benchDownload downloads the large archive of j from Baton (by job id,
// with root's token) and, when ng is running, the same file from nginx,
// alternating, with one shared client. One warm-up download each first.
func benchDownload(ctx context.Context, s *server, ng *nginx, j *job, size int64, rounds int) (downloadResult, *downloadResult, error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2}}
	batonURL := fmt.Sprintf("%s/api/v4/projects/%d/jobs/%d/artifacts", s.url, j.ProjectID, j.ID)
	batonHdr := http.Header{"Private-Token": {s.token}}
	var dl downloadResult
	var ndl *downloadResult
	if ng != nil {
		ndl = &downloadResult{}
	}
	if _, err := download(ctx, client, batonURL, batonHdr, size); err != nil {
		return dl, nil, fmt.Errorf("warm-up download from baton: %w", err)
	}
	if ng != nil {
		if _, err := download(ctx, client, ng.url, nil, size); err != nil {
			return dl, nil, fmt.Errorf("warm-up download from nginx: %w", err)
		}
	}
	for i := range rounds {
		// Alternate who goes first so neither always meets a cooler cache.
		sides := []func() error{
			func() error { return measure(ctx, client, batonURL, batonHdr, size, &dl, []int{s.cmd.Process.Pid}) },
		}
		if ng != nil {
			nside := func() error { return measure(ctx, client, ng.url, nil, size, ndl, ng.pids()) }
			if i%2 == 0 {
				sides = append(sides, nside)
			} else {
				sides = append([]func() error{nside}, sides...)
			}
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return dl, ndl, err
			}
		}
	}
	return dl, ndl, nil
}

// measure downloads once and adds the rate and the servers' CPU time to r.
func measure(ctx context.Context, client *http.Client, url string, h http.Header, size int64, r *downloadResult, pids []int) error {
	before := totalCPU(pids)
	d, err := download(ctx, client, url, h, size)
	if err != nil {
		return err
	}
	r.CPU += totalCPU(pids) - before
	r.MBps = append(r.MBps, mbps(size, d))
	r.Read += size
	return nil
}

func totalCPU(pids []int) time.Duration {
	var t time.Duration
	for _, p := range pids {
		if c, err := cpuTime(p); err == nil {
			t += c
		}
	}
	return t
}

// download GETs url into io.Discard and checks it got size bytes.
func download(ctx context.Context, client *http.Client, url string, h http.Header, size int64) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("building download: %w", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("downloading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("downloading %s: status %d: %s", url, resp.StatusCode, body)
	}
	// A 1 MiB buffer: io.Discard's own ReadFrom reads 8 KiB at a time,
	// which would make the client, not the server, the bottleneck.
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, resp.Body, buf)
	if err != nil {
		return 0, fmt.Errorf("downloading %s: %w", url, err)
	}
	d := time.Since(start)
	if n != size {
		return 0, fmt.Errorf("downloading %s: got %d bytes, want %d", url, n, size)
	}
	return d, nil
}

// childPids are the children of pid (nginx's workers).
func childPids(pid int) []int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return nil
	}
	var out []int
	for _, f := range strings.Fields(string(b)) {
		var c int
		if _, err := fmt.Sscan(f, &c); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// indexSize is the size of the entry index Baton stored for j's archive.
func indexSize(dataDir string, j *job) (int64, error) {
	dir := fmt.Sprintf("%c%d%c%d%carchive%c", filepath.Separator, j.ProjectID, filepath.Separator, j.ID, filepath.Separator, filepath.Separator)
	var size int64 = -1
	err := filepath.WalkDir(dataDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".index") || !strings.Contains(p, dir) {
			return err
		}
		info, err := d.Info()
		if err == nil {
			size = info.Size()
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("looking for the index of job %d: %w", j.ID, err)
	}
	if size < 0 {
		return 0, fmt.Errorf("no stored index for job %d under %s", j.ID, dataDir)
	}
	return size, nil
}
