package main

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestPublishLatencyReport measures, for the report, how long a consumer
// waiting with wait= takes to get the first byte of a published artifact
// after the producer starts its PUT: p50 and p99 over 50 publishes, on
// both engines. It asserts nothing about time; it runs only with
// BATON_BENCH=1:
//
//	BATON_BENCH=1 go test ./cmd/baton -run TestPublishLatencyReport -v
func TestPublishLatencyReport(t *testing.T) {
	if os.Getenv("BATON_BENCH") == "" {
		t.Skip("set BATON_BENCH=1 to measure")
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		h := in.holdJobs("producer")
		root := map[string]string{"PRIVATE-TOKEN": in.token}
		const n = 50
		var lat []time.Duration
		for i := range n {
			name := fmt.Sprintf("a%d", i)
			got := make(chan time.Time, 1)
			go func() {
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%d/artifacts/raw/%s.txt?job=producer&artifact=%s&wait=60",
					in.url, h.project, h.pipeline, name, name), nil)
				req.Header.Set("PRIVATE-TOKEN", root["PRIVATE-TOKEN"])
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
			in.waiting(1)
			start := time.Now()
			req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v4/jobs/%d/artifacts/publish/%s?filename=%s.txt", in.url, h.ids["producer"], name, name),
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
			in.waiting(0)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("%s: publish → waiting consumer's first byte over %d publishes: p50 %v, p99 %v, max %v",
			e.name, n, lat[n/2], lat[n*99/100], lat[n-1])
	})
}
