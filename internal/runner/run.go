package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// jobRequest is the body of POST /jobs/request.
type jobRequest struct {
	Info       info   `json:"info"`
	Token      string `json:"token"`
	SystemID   string `json:"system_id"`
	LastUpdate string `json:"last_update,omitempty"`
}

// Run polls the coordinator for jobs and runs up to Concurrency of them at
// once, polling only while a slot is free. It returns when ctx is done, after
// the running jobs have been cancelled gracefully (after_script runs) and
// their final updates sent. The returned error is ctx's.
func (r *Runner) Run(ctx context.Context) error {
	slots := make(chan int, r.cfg.Concurrency)
	for i := range r.cfg.Concurrency {
		slots <- i
	}
	var jobs sync.WaitGroup
	defer jobs.Wait()
	var lastUpdate string
	backoff := time.Duration(0)
	r.log.Info("runner started", "url", r.client.base.String(), "concurrency", r.cfg.Concurrency, "system_id", r.systemID)
	for {
		var slot int
		select {
		case <-ctx.Done():
			return ctx.Err()
		case slot = <-slots:
		}
		p, next, err := r.requestJob(ctx, lastUpdate)
		if next != "" {
			lastUpdate = next
		}
		if p != nil {
			backoff = 0
			r.log.Info("job received", "job_id", p.ID, "slot", slot, "name", p.JobInfo.Name)
			j := r.newJob(p, slot)
			jobs.Go(func() {
				defer func() { slots <- slot }()
				j.run(ctx)
			})
			continue // a free slot polls again at once
		}
		slots <- slot
		wait := r.cfg.PollInterval
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			backoff = min(max(backoff*2, r.cfg.PollInterval), r.maxPollBackoff)
			wait = backoff
			r.log.Warn("requesting job failed", "error", err, "retry_in", wait)
		} else {
			backoff = 0
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// requestJob asks for one job. It returns the job (nil on 204), the new
// X-GitLab-Last-Update value, and an error for anything that should back off.
func (r *Runner) requestJob(ctx context.Context, lastUpdate string) (*jobPayload, string, error) {
	body, err := jsonBody(jobRequest{Info: r.info(), Token: r.cfg.Token, SystemID: r.systemID, LastUpdate: lastUpdate})
	if err != nil {
		return nil, "", err
	}
	resp, err := r.client.do(ctx, apiRequest{
		method: http.MethodPost, path: "jobs/request", body: body,
		header: http.Header{"Runner-Token": {r.cfg.Token}, "Content-Type": {"application/json"}, "Accept": {"application/json"}},
	})
	if err != nil {
		return nil, "", fmt.Errorf("requesting job: %w", err)
	}
	defer resp.Body.Close()
	next := resp.Header.Get("X-GitLab-Last-Update")
	switch resp.StatusCode {
	case http.StatusCreated:
		var p jobPayload
		if err := decodeJSON(resp, &p); err != nil {
			return nil, next, fmt.Errorf("reading job: %w", err)
		}
		if p.ID == 0 || p.Token == "" {
			return nil, next, fmt.Errorf("reading job: payload without id or token")
		}
		return &p, next, nil
	case http.StatusNoContent:
		return nil, next, nil
	case http.StatusForbidden:
		return nil, next, fmt.Errorf("requesting job: forbidden (is the runner token valid?): %s", errorMessage(resp))
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode >= 500 {
			return nil, next, fmt.Errorf("requesting job: status %d", resp.StatusCode)
		}
		r.log.Warn("job request not served", "status", resp.StatusCode)
		return nil, next, nil
	}
}
