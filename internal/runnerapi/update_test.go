package runnerapi

import (
	"context"
	"fmt"
	"hash/crc32"
	"net/http"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// patch sends a trace patch the way gitlab-runner does: bare Content-Range.
func patch(e *env, j *specJob, start int, data string) *http.Response {
	e.t.Helper()
	return e.do("PATCH", "/api/v4/jobs/"+itoa(j.ID)+"/trace?debug_trace=false", []byte(data),
		"Job-Token", j.Token, "Content-Type", "text/plain",
		"Content-Range", fmt.Sprintf("%d-%d", start, start+len(data)-1))
}

func TestTraceAndUpdate(t *testing.T) {
	e := newEnv(t)
	e.pipeline([]string{"test"}, ci.JobSpec{Name: "a", Stage: "test", Script: []string{"true"}})
	j := e.takeJob(e.runner)
	path := "/api/v4/jobs/" + itoa(j.ID)

	t.Run("ack", func(t *testing.T) {
		resp := e.do("PUT", path, map[string]any{"token": j.Token, "state": "running", "output": map[string]any{}, "info": runnerInfoBody}, "Job-Token", j.Token)
		expect(t, resp, http.StatusOK)
		if resp.Header.Get("Job-Status") != "running" || resp.Header.Get("X-GitLab-Trace-Update-Interval") == "" {
			t.Fatalf("headers %v", resp.Header)
		}
	})
	log := "hello\n"
	cases := []struct {
		name     string
		start    int
		data     string
		headers  []string // overrides
		status   int
		wantRng  string
		wantSize int64
	}{
		{name: "first patch", start: 0, data: "hello", status: http.StatusAccepted, wantRng: "0-5", wantSize: 5},
		{name: "gap", start: 9, data: "x", status: http.StatusRequestedRangeNotSatisfiable, wantRng: "0-5", wantSize: 5},
		{name: "overlap", start: 2, data: "llo", status: http.StatusRequestedRangeNotSatisfiable, wantRng: "0-5", wantSize: 5},
		{name: "bytes unit tolerated", start: 5, data: "\n", headers: []string{"Content-Range", "bytes 5-5/6"}, status: http.StatusAccepted, wantRng: "0-6", wantSize: 6},
		{name: "missing content range", data: "x", headers: []string{"Content-Range", ""}, status: http.StatusBadRequest, wantSize: 6},
		{name: "wrong token", start: 6, data: "x", headers: []string{"Job-Token", "glcbt-wrong"}, status: http.StatusForbidden, wantSize: 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := []string{"Job-Token", j.Token, "Content-Type", "text/plain", "Content-Range", fmt.Sprintf("%d-%d", c.start, c.start+len(c.data)-1)}
			h = append(h, c.headers...)
			resp := e.do("PATCH", path+"/trace", []byte(c.data), h...)
			expect(t, resp, c.status)
			if c.wantRng != "" && resp.Header.Get("Range") != c.wantRng {
				t.Fatalf("Range %q, want %q", resp.Header.Get("Range"), c.wantRng)
			}
			if c.status == http.StatusAccepted && resp.Header.Get("Job-Status") != "running" {
				t.Fatalf("Job-Status %q", resp.Header.Get("Job-Status"))
			}
			if got := e.job(j.ID).TraceSize; got != c.wantSize {
				t.Fatalf("trace size %d, want %d", got, c.wantSize)
			}
		})
	}
	t.Run("final update", func(t *testing.T) {
		sum := fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE([]byte(log)))
		body := map[string]any{"token": j.Token, "state": "failed", "failure_reason": "script_failure", "exit_code": 3,
			"output": map[string]any{"checksum": sum, "bytesize": len(log)}}
		resp := e.do("PUT", path, body, "Job-Token", j.Token)
		expect(t, resp, http.StatusOK)
		got := e.job(j.ID)
		if got.Status != ci.StatusFailed || got.FailureReason != "script_failure" || got.ExitCode == nil || *got.ExitCode != 3 || got.FinishedAt == nil {
			t.Fatalf("job after final update %+v", got)
		}
		if resp.Header.Get("Job-Status") != "failed" {
			t.Fatalf("Job-Status %q", resp.Header.Get("Job-Status"))
		}
		pl, _ := e.db.PipelineByID(context.Background(), got.PipelineID)
		if pl.Status != ci.StatusFailed {
			t.Fatalf("pipeline status %s: scheduler not told", pl.Status)
		}
	})
	t.Run("after the end", func(t *testing.T) {
		resp := patch(e, j, 6, "late")
		expectJSON(t, resp, http.StatusForbidden, nil)
		if resp.Header.Get("Job-Status") != "failed" {
			t.Fatalf("Job-Status %q", resp.Header.Get("Job-Status"))
		}
		resp = e.do("PUT", path, map[string]any{"token": j.Token, "state": "success"})
		expect(t, resp, http.StatusForbidden)
	})
}

func TestUpdateStates(t *testing.T) {
	cases := []struct {
		name       string
		server     ci.Status // set on the server before the runner reports
		state      string
		status     int
		jobStatus  string // Job-Status header
		wantStored ci.Status
	}{
		{"success", ci.StatusRunning, "success", http.StatusOK, "success", ci.StatusSuccess},
		{"keepalive", ci.StatusRunning, "running", http.StatusOK, "running", ci.StatusRunning},
		{"unknown state", ci.StatusRunning, "bogus", http.StatusBadRequest, "running", ci.StatusRunning},
		{"graceful cancel requested", ci.StatusCanceling, "running", http.StatusOK, "canceling", ci.StatusCanceling},
		{"canceling job reports failed", ci.StatusCanceling, "failed", http.StatusOK, "canceled", ci.StatusCanceled},
		{"hard canceled", ci.StatusCanceled, "running", http.StatusForbidden, "canceled", ci.StatusCanceled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.pipeline([]string{"test"}, ci.JobSpec{Name: "a", Stage: "test", Script: []string{"true"}})
			j := e.takeJob(e.runner)
			if c.server != ci.StatusRunning {
				stored := e.job(j.ID)
				stored.Status = c.server
				if err := e.db.UpdateJob(context.Background(), stored, ci.StatusRunning); err != nil {
					t.Fatal(err)
				}
				if c.server == ci.StatusCanceling {
					resp := patch(e, j, 0, "x")
					expect(t, resp, http.StatusAccepted)
					if resp.Header.Get("Job-Status") != "canceling" {
						t.Fatalf("patch Job-Status %q, want canceling", resp.Header.Get("Job-Status"))
					}
				}
			}
			body := map[string]any{"token": j.Token, "state": c.state, "output": map[string]any{}}
			if c.state == "failed" {
				body["failure_reason"] = "job_canceled"
			}
			resp := e.do("PUT", "/api/v4/jobs/"+itoa(j.ID), body, "Job-Token", j.Token)
			expect(t, resp, c.status)
			if got := resp.Header.Get("Job-Status"); got != c.jobStatus {
				t.Fatalf("Job-Status %q, want %q", got, c.jobStatus)
			}
			if got := e.job(j.ID).Status; got != c.wantStored {
				t.Fatalf("stored status %s, want %s", got, c.wantStored)
			}
		})
	}
}

func TestTraceLimit(t *testing.T) {
	e := newEnv(t, func(s *Server) { s.TraceLimit = 10 })
	e.pipeline([]string{"test"}, ci.JobSpec{Name: "a", Stage: "test", Script: []string{"true"}})
	j := e.takeJob(e.runner)
	expect(t, patch(e, j, 0, "12345678"), http.StatusAccepted)
	resp := patch(e, j, 8, "9ab")
	body := expect(t, resp, http.StatusForbidden)
	if resp.Header.Get("Job-Status") != "failed" || !strings.Contains(string(body), "limit") {
		t.Fatalf("Job-Status %q body %s", resp.Header.Get("Job-Status"), body)
	}
	got := e.job(j.ID)
	if got.Status != ci.StatusFailed || got.FailureReason != ci.FailureTraceSizeExceeded || got.TraceSize != 8 {
		t.Fatalf("job %+v", got)
	}
}
