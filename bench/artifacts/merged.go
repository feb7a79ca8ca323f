package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
)

// mergedResult is the merged download of a parallel job's shards vs the
// download of one archive of the same entries, per round.
type mergedResult struct {
	MergedMBps, WholeMBps   []float64
	MergedBytes, WholeBytes int64
	MergedCPU, WholeCPU     float64 // server CPU seconds per GiB sent
}

const mergeJob = "merge"

// mergeShardJob is instance i (1-based) of the parallel job.
func mergeShardJob(i int) string { return fmt.Sprintf("%s %d/3", mergeJob, i) }

// wholeJob holds the archive of all three shards' entries.
const wholeJob = "merge-whole"

// prepareMerged writes three shard archives of size/3 and one archive of
// all their entries, and uploads them to the parallel job's instances and
// to wholeJob.
func prepareMerged(ctx context.Context, s *server, jobs map[string]*job, tmp string, size int64) error {
	for i := 1; i <= 3; i++ {
		zf, err := writeShardsZip(filepath.Join(tmp, fmt.Sprintf("shard%d.zip", i)), size/3, []int{i})
		if err != nil {
			return err
		}
		if err := uploadZip(ctx, s, jobs[mergeShardJob(i)], zf); err != nil {
			return fmt.Errorf("uploading shard %d: %w", i, err)
		}
	}
	whole, err := writeShardsZip(filepath.Join(tmp, "whole.zip"), size/3, []int{1, 2, 3})
	if err != nil {
		return err
	}
	if err := uploadZip(ctx, s, jobs[wholeJob], whole); err != nil {
		return fmt.Errorf("uploading the whole archive: %w", err)
	}
	return nil
}

// benchMerged downloads the merged shards (merge=parallel) and the whole
// archive, alternating who goes first, after one warm-up each.
func benchMerged(ctx context.Context, s *server, jobs map[string]*job, rounds int) (*mergedResult, error) {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2}}
	h := http.Header{"Private-Token": {s.token}}
	w := jobs[wholeJob]
	wholeURL := fmt.Sprintf("%s/api/v4/projects/%d/jobs/%d/artifacts", s.url, w.ProjectID, w.ID)
	mergedURL := fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%d/artifacts?job=%s&merge=parallel", s.url, w.ProjectID, w.PipelineID, mergeJob)
	sizeOf := func(u string) (int64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, u, nil)
		if err != nil {
			return 0, err
		}
		req.Header = h.Clone()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.ContentLength <= 0 {
			return 0, fmt.Errorf("HEAD %s: status %d, length %d", u, resp.StatusCode, resp.ContentLength)
		}
		return resp.ContentLength, nil
	}
	res := &mergedResult{}
	var err error
	if res.MergedBytes, err = sizeOf(mergedURL); err != nil {
		return nil, err
	}
	if res.WholeBytes, err = sizeOf(wholeURL); err != nil {
		return nil, err
	}
	for _, u := range []struct {
		url  string
		size int64
	}{{mergedURL, res.MergedBytes}, {wholeURL, res.WholeBytes}} {
		if _, err := download(ctx, client, u.url, h, u.size); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	pids := []int{s.cmd.Process.Pid}
	var merged, whole downloadResult
	for i := range rounds {
		sides := []func() error{
			func() error { return measure(ctx, client, mergedURL, h, res.MergedBytes, &merged, pids) },
			func() error { return measure(ctx, client, wholeURL, h, res.WholeBytes, &whole, pids) },
		}
		if i%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, side := range sides {
			if err := side(); err != nil {
				return nil, err
			}
		}
	}
	res.MergedMBps, res.WholeMBps = merged.MBps, whole.MBps
	res.MergedCPU = merged.CPU.Seconds() / (float64(merged.Read) / (1 << 30))
	res.WholeCPU = whole.CPU.Seconds() / (float64(whole.Read) / (1 << 30))
	return res, nil
}
