package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Causes of a job's contexts being cancelled.
var (
	errAborted     = errors.New("job aborted by the coordinator")
	errCanceled    = errors.New("job canceled")
	errInterrupted = errors.New("runner is shutting down")
	errJobTimeout  = errors.New("job execution timeout")
	errStepTimeout = errors.New("step execution timeout")
)

// observe applies the headers every job endpoint may answer with:
// X-GitLab-Trace-Update-Interval and Job-Status.
func (j *job) observe(resp *http.Response) {
	if v := resp.Header.Get("X-GitLab-Trace-Update-Interval"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			j.mu.Lock()
			j.interval = min(time.Duration(n)*time.Second, 15*time.Minute)
			j.mu.Unlock()
		}
	}
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Job-Status"))) {
	case "canceling":
		j.cancel(errCanceled)
	case "canceled", "failed":
		j.abort(errAborted)
	}
}

// aborted reports whether the coordinator hard-cancelled the job.
func (j *job) aborted() bool { return errors.Is(context.Cause(j.abortCtx), errAborted) }

// stateUpdate is the body of PUT /jobs/:id.
type stateUpdate struct {
	Info          info        `json:"info"`
	Token         string      `json:"token"`
	State         string      `json:"state"`
	FailureReason string      `json:"failure_reason,omitempty"`
	Checksum      string      `json:"checksum,omitempty"`
	Output        traceOutput `json:"output"`
	ExitCode      int         `json:"exit_code,omitempty"`
}

type traceOutput struct {
	Checksum string `json:"checksum,omitempty"`
	Bytesize int    `json:"bytesize,omitempty"`
}

// putState sends PUT /jobs/:id and returns the status code. withOutput adds
// the trace checksum and size (everything but the acknowledgement).
func (j *job) putState(ctx context.Context, state, reason string, exitCode int, withOutput bool) (int, error) {
	u := stateUpdate{Info: j.r.info(), Token: j.p.Token, State: state, FailureReason: reason, ExitCode: exitCode}
	if withOutput {
		u.Output = traceOutput{Checksum: j.trace.checksum(), Bytesize: j.trace.size()}
		u.Checksum = u.Output.Checksum
	}
	body, err := jsonBody(u)
	if err != nil {
		return 0, err
	}
	resp, err := j.r.client.do(ctx, apiRequest{
		method: http.MethodPut, path: fmt.Sprintf("jobs/%d", j.p.ID), body: body,
		header: http.Header{"Job-Token": {j.p.Token}, "Content-Type": {"application/json"}},
	})
	if err != nil {
		return 0, fmt.Errorf("updating job %d: %w", j.p.ID, err)
	}
	defer resp.Body.Close()
	j.observe(resp)
	if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusNotFound {
		j.abort(errAborted)
	}
	if resp.StatusCode != http.StatusOK {
		j.log.Warn("job update not accepted", "state", state, "status", resp.StatusCode, "message", errorMessage(resp))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// patchTrace sends every trace byte not yet acknowledged, in chunks of at most 1 MiB.
func (j *job) patchTrace(ctx context.Context) error {
	resets := 0
	for {
		j.mu.Lock()
		gone, from := j.traceGone, j.sent
		j.mu.Unlock()
		if gone {
			return nil
		}
		data := j.trace.chunk(from, 1<<20)
		if len(data) == 0 {
			return nil
		}
		resp, err := j.r.client.do(ctx, apiRequest{
			method: http.MethodPatch, path: fmt.Sprintf("jobs/%d/trace?debug_trace=%t", j.p.ID, j.debugTrace()),
			body: func() (io.Reader, error) { return strings.NewReader(string(data)), nil },
			header: http.Header{
				"Job-Token":     {j.p.Token},
				"Content-Type":  {"text/plain"},
				"Content-Range": {fmt.Sprintf("%d-%d", from, from+len(data)-1)},
			},
		})
		if err != nil {
			return fmt.Errorf("patching trace: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		j.observe(resp)
		switch resp.StatusCode {
		case http.StatusAccepted:
			j.mu.Lock()
			j.sent = from + len(data)
			j.lastUpdate = time.Now()
			j.mu.Unlock()
		case http.StatusRequestedRangeNotSatisfiable:
			if resets++; resets > 5 {
				return fmt.Errorf("patching trace: coordinator keeps answering 416")
			}
			next := rangeEnd(resp.Header.Get("Range"))
			next = min(max(next, 0), j.trace.size())
			j.log.Warn("trace range mismatch, resuming", "offset", from, "resume_at", next)
			j.mu.Lock()
			j.sent = next
			j.mu.Unlock()
		case http.StatusNotFound:
			j.mu.Lock()
			j.traceGone = true
			j.mu.Unlock()
			return nil
		case http.StatusForbidden:
			j.abort(errAborted)
			return errAborted
		default:
			return fmt.Errorf("patching trace: status %d", resp.StatusCode)
		}
	}
}

// debugTrace reports CI_DEBUG_TRACE, which the trace patches announce.
func (j *job) debugTrace() bool {
	v, _ := j.p.variable("CI_DEBUG_TRACE")
	return strings.EqualFold(v, "true")
}

// rangeEnd parses the N of a "0-N" Range header; missing or malformed means 0.
func rangeEnd(h string) int {
	_, n, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(h), "bytes="), "-")
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(strings.TrimSpace(n))
	if err != nil {
		return 0
	}
	return v
}

// traceLoop patches the trace every update interval and sends keepalives
// until ctx is done.
func (j *job) traceLoop(ctx context.Context) {
	t := time.NewTimer(j.updateInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := j.patchTrace(ctx); err != nil && ctx.Err() == nil && !j.aborted() {
			j.log.Warn("sending trace", "error", err)
		}
		j.mu.Lock()
		idle := time.Since(j.lastUpdate) >= j.r.keepalive
		j.mu.Unlock()
		if idle && !j.aborted() {
			if code, err := j.putState(ctx, "running", "", 0, true); err == nil && code == http.StatusOK {
				j.mu.Lock()
				j.lastUpdate = time.Now()
				j.mu.Unlock()
			}
		}
		t.Reset(j.updateInterval())
	}
}

func (j *job) updateInterval() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.interval
}

// finish flushes the trace and sends the final state until the coordinator
// answers 200, the job is aborted, or the retries are used up.
func (j *job) finish(state, reason string, exitCode int) {
	ctx := context.Background()
	wait := j.r.finalBackoff
	for attempt := 1; attempt <= j.r.finalRetries && !j.aborted(); attempt++ {
		err := j.patchTrace(ctx)
		if err == nil {
			var code int
			code, err = j.putState(ctx, state, reason, exitCode, true)
			switch {
			case err != nil:
			case code == http.StatusOK:
				j.log.Info("job finished", "state", state, "failure_reason", reason, "exit_code", exitCode)
				return
			case code == http.StatusAccepted:
				_ = sleep(ctx, j.updateInterval())
				continue
			case code == http.StatusPreconditionFailed:
				j.mu.Lock()
				j.sent = 0
				j.mu.Unlock()
				continue
			default:
				err = fmt.Errorf("status %d", code)
			}
		}
		if j.aborted() {
			break
		}
		j.log.Warn("final job update failed, retrying", "attempt", attempt, "error", err)
		_ = sleep(ctx, wait)
		wait = min(wait*2, time.Hour)
	}
	if j.aborted() {
		j.log.Warn("job aborted by the coordinator")
		return
	}
	j.log.Error("giving up on the final job update", "state", state)
}
