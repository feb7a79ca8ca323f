package runnerapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

func TestLongPoll(t *testing.T) {
	t.Run("no last_update answers at once with the version", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = time.Hour })
		resp := e.requestJob(e.runner, "")
		expect(t, resp, http.StatusNoContent)
		if v := resp.Header.Get("X-GitLab-Last-Update"); v != e.version() {
			t.Fatalf("X-GitLab-Last-Update %q, want %q", v, e.version())
		}
	})
	t.Run("stale last_update answers at once", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = time.Hour })
		expect(t, e.requestJob(e.runner, "someone-else-1"), http.StatusNoContent)
	})
	t.Run("held request gets a job that becomes pending", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = time.Hour })
		version := e.version()
		got := make(chan *http.Response, 1)
		go func() { got <- e.requestJob(e.runner, version) }()
		// The request is held: nothing answers until a job is queued.
		select {
		case resp := <-got:
			t.Fatalf("answered %d before any job was pending", resp.StatusCode)
		case <-time.After(100 * time.Millisecond):
		}
		e.pipeline([]string{"test"}, ci.JobSpec{Name: "late", Stage: "test", Script: []string{"true"}})
		resp := <-got
		var j specJob
		expectJSON(t, resp, http.StatusCreated, &j)
		if j.JobInfo.Name != "late" {
			t.Fatalf("got job %q", j.JobInfo.Name)
		}
	})
	t.Run("a 201 carries the version, so the next request is held", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = time.Hour })
		e.pipeline([]string{"test"}, ci.JobSpec{Name: "first", Stage: "test", Script: []string{"true"}})
		resp := e.requestJob(e.runner, "")
		expect(t, resp, http.StatusCreated)
		version := resp.Header.Get("X-GitLab-Last-Update")
		if version == "" || version != e.version() {
			t.Fatalf("201 carries X-GitLab-Last-Update %q, want the current version %q", version, e.version())
		}
		got := make(chan *http.Response, 1)
		go func() { got <- e.requestJob(e.runner, version) }()
		waitFor(t, "the next request to be held", func() bool { return e.srv.Queue.Waiting() == 1 })
		e.pipeline([]string{"test"}, ci.JobSpec{Name: "second", Stage: "test", Script: []string{"true"}})
		var j specJob
		expectJSON(t, <-got, http.StatusCreated, &j)
		if j.JobInfo.Name != "second" {
			t.Fatalf("got job %q", j.JobInfo.Name)
		}
	})
	t.Run("a runner's new tags reach its held request", func(t *testing.T) {
		// The hold is long but finite: without the wake-up the request
		// ends 204 and the test fails rather than hangs.
		e := newEnv(t, func(s *Server) { s.LongPoll = 30 * time.Second })
		rn := &ci.Runner{RunnerType: ci.RunnerInstance, Tags: []string{"cpu"}}
		token := e.newRunner(rn)
		e.pipeline([]string{"test"}, ci.JobSpec{Name: "gpu job", Stage: "test", Script: []string{"true"}, Tags: []string{"gpu"}})
		got := make(chan *http.Response, 1)
		go func() { got <- e.requestJob(token, e.version()) }()
		waitFor(t, "the request to be held", func() bool { return e.srv.Queue.Waiting() == 1 })
		rn.Tags = []string{"cpu", "gpu"} // what PUT /runners/:id stores
		if err := e.db.UpdateRunner(context.Background(), rn); err != nil {
			t.Fatal(err)
		}
		var j specJob
		expectJSON(t, <-got, http.StatusCreated, &j)
		if j.JobInfo.Name != "gpu job" {
			t.Fatalf("got job %q", j.JobInfo.Name)
		}
	})
	t.Run("held request ends with 204 after the hold", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = 50 * time.Millisecond })
		version := e.version()
		resp := e.requestJob(e.runner, version)
		expect(t, resp, http.StatusNoContent)
		if resp.Header.Get("X-GitLab-Last-Update") != version {
			t.Fatalf("X-GitLab-Last-Update %q, want unchanged %q", resp.Header.Get("X-GitLab-Last-Update"), version)
		}
	})
	t.Run("a job for another runner does not end the hold with a job", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = 200 * time.Millisecond })
		version := e.version()
		got := make(chan *http.Response, 1)
		go func() { got <- e.requestJob(e.runner, version) }()
		time.Sleep(20 * time.Millisecond)
		e.pipeline([]string{"test"}, ci.JobSpec{Name: "tagged", Stage: "test", Script: []string{"true"}, Tags: []string{"gpu"}})
		resp := <-got
		expect(t, resp, http.StatusNoContent)
		if resp.Header.Get("X-GitLab-Last-Update") == version {
			t.Fatalf("version did not move although a job became pending")
		}
	})
	t.Run("queue close ends holds", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = time.Hour })
		version := e.version()
		got := make(chan *http.Response, 1)
		go func() { got <- e.requestJob(e.runner, version) }()
		time.Sleep(20 * time.Millisecond)
		e.srv.Queue.Close()
		expect(t, <-got, http.StatusNoContent)
	})
	t.Run("client going away ends the hold", func(t *testing.T) {
		e := newEnv(t, func(s *Server) { s.LongPoll = time.Hour })
		ctx, cancel := context.WithCancel(context.Background())
		body := fmt.Sprintf(`{"token":%q,"last_update":%q}`, e.runner, e.version())
		req, _ := http.NewRequestWithContext(ctx, "POST", e.url+"/api/v4/jobs/request", stringsReader(body))
		req.Header.Set("Content-Type", "application/json")
		done := make(chan error, 1)
		go func() {
			_, err := http.DefaultClient.Do(req)
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		cancel()
		if err := <-done; err == nil {
			t.Fatalf("request succeeded after cancel")
		}
		waitFor(t, "the server to notice the client left", func() bool { return e.srv.Queue.Waiting() == 0 })
		// The server side must not keep the job for the gone client: a new
		// job goes to the next poll.
		e.pipeline([]string{"test"}, ci.JobSpec{Name: "after", Stage: "test", Script: []string{"true"}})
		waitFor(t, "the abandoned hold to end", func() bool {
			resp := e.requestJob(e.runner, "")
			defer resp.Body.Close()
			return resp.StatusCode == http.StatusCreated
		})
	})
}

// TestConcurrentAssignment has 20 runners poll 200 jobs: each job is
// assigned exactly once.
func TestConcurrentAssignment(t *testing.T) {
	for _, eng := range storetest.Engines() {
		t.Run(eng.Name, func(t *testing.T) {
			db := eng.Open(t)
			concurrentAssignment(t, db)
		})
	}
}

func concurrentAssignment(t *testing.T, db *store.DB) {
	e := newEnvOn(t, db)
	const runners, jobs = 20, 200
	for p := 0; p < jobs/10; p++ {
		specs := make([]ci.JobSpec, 10)
		for i := range specs {
			specs[i] = ci.JobSpec{Name: fmt.Sprintf("job %d", i), Stage: "test", Script: []string{"true"}}
		}
		e.pipeline([]string{"test"}, specs...)
	}
	tokens := []string{e.runner}
	for len(tokens) < runners {
		tokens = append(tokens, e.newRunner(&ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true}))
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	errs := make(chan error, runners)
	for _, tok := range tokens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				body := fmt.Sprintf(`{"token":%q}`, tok)
				resp, err := http.Post(e.url+"/api/v4/jobs/request", "application/json", stringsReader(body))
				if err != nil {
					errs <- err
					return
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusNoContent:
					return
				case http.StatusCreated:
					var j specJob
					if err := json.Unmarshal(data, &j); err != nil {
						errs <- err
						return
					}
					mu.Lock()
					seen[j.ID]++
					mu.Unlock()
				default:
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, data)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != jobs {
		t.Fatalf("%d distinct jobs assigned, want %d", len(seen), jobs)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("job %d assigned %d times", id, n)
		}
	}
}
