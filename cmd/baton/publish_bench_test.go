package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/testpg"
	"github.com/batonci/baton/internal/tests3"
)

// TestPublishLatencyReport measures, for the report, how long a consumer
// waiting with wait= takes to get the first byte of a published artifact
// after the producer starts its PUT: p50 and p99 over 50 publishes, on
// both engines (one in-process server each) and across two `baton server`
// processes on one PostgreSQL and one bucket (the consumer waits on
// replica b, the job publishes through replica a), against replica a
// alone on the same database and bucket. It asserts nothing
// about time; it runs only with BATON_BENCH=1:
//
//	BATON_BENCH=1 go test ./cmd/baton -run TestPublishLatencyReport -v
func TestPublishLatencyReport(t *testing.T) {
	if os.Getenv("BATON_BENCH") == "" {
		t.Skip("set BATON_BENCH=1 to measure")
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		h := in.holdJobs("producer")
		publishLatency(t, e.name, in.url, in.url, in.token, h, in.waiting)
	})
	t.Run("two replicas", func(t *testing.T) {
		pg := testpg.NewCluster(t)
		bucket := tests3.Server(t)
		bin := buildBaton(t)
		reposDir := t.TempDir()
		// The default --stuck-after: the benchmark holds its job without a
		// runner for longer than TestReplicas' short one.
		a := startReplica(t, bin, "a", pg.URL(), bucket, reposDir, "", "--log-level", "warn")
		b := startReplica(t, bin, "b", pg.URL(), bucket, reposDir, "", "--log-level", "warn")
		var out, errOut bytes.Buffer
		if err := run(context.Background(), []string{"admin", "token", "create", "--database-url", pg.URL(), "--data-dir", t.TempDir()}, &out, &errOut); err != nil {
			t.Fatalf("creating an admin token: %v: %s", err, errOut.String())
		}
		in := &instance{t: t, url: a.url, token: strings.TrimSpace(out.String())}
		h := in.holdJobs("producer")
		// Another process's waiters cannot be counted: give the consumer's
		// request time to be held on b before publishing. Had it not been
		// held yet, it finds the artifact at its first look, and the time
		// measured is still the one a user would see.
		held := func(n int) {
			if n > 0 {
				time.Sleep(300 * time.Millisecond)
			}
		}
		// The same replica for both, on the same S3 and PostgreSQL, in
		// the same run: what the hop between replicas adds.
		publishLatency(t, "replica a alone on S3 (publish and wait through a)", a.url, a.url, in.token, h, held)
		publishLatency(t, "two replicas (publish through a, wait on b)", b.url, a.url, in.token, h, held)
	})
}

// publishLatency publishes 50 artifacts of h's producer through publishURL,
// each awaited by a consumer on consumerURL with wait=60, and logs the
// time from the start of each PUT to the consumer's first byte. held(n)
// returns once n consumers are held (or, across processes, after a pause).
func publishLatency(t *testing.T, name, consumerURL, publishURL, token string, h *heldJobs, held func(n int)) {
	const n = 50
	var lat []time.Duration
	for i := range n {
		artifact := fmt.Sprintf("%s-%d", strings.Fields(name)[0], i)
		got := make(chan time.Time, 1)
		go func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%d/artifacts/raw/%s.txt?job=producer&artifact=%s&wait=60",
				consumerURL, h.project, h.pipeline, artifact, artifact), nil)
			req.Header.Set("PRIVATE-TOKEN", token)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				got <- time.Time{}
				return
			}
			b := make([]byte, 1)
			resp.Body.Read(b) // the first byte
			at := time.Now()
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				at = time.Time{}
			}
			got <- at
		}()
		held(1)
		start := time.Now()
		req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v4/jobs/%d/artifacts/publish/%s?filename=%s.txt", publishURL, h.ids["producer"], artifact, artifact),
			strings.NewReader("published content\n"))
		req.Header.Set("JOB-TOKEN", h.tokens["producer"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusCreated {
			t.Fatalf("publish %d: %v %v", i, err, resp)
		}
		resp.Body.Close()
		at := <-got
		if at.IsZero() {
			t.Fatalf("consumer %d got no file", i)
		}
		lat = append(lat, at.Sub(start))
		held(0)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("%s: publish → waiting consumer's first byte over %d publishes: p50 %v, p99 %v, max %v",
		name, n, lat[n/2], lat[n*99/100], lat[n-1])
}
