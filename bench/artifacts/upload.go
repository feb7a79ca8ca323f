package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// uploadResult is the runner-style upload of the large archive, per round.
type uploadResult struct {
	MBps     []float64
	RSSBase  []int64 // server VmRSS just before each upload, bytes
	RSSPeak  []int64 // highest VmRSS seen during each upload, bytes
	Samples  []int   // RSS samples taken during each upload
	Duration []time.Duration
	CPU      time.Duration // server CPU time over all rounds
	Bytes    int64         // bytes uploaded over all rounds
}

// ddResult is dd conv=fsync of the same file onto the same disk, per round.
type ddResult struct {
	MBps []float64
}

// benchUpload alternates dd and a runner-style upload of big, one upload
// job per round, sampling the server's RSS every 20 ms during each upload.
func benchUpload(ctx context.Context, s *server, jobs map[string]*job, big *zipFile, rounds int, tmp string) (uploadResult, ddResult, error) {
	var up uploadResult
	var dd ddResult
	ddOut := filepath.Join(tmp, "data", "dd-copy.zip") // next to the artifacts: the same disk
	for i := range rounds {
		d, err := runDD(ctx, big.Path, ddOut)
		if err != nil {
			return up, dd, err
		}
		dd.MBps = append(dd.MBps, mbps(big.Size, d))

		pid := s.cmd.Process.Pid
		base, err := vmRSS(pid)
		if err != nil {
			return up, dd, err
		}
		stop := make(chan struct{})
		peaks := make(chan [2]int64, 1)
		go func() { peaks <- sampleRSS(pid, base, stop) }()
		cpu0 := totalCPU([]int{pid})
		start := time.Now()
		err = uploadZip(ctx, s, jobs[uploadJob(i)], big)
		elapsed := time.Since(start)
		up.CPU += totalCPU([]int{pid}) - cpu0
		up.Bytes += big.Size
		close(stop)
		peak := <-peaks
		if err != nil {
			return up, dd, fmt.Errorf("upload round %d: %w", i+1, err)
		}
		up.MBps = append(up.MBps, mbps(big.Size, elapsed))
		up.Duration = append(up.Duration, elapsed)
		up.RSSBase = append(up.RSSBase, base)
		up.RSSPeak = append(up.RSSPeak, peak[0])
		up.Samples = append(up.Samples, int(peak[1]))
	}
	return up, dd, nil
}

// runDD copies src to dst with dd bs=1M conv=fsync and removes dst again.
func runDD(ctx context.Context, src, dst string) (time.Duration, error) {
	defer os.Remove(dst)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "dd", "if="+src, "of="+dst, "bs=1M", "conv=fsync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("dd: %w\n%s", err, out)
	}
	return time.Since(start), nil
}

// uploadZip sends zf as the runner's artifacts-uploader does: POST with
// JOB-TOKEN, chunked transfer encoding, one multipart part "file".
func uploadZip(ctx context.Context, s *server, j *job, zf *zipFile) error {
	f, err := os.Open(zf.Path)
	if err != nil {
		return fmt.Errorf("opening %s: %w", zf.Path, err)
	}
	defer f.Close()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="artifacts.zip"`)
		h.Set("Content-Type", "application/octet-stream")
		part, err := mw.CreatePart(h)
		if err == nil {
			_, err = io.Copy(part, f)
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	path := fmt.Sprintf("/api/v4/jobs/%d/artifacts?artifact_format=zip&artifact_type=archive", j.ID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+path, pr)
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("building upload: %w", err)
	}
	req.ContentLength = -1 // chunked, as the runner streams it
	req.Header.Set("Job-Token", j.Token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := s.client.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return fmt.Errorf("uploading artifacts of job %d: %w", j.ID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("uploading artifacts of job %d: status %d: %s", j.ID, resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// sampleRSS reads pid's VmRSS every 20 ms until stop closes and returns
// the highest value seen (at least base) and the number of samples.
func sampleRSS(pid int, base int64, stop <-chan struct{}) [2]int64 {
	peak, n := base, int64(0)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if v, err := vmRSS(pid); err == nil {
			peak = max(peak, v)
			n++
		}
		select {
		case <-stop:
			return [2]int64{peak, n}
		case <-t.C:
		}
	}
}

// vmRSS is the resident set size of pid, from /proc/<pid>/status.
func vmRSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading RSS of %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading RSS of %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("reading RSS of %d: no VmRSS line", pid)
}

func mbps(n int64, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }
