package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one received Server-Sent Event.
type sseEvent struct {
	ID    int64
	Event string
	Data  string
}

type eventData struct {
	ID         int64  `json:"id"`
	ObjectKind string `json:"object_kind"`
	PipelineID int64  `json:"pipeline_id"`
	Pipeline   *struct {
		Status         string  `json:"status"`
		PreviousStatus *string `json:"previous_status"`
	} `json:"pipeline"`
	Job *struct {
		ID             int64   `json:"id"`
		Name           string  `json:"name"`
		Status         string  `json:"status"`
		PreviousStatus *string `json:"previous_status"`
	} `json:"job"`
	Artifact *struct {
		FileType string  `json:"file_type"`
		Size     int64   `json:"size"`
		SHA256   *string `json:"sha256"`
	} `json:"artifact"`
}

func (e sseEvent) data(t *testing.T) eventData {
	t.Helper()
	var d eventData
	if err := json.Unmarshal([]byte(e.Data), &d); err != nil {
		t.Fatalf("event %d data %q: %v", e.ID, e.Data, err)
	}
	return d
}

// sseStream is an open event stream.
type sseStream struct {
	resp   *http.Response
	events chan sseEvent
}

// openEvents opens baseURL+path as an event stream with headers; the
// stream's events arrive on events, which is closed when the body ends.
func openEvents(t *testing.T, baseURL, path string, headers map[string]string) *sseStream {
	t.Helper()
	req, _ := http.NewRequest("GET", baseURL+path, nil)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &sseStream{resp: resp, events: make(chan sseEvent, 1000)}
	if resp.StatusCode != http.StatusOK {
		close(s.events)
		return s
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("%s: Content-Type %q", path, ct)
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.ID != 0 {
					s.events <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				cur.ID, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				cur.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.Data = line[6:]
			}
		}
	}()
	return s
}

// next returns the stream's next event.
func (s *sseStream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case e, ok := <-s.events:
		if !ok {
			t.Fatal("the event stream ended")
		}
		return e
	case <-time.After(60 * time.Second):
		t.Fatal("no event in 60s")
	}
	panic("unreachable")
}

// rest collects the stream's events until it ends.
func (s *sseStream) rest(t *testing.T) []sseEvent {
	t.Helper()
	var out []sseEvent
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				return out
			}
			out = append(out, e)
		case <-deadline:
			t.Fatalf("the event stream did not end (%d events so far)", len(out))
		}
	}
}

// startReplicaOf starts a second server sharing in's PostgreSQL database,
// as another replica would.
func startReplicaOf(t *testing.T, in *instance) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := &Main{Logger: testLogger(t)}
	m.Config.bind(flagSetForTest())
	m.Config.Listen = ln.Addr().String()
	m.Config.DataDir = t.TempDir()
	m.Config.DatabaseURL = in.main.Config.DatabaseURL
	m.Config.ReposDir = in.main.Config.ReposDir
	m.Config.LongPoll = 2 * time.Second
	ctx := context.Background()
	if err := m.Open(ctx); err != nil {
		ln.Close()
		t.Fatalf("opening the second replica: %v", err)
	}
	if err := m.Serve(ctx, ln); err != nil {
		t.Fatalf("serving: %v", err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return &instance{t: t, main: m, url: m.Config.ExternalURL, token: in.token}
}

// TestPipelineEventsStream runs a real pipeline with Baton's runner while
// clients follow GET .../pipelines/:id/events: the stream delivers every
// recorded event once and in order (pipeline and job status changes, the
// uploaded archive with its size and SHA-256) and ends after the pipeline
// finished; a client that drops mid-run and reconnects with Last-Event-ID
// gets exactly the rest; a job token of the pipeline may follow it (the
// job itself does, with curl); on PostgreSQL a second replica delivers the
// same sequence; a caller who may not see the pipeline gets what a
// missing pipeline gets.
func TestPipelineEventsStream(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		var replica *instance
		if e.name == "postgres" {
			replica = startReplicaOf(t, in)
		}
		yaml := `stages: [build, test]
build:
  stage: build
  script: ["mkdir -p out", "echo built > out/bin.txt"]
  artifacts:
    paths: [out/]
follow:
  stage: test
  script:
    - 'curl -sN --max-time 2 -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/events" > events.txt || true'
    - 'grep "event: artifact" events.txt'
    - 'grep "\"name\":\"build\",\"stage\":\"build\",\"status\":\"success\"" events.txt'
`
		pid, _ := in.project("events", map[string]string{".gitlab-ci.yml": yaml})
		pl := in.latestPipeline(pid)
		path := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/events", pid, pl.ID)
		root := map[string]string{"PRIVATE-TOKEN": in.token}

		whole := openEvents(t, in.url, path, root)
		dropped := openEvents(t, in.url, path, root)
		var other *sseStream
		if replica != nil {
			other = openEvents(t, replica.url, path, root)
		}
		// The pipeline's creation and its two jobs' are there before any
		// runner: read them from the stream that will drop.
		var first []sseEvent
		for range 3 {
			first = append(first, dropped.next(t))
		}
		dropped.resp.Body.Close()
		in.startRunner(in.runnerToken(), 1)

		got := whole.rest(t)
		if len(got) < 10 {
			t.Fatalf("%d events: %v", len(got), got)
		}
		// Every event once, in order, numbered 1, 2, ...
		status := map[string]string{}
		var archive *eventData
		for i, ev := range got {
			if ev.ID != int64(i+1) {
				t.Fatalf("event %d has id %d", i+1, ev.ID)
			}
			d := ev.data(t)
			if d.ID != ev.ID || d.ObjectKind != ev.Event || d.PipelineID != pl.ID {
				t.Fatalf("event %d: data %s", ev.ID, ev.Data)
			}
			switch ev.Event {
			case "job":
				prev := ""
				if d.Job.PreviousStatus != nil {
					prev = *d.Job.PreviousStatus
				}
				if prev != status[d.Job.Name] {
					t.Fatalf("event %d: job %s %s→%s after %q", ev.ID, d.Job.Name, prev, d.Job.Status, status[d.Job.Name])
				}
				status[d.Job.Name] = d.Job.Status
			case "pipeline":
				status["pipeline"] = d.Pipeline.Status
			case "artifact":
				if d.Artifact.FileType == "archive" {
					archive = &d
				}
			default:
				t.Fatalf("event %d of kind %q", ev.ID, ev.Event)
			}
		}
		if status["build"] != "success" || status["follow"] != "success" || status["pipeline"] != "success" {
			t.Fatalf("final statuses %v, want success (follow's log: %s)", status, in.trace(pid, in.jobs(pid, pl.ID, false)["follow"][0].ID))
		}
		if last := got[len(got)-1].data(t); last.Pipeline == nil || last.Pipeline.Status != "success" {
			t.Fatalf("last event %s, want the pipeline's success", got[len(got)-1].Data)
		}
		if archive == nil || archive.Job.Name != "build" || archive.Artifact.SHA256 == nil {
			t.Fatalf("no archive event of build with a digest: %+v", archive)
		}
		code, zip, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts", pid, archive.Job.ID), root, nil)
		sum := sha256.Sum256(zip)
		if code != http.StatusOK || int64(len(zip)) != archive.Artifact.Size || hex.EncodeToString(sum[:]) != *archive.Artifact.SHA256 {
			t.Fatalf("archive event says %d bytes, sha256 %s; the archive (%d) has %d, %x",
				archive.Artifact.Size, *archive.Artifact.SHA256, code, len(zip), sum)
		}

		same := func(what string, seq []sseEvent) {
			t.Helper()
			if len(seq) != len(got) {
				t.Fatalf("%s: %d events, want %d", what, len(seq), len(got))
			}
			for i := range seq {
				if seq[i] != got[i] {
					t.Fatalf("%s: event %d is %+v, want %+v", what, i+1, seq[i], got[i])
				}
			}
		}
		// Reconnecting with Last-Event-ID resumes without loss or repeats.
		resumed := openEvents(t, in.url, path, map[string]string{"PRIVATE-TOKEN": in.token, "Last-Event-ID": "3"})
		same("dropped and resumed", append(first, resumed.rest(t)...))
		// after= does the same; the whole stream again is the same.
		same("after=0", openEvents(t, in.url, path+"?after=0", root).rest(t))
		if other != nil {
			same("the other replica", other.rest(t))
		}
		// Resuming after the end: 204 (EventSource stops).
		if s := openEvents(t, in.url, path, map[string]string{"PRIVATE-TOKEN": in.token, "Last-Event-ID": strconv.Itoa(len(got))}); s.resp.StatusCode != http.StatusNoContent {
			t.Fatalf("resuming after the last event: %d, want 204", s.resp.StatusCode)
		}

		// A private pipeline looks missing.
		in.api("PUT", fmt.Sprintf("/api/v4/projects/%d", pid), map[string]string{"visibility": "private"}, http.StatusOK, nil)
		_, tok := in.user("stranger")
		stranger := map[string]string{"PRIVATE-TOKEN": tok}
		code1, body1, _ := in.do("GET", path, stranger, nil)
		code2, body2, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/events", pid, pl.ID+1000), root, nil)
		code3, body3, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/events", pid+1000, pl.ID), root, nil)
		if code1 != http.StatusNotFound || code2 != http.StatusNotFound || code3 != http.StatusNotFound {
			t.Fatalf("stranger %d %s; missing pipeline %d %s; missing project %d %s", code1, body1, code2, body2, code3, body3)
		}
		if string(body1) != string(body3) {
			t.Fatalf("a stranger reads %s, a missing project %s", body1, body3)
		}
	})
}

// TestPipelineEventsLimit: streams beyond --max-event-streams-per-client
// are 429 with a Retry-After, and a closed stream frees its place; a job
// token of the pipeline may follow it.
func TestPipelineEventsLimit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, func(c *Config) { c.MaxEventStreamsPer = 1 })
		h := in.holdJobs("a")
		path := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/events", h.project, h.pipeline)
		first := openEvents(t, in.url, path, map[string]string{"JOB-TOKEN": h.tokens["a"]})
		if first.resp.StatusCode != http.StatusOK {
			t.Fatalf("a job token of the pipeline: %d", first.resp.StatusCode)
		}
		first.next(t)
		second := openEvents(t, in.url, path, map[string]string{"PRIVATE-TOKEN": in.token})
		if second.resp.StatusCode != http.StatusTooManyRequests || second.resp.Header.Get("Retry-After") == "" {
			t.Fatalf("second stream from one IP: %d, Retry-After %q; want 429 with Retry-After",
				second.resp.StatusCode, second.resp.Header.Get("Retry-After"))
		}
		first.resp.Body.Close()
		eventually(t, 30*time.Second, "the closed stream's place freed", func() bool { return in.main.Events.Hub.Len() == 0 })
		if third := openEvents(t, in.url, path, map[string]string{"PRIVATE-TOKEN": in.token}); third.resp.StatusCode != http.StatusOK {
			t.Fatalf("after the first closed: %d", third.resp.StatusCode)
		}
	})
}
