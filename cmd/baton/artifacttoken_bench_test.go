package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"testing"
	"time"
)

// TestArtifactTokenReadReport measures, for the report, what reading one
// file by artifact token costs next to a personal token: p50 and p99 of 300
// sequential raw reads each (personal token, artifact token in a header,
// signed link), on both engines. A token read checks the token, counts a
// use and records it (3 statements more). It asserts nothing about time;
// it runs only with BATON_BENCH=1:
//
//	BATON_BENCH=1 go test ./cmd/baton -run TestArtifactTokenReadReport -v
func TestArtifactTokenReadReport(t *testing.T) {
	if os.Getenv("BATON_BENCH") == "" {
		t.Skip("set BATON_BENCH=1 to measure")
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("bench", map[string]string{".gitlab-ci.yml": tokenCI})
		pl := in.latestPipeline(pid)
		if done := in.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled"); done.Status != "success" {
			t.Fatalf("pipeline %s", done.Status)
		}
		jobs := in.jobs(pid, pl.ID, false)
		tok := mintedTokens(t, in.trace(pid, jobs["mint"][0].ID))["main"].Token
		path := fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%d/artifacts/raw/out/app.txt?job=release", in.url, pid, pl.ID)
		for _, c := range []struct {
			name   string
			url    string
			header string
			value  string
		}{
			{"personal token", path, "PRIVATE-TOKEN", in.token},
			{"artifact token", path, "PRIVATE-TOKEN", tok},
			{"signed link", path + "&sig=" + tok, "", ""},
		} {
			const n = 300
			lat := make([]time.Duration, 0, n)
			for range n {
				req, _ := http.NewRequest("GET", c.url, nil)
				if c.header != "" {
					req.Header.Set(c.header, c.value)
				}
				start := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: %d", c.name, resp.StatusCode)
				}
				lat = append(lat, time.Since(start))
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			t.Logf("%s, %s: p50 %.2f ms, p99 %.2f ms over %d reads", e.name, c.name,
				float64(lat[n/2].Microseconds())/1000, float64(lat[n*99/100].Microseconds())/1000, n)
		}
	})
}
