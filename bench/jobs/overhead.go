package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// noopYAML is a .gitlab-ci.yml of n independent no-op jobs; with skipClone
// they set GIT_STRATEGY none, otherwise the runner fetches the repository.
func noopYAML(n int, skipClone bool) string {
	var b strings.Builder
	if skipClone {
		b.WriteString("variables:\n  GIT_STRATEGY: none\n")
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "noop-%d:\n  script: [\":\"]\n", i)
	}
	return b.String()
}

// runnerProcess is `baton runner` as a child process.
type runnerProcess struct {
	cmd  *exec.Cmd
	done chan error
}

// startRunner starts bin as `baton runner` with concurrency 1; its log goes
// to logPath.
func startRunner(bin, url, token, dir, logPath string) (*runnerProcess, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "runner", "--url", url, "--token", token, "--concurrency", "1",
		"--builds-dir", filepath.Join(dir, "builds"), "--name", "bench-runner")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting baton runner: %w", err)
	}
	r := &runnerProcess{cmd: cmd, done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait(); log.Close() }()
	return r, nil
}

// stop terminates the runner and waits for it.
func (r *runnerProcess) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// overheadResult is one run of a pipeline of n no-op jobs.
type overheadResult struct {
	name       string
	n          int
	wall       time.Duration   // pipeline created_at to finished_at (server clock)
	firstStart time.Duration   // pipeline created_at to the first job's started_at
	running    []time.Duration // each job's finished_at - started_at, sorted
	gaps       []time.Duration // a job's finished_at to the next job's started_at, sorted
}

func (r *overheadResult) perJob() time.Duration { return r.wall / time.Duration(r.n) }

// measureOverhead creates a pipeline of the project (n no-op jobs), waits
// for it to succeed, and reads the jobs' times.
func measureOverhead(ctx context.Context, a *api, name string, projectID int64, n int, timeout time.Duration) (*overheadResult, error) {
	p, err := a.createPipeline(ctx, projectID)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		if p, err = a.pipeline(ctx, projectID, p.ID); err != nil {
			return nil, err
		}
		if p.FinishedAt != nil && (p.Status == "success" || p.Status == "failed" || p.Status == "canceled") {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("pipeline %d still %s after %s", p.ID, p.Status, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
	jobs, err := a.jobs(ctx, projectID, p.ID)
	if err != nil {
		return nil, err
	}
	if p.Status != "success" || len(jobs) != n {
		return nil, fmt.Errorf("pipeline %d is %s with %d jobs, want success with %d", p.ID, p.Status, len(jobs), n)
	}
	slices.SortFunc(jobs, func(x, y jobEntity) int { return x.StartedAt.Compare(*y.StartedAt) })
	r := &overheadResult{name: name, n: n, wall: p.FinishedAt.Sub(p.CreatedAt), firstStart: jobs[0].StartedAt.Sub(p.CreatedAt)}
	for i, j := range jobs {
		if j.StartedAt == nil || j.FinishedAt == nil {
			return nil, fmt.Errorf("job %d has no start or finish time", j.ID)
		}
		r.running = append(r.running, j.FinishedAt.Sub(*j.StartedAt))
		if i > 0 {
			r.gaps = append(r.gaps, j.StartedAt.Sub(*jobs[i-1].FinishedAt))
		}
	}
	slices.Sort(r.running)
	slices.Sort(r.gaps)
	return r, nil
}

// floor times n runs of argv one after another and returns the mean.
func floor(ctx context.Context, n int, dir string, argv ...string) (time.Duration, error) {
	start := time.Now()
	for i := 0; i < n; i++ {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return 0, fmt.Errorf("running %s: %w: %s", argv[0], err, out)
		}
	}
	return time.Since(start) / time.Duration(n), nil
}
