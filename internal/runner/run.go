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

// maxQuickPolls bounds how many 204s in a row with a new queue version are
// followed by another request at once, in case a coordinator does not hold
// requests while its queue keeps changing.
const maxQuickPolls = 5

// Run polls the coordinator for jobs and runs up to Concurrency of them at
// once, polling only while a slot is free. It returns when ctx is done, after
// the running jobs have been cancelled gracefully (after_script runs) and
// their final updates sent. The returned error is ctx's.
//
// It asks again at once after a job, and after a 204 whose
// X-GitLab-Last-Update differs from the last_update it sent: the queue
// changed since its last answer, and the coordinator holds the next request
// (long polling) until it changes again. Only a 204 that says nothing
// changed (a hold that ended, or a coordinator that does not hold) is
// followed by PollInterval. Failures back off from PollInterval, doubling,
// to at most maxPollBackoff (5 s): after an outage the runner is back
// within seconds.
func (r *Runner) Run(ctx context.Context) error {
	slots := make(chan int, r.cfg.Concurrency)
	for i := range r.cfg.Concurrency {
		slots <- i
	}
	var jobs sync.WaitGroup
	defer jobs.Wait()
	var lastUpdate string
	backoff := time.Duration(0)
	quick := 0
	r.log.Info("runner started", "url", r.client.base.String(), "concurrency", r.cfg.Concurrency, "system_id", r.systemID)
	for {
		var slot int
		select {
		case <-ctx.Done():
			return ctx.Err()
		case slot = <-slots:
		}
		sent := lastUpdate
		p, next, err := r.requestJob(ctx, lastUpdate)
		if next != "" {
			lastUpdate = next
		}
		if p != nil {
			backoff, quick = 0, 0
			r.log.Info("job received", "job_id", p.ID, "slot", slot, "name", p.JobInfo.Name)
			j := r.newJob(p, slot)
			jobs.Go(func() {
				defer func() { slots <- slot }()
				j.run(ctx)
			})
			continue // a free slot polls again at once
		}
		slots <- slot
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			quick = 0
			backoff = pollBackoff(backoff, r.cfg.PollInterval, r.maxPollBackoff)
			r.log.Warn("requesting job failed", "error", err, "retry_in", backoff)
			if err := sleep(ctx, backoff); err != nil {
				return err
			}
			continue
		}
		backoff = 0
		if next != "" && next != sent && quick < maxQuickPolls {
			quick++
			continue // the queue changed: ask again, to be held
		}
		quick = 0
		if err := sleep(ctx, r.cfg.PollInterval); err != nil {
			return err
		}
	}
}

// pollBackoff is the wait after a failed poll that followed a wait of prev
// (0 after a success): PollInterval, then doubling up to limit.
func pollBackoff(prev, interval, limit time.Duration) time.Duration {
	return min(max(prev*2, interval), limit)
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
