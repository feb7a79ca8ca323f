package runner

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestLargeTraceIsChunkedAndTruncated(t *testing.T) {
	f := newFakeCoordinator(t)
	j := f.enqueue(payload(80, []string{"head -c 5000000 /dev/zero | tr '\\0' 'a'", "echo; echo tail-line"}, nil))
	r := newTestRunner(t, f, 1)
	r.traceLimit = 3 << 20
	startRunner(t, r)
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	if !strings.Contains(trace, "Job's log exceeded limit of 3145728 bytes.") || strings.Contains(trace, "tail-line") {
		t.Errorf("trace of %d bytes not truncated at the limit", len(trace))
	}
	// The fake rejects patches above 1 MiB; more than 3 MiB arrived.
	if len(trace) <= 3<<20 {
		t.Errorf("trace is %d bytes", len(trace))
	}
}

func TestKeepaliveWithoutOutput(t *testing.T) {
	f := newFakeCoordinator(t)
	j := f.enqueue(payload(81, []string{"sleep 1"}, nil))
	r := newTestRunner(t, f, 1)
	r.keepalive = 100 * time.Millisecond
	startRunner(t, r)
	_, _, _ = waitFinal(t, f, j)
	_, updates, _ := f.snapshot(j)
	running := 0
	for _, u := range updates[1 : len(updates)-1] {
		if u["state"] == "running" {
			if out := u["output"].(map[string]any); out["checksum"] == nil {
				t.Errorf("keepalive without checksum: %v", u)
			}
			running++
		}
	}
	if running == 0 {
		t.Errorf("no keepalive PUT during a silent script: %v", updates)
	}
}

func TestFinalUpdateIsRetried(t *testing.T) {
	tests := []struct {
		name    string
		answers []int // answers to final PUTs, then 200
		want    int   // final PUTs expected
	}{
		{"5xx then 200", []int{500, 500, 500, 500, 500, 500}, 7},
		{"400 then 200", []int{400}, 2},
		{"202 then 200", []int{202, 202}, 3},
		{"403 aborts", []int{403}, 1},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCoordinator(t)
			finals := 0
			f.updateHook = func(j *fakeJob, body map[string]any) int {
				if body["state"] == "running" {
					return 0
				}
				finals++
				if finals <= len(tc.answers) {
					if tc.answers[finals-1] == 403 {
						close(j.done)
					}
					return tc.answers[finals-1]
				}
				return 0
			}
			j := f.enqueue(payload(90+i, []string{"echo hi"}, nil))
			r := newTestRunner(t, f, 1)
			r.traceInterval = 10 * time.Millisecond
			startRunner(t, r)
			_, _, _ = waitFinal(t, f, j)
			eventually(t, "the runner to poll again", func() bool { return f.requestCount() >= 2 })
			f.mu.Lock()
			defer f.mu.Unlock()
			if finals != tc.want {
				t.Errorf("final PUTs = %d, want %d", finals, tc.want)
			}
		})
	}
}

func TestUploadRefusedFailsJob(t *testing.T) {
	for _, code := range []int{http.StatusRequestEntityTooLarge, http.StatusForbidden} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			f := newFakeCoordinator(t)
			f.uploadCode = code
			j := f.enqueue(payload(95, []string{"head -c 300000 /dev/urandom > big.bin"}, map[string]any{
				"artifacts": []map[string]any{{"name": "big", "paths": []string{"big.bin"}, "artifact_format": "zip"}},
			}))
			startRunner(t, newTestRunner(t, f, 1))
			trace, final, uploads := waitFinal(t, f, j)
			checkFinal(t, trace, final, "failed", "archived_failure", 0)
			if len(uploads) != 1 {
				t.Errorf("a refused upload was retried: %d uploads", len(uploads))
			}
			if !strings.Contains(trace, "artifacts upload refused") {
				t.Errorf("trace:\n%s", trace)
			}
		})
	}
}

func TestTraceUpdateIntervalHeader(t *testing.T) {
	f := newFakeCoordinator(t)
	j := f.enqueue(payload(96, []string{"true"}, nil))
	r := newTestRunner(t, f, 1)
	jb := r.newJob(&jobPayload{ID: 96, Token: j.token}, 0)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{{"30", 30 * time.Second}, {"0", 30 * time.Second}, {"x", 30 * time.Second}, {"100000", 15 * time.Minute}} {
		resp := &http.Response{Header: http.Header{"X-Gitlab-Trace-Update-Interval": {tc.header}}}
		jb.observe(resp)
		if got := jb.updateInterval(); got != tc.want {
			t.Errorf("after %q: interval %v, want %v", tc.header, got, tc.want)
		}
	}
}
