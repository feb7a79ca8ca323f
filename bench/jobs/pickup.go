package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// delivery is a job a poller received, and when its 201 arrived.
type delivery struct {
	jobID      int64
	pipelineID int64
	token      string
	at         time.Time
}

// jobRequest is the body of POST /api/v4/jobs/request; last_update is
// omitted until the server has sent one.
type jobRequest struct {
	Token      string         `json:"token"`
	Info       map[string]any `json:"info"`
	LastUpdate string         `json:"last_update,omitempty"`
}

// poller keeps one POST /api/v4/jobs/request outstanding at a time, echoing
// X-GitLab-Last-Update as last_update (which lets Baton hold the request),
// as gitlab-runner does. After a 204 it waits interval (gitlab-runner's
// check_interval) before asking again; after a 201, it asks again at once.
type poller struct {
	base     string
	token    string // runner token
	interval time.Duration
	http     *http.Client
}

// run polls until ctx ends, sending every job it receives to out.
func (p *poller) run(ctx context.Context, out chan<- delivery) error {
	lastUpdate := ""
	for {
		body, _ := json.Marshal(jobRequest{Token: p.token, LastUpdate: lastUpdate,
			Info: map[string]any{"name": "bench", "features": map[string]any{}}})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/api/v4/jobs/request", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := p.http.Do(req)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("requesting a job: %w", err)
		}
		at := time.Now()
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("reading the job request's answer: %w", err)
		}
		if v := resp.Header.Get("X-GitLab-Last-Update"); v != "" {
			lastUpdate = v
		}
		switch resp.StatusCode {
		case http.StatusCreated:
			d, err := decodeDelivery(b, at)
			if err != nil {
				return err
			}
			select {
			case out <- d:
			case <-ctx.Done():
				return nil
			}
			continue
		case http.StatusNoContent:
		default:
			return fmt.Errorf("requesting a job: status %d: %s", resp.StatusCode, b)
		}
		if p.interval > 0 {
			select {
			case <-time.After(p.interval):
			case <-ctx.Done():
				return nil
			}
		}
	}
}

func decodeDelivery(b []byte, at time.Time) (delivery, error) {
	var payload struct {
		ID        int64  `json:"id"`
		Token     string `json:"token"`
		Variables []struct {
			Key   string `json:"key"`
			Value string `json:"value"`
		} `json:"variables"`
	}
	if err := json.Unmarshal(b, &payload); err != nil {
		return delivery{}, fmt.Errorf("decoding a job payload: %w", err)
	}
	d := delivery{jobID: payload.ID, token: payload.Token, at: at}
	for _, v := range payload.Variables {
		if v.Key == "CI_PIPELINE_ID" {
			d.pipelineID, _ = strconv.ParseInt(v.Value, 10, 64)
		}
	}
	return d, nil
}

// finishJob reports a delivered job successful, so that it does not stay running.
func finishJob(ctx context.Context, c *http.Client, base string, d delivery) error {
	body, _ := json.Marshal(map[string]any{"token": d.token, "state": "success"})
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, fmt.Sprintf("%s/api/v4/jobs/%d", base, d.jobID), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("finishing job %d: %w", d.jobID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("finishing job %d: status %d: %s", d.jobID, resp.StatusCode, b)
	}
	return nil
}

// pickupPlan says how one pickup measurement runs.
type pickupPlan struct {
	name     string
	pollers  int           // requests kept outstanding
	interval time.Duration // pause after a 204
	pickups  int           // measured pipelines
	warmup   int           // pipelines before measuring
	jitter   time.Duration // random pause before each pipeline, so that its phase against the polls is uniform
}

// pickupResult holds sorted latencies from the pipeline-create response
// (and from its request) to the 201 delivering the pipeline's job.
type pickupResult struct {
	plan         pickupPlan
	fromResponse []time.Duration
	fromRequest  []time.Duration
}

// measurePickup creates pipelines of the one-job project one at a time and
// times how long each job takes to reach a poller.
func measurePickup(ctx context.Context, a *api, projectID int64, runnerToken string, plan pickupPlan) (*pickupResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	deliveries := make(chan delivery)
	errs := make(chan error, plan.pollers)
	for range plan.pollers {
		p := &poller{base: a.base, token: runnerToken, interval: plan.interval, http: &http.Client{}}
		go func() {
			if err := p.run(ctx, deliveries); err != nil {
				errs <- err
			}
		}()
	}
	// Let every poller get its first 204 and start being held.
	time.Sleep(200 * time.Millisecond)
	rng := rand.New(rand.NewPCG(3, 4))
	r := &pickupResult{plan: plan}
	timeout := 30*time.Second + 3*plan.interval
	for i := 0; i < plan.warmup+plan.pickups; i++ {
		pause := 20 * time.Millisecond
		if plan.jitter > 0 {
			pause = time.Duration(rng.Int64N(int64(plan.jitter)))
		}
		time.Sleep(pause)
		t0 := time.Now()
		p, err := a.createPipeline(ctx, projectID)
		if err != nil {
			return nil, err
		}
		t1 := time.Now()
		select {
		case d := <-deliveries:
			if d.pipelineID != p.ID {
				return nil, fmt.Errorf("job %d of pipeline %d delivered while waiting for pipeline %d", d.jobID, d.pipelineID, p.ID)
			}
			if i >= plan.warmup {
				r.fromResponse = append(r.fromResponse, d.at.Sub(t1))
				r.fromRequest = append(r.fromRequest, d.at.Sub(t0))
			}
			if err := finishJob(ctx, a.http, a.base, d); err != nil {
				return nil, err
			}
		case err := <-errs:
			return nil, err
		case <-time.After(timeout):
			return nil, fmt.Errorf("the job of pipeline %d reached no poller within %s", p.ID, timeout)
		}
	}
	slices.Sort(r.fromResponse)
	slices.Sort(r.fromRequest)
	return r, nil
}
