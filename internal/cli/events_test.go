package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestEventStreamFollow: events are parsed as the Server-Sent Events
// format says (comments, CRLF, multi-line data, an id without data), a
// stream that ends before the end is resumed with Last-Event-ID after the
// retry the server asked for, a 204 ends following, and the first answer
// decides between the stream and polling.
func TestEventStreamFollow(t *testing.T) {
	type answer struct {
		status int
		ctype  string
		body   string
	}
	stream := "text/event-stream"
	for _, tc := range []struct {
		name     string
		answers  []answer
		finished bool // what the caller says once the events are in
		want     []string
		lastIDs  []string // Last-Event-ID of each request
		err      error
		code     int // ExitError code of err, when not errNoStream
	}{
		{
			name: "format, resume and 204",
			answers: []answer{
				{200, stream, ": hello\r\nretry: 10\r\n\r\nid: 1\r\nevent: job\r\ndata: {\"a\":1}\r\n\r\nid: 2\nevent: pipeline\ndata: line1\ndata: line2\n\nid: 3\n\n"},
				{200, stream, "id: 4\nevent: job\ndata: x\n\n"},
				{204, "", ""},
			},
			want:    []string{"1 job {\"a\":1}", "2 pipeline line1\nline2", "4 job x"},
			lastIDs: []string{"", "3", "4"},
		},
		{
			name:     "clean end when finished",
			answers:  []answer{{200, stream, "retry: 10\n\nid: 7\nevent: pipeline\ndata: done\n\n"}},
			finished: true,
			want:     []string{"7 pipeline done"},
			lastIDs:  []string{""},
		},
		{
			name:    "a cut event is not delivered",
			answers: []answer{{200, stream, "retry: 10\n\nid: 1\nevent: job\ndata: a\n\nid: 2\nevent: job\ndata: b"}, {204, "", ""}},
			want:    []string{"1 job a"},
			lastIDs: []string{"", "1"},
		},
		{
			name:    "no route: poll",
			answers: []answer{{404, "application/json", `{"message":"404 Not Found"}`}},
			lastIDs: []string{""},
			err:     errNoStream,
		},
		{
			name:    "method not allowed: poll",
			answers: []answer{{405, "text/plain", "no"}},
			lastIDs: []string{""},
			err:     errNoStream,
		},
		{
			name:    "not a stream: poll",
			answers: []answer{{200, "text/html", "<html>"}},
			lastIDs: []string{""},
			err:     errNoStream,
		},
		{
			name:    "gone after the start",
			answers: []answer{{200, stream, "retry: 10\n\nid: 1\nevent: job\ndata: a\n\n"}, {404, "application/json", `{"message":"404 Pipeline Not Found"}`}},
			want:    []string{"1 job a"},
			lastIDs: []string{"", "1"},
			code:    ExitNotFound,
		},
		{
			name:    "refused",
			answers: []answer{{401, "application/json", `{"message":"401 Unauthorized"}`}},
			lastIDs: []string{""},
			code:    ExitAuth,
		},
		{
			name:    "server error retried",
			answers: []answer{{503, "text/plain", "busy"}, {200, stream, "id: 1\nevent: job\ndata: a\n\n"}, {204, "", ""}},
			want:    []string{"1 job a"},
			lastIDs: []string{"", "", "1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var lastIDs []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				i := len(lastIDs)
				lastIDs = append(lastIDs, r.Header.Get("Last-Event-ID"))
				mu.Unlock()
				if i >= len(tc.answers) {
					w.WriteHeader(http.StatusTeapot)
					return
				}
				a := tc.answers[i]
				if a.ctype != "" {
					w.Header().Set("Content-Type", a.ctype)
				}
				w.WriteHeader(a.status)
				fmt.Fprint(w, a.body)
			}))
			defer srv.Close()
			env := Env{}
			env.fill()
			es := &eventStream{c: newClient(&creds{base: srv.URL}, env), path: "/events", retry: 10 * time.Millisecond}
			var got []string
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := es.follow(ctx, func(ev sseEvent, idle bool) error {
				got = append(got, ev.ID+" "+ev.Event+" "+string(ev.Data))
				return nil
			}, func() bool { return tc.finished })
			switch {
			case tc.err != nil:
				if !errors.Is(err, tc.err) {
					t.Errorf("err %v, want %v", err, tc.err)
				}
			case tc.code != 0:
				if Code(err) != tc.code {
					t.Errorf("err %v (exit %d), want exit %d", err, Code(err), tc.code)
				}
			case err != nil:
				t.Errorf("err %v", err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("events %q, want %q", got, tc.want)
			}
			if strings.Join(lastIDs, ",") != strings.Join(tc.lastIDs, ",") {
				t.Errorf("Last-Event-IDs %q, want %q", lastIDs, tc.lastIDs)
			}
		})
	}
}

// TestStreamViewApply: job events build the jobs by stage, a retry's job
// replaces the older attempt, and the pipeline's status follows its events.
func TestStreamViewApply(t *testing.T) {
	st := &streamView{pl: pipelineJSON{ID: 9, Status: "created"}, jobs: map[int64]*jobJSON{}}
	for _, ev := range []sseEvent{
		{ID: "1", Event: "pipeline", Data: []byte(`{"pipeline":{"id":9,"status":"running"}}`)},
		{ID: "2", Event: "job", Data: []byte(`{"job":{"id":5,"name":"build","stage":"build","status":"failed"}}`)},
		{ID: "3", Event: "job", Data: []byte(`{"job":{"id":6,"name":"test","stage":"test","status":"created"}}`)},
		{ID: "4", Event: "job", Data: []byte(`{"job":{"id":7,"name":"build","stage":"build","status":"pending"}}`)},
		{ID: "5", Event: "artifact", Data: []byte(`{"job":{"id":7,"name":"build","stage":"build"},"artifact":{"id":1}}`)},
		{ID: "6", Event: "job", Data: []byte(`{"job":{"id":7,"name":"build","stage":"build","status":"success"}}`)},
	} {
		if err := st.apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	v := st.view()
	var got []string
	for _, s := range v.Stages {
		for _, j := range s.Jobs {
			got = append(got, fmt.Sprintf("%s:%s#%d=%s", s.Name, j.Name, j.ID, j.Status))
		}
	}
	// Stages in the order of their first job, as the jobs list shows them.
	if want := "test:test#6=created build:build#7=success"; strings.Join(got, " ") != want || v.Pipeline.Status != "running" {
		t.Errorf("view %q (pipeline %s), want %q (running)", got, v.Pipeline.Status, want)
	}
	if err := st.apply(sseEvent{ID: "7", Event: "job", Data: []byte(`{"job":`)}); err == nil {
		t.Error("a broken event was taken")
	}
}
