package events_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/events"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storeopen"
	"github.com/batonci/baton/internal/store/storetest"
	"github.com/batonci/baton/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sse is one received event.
type sse struct {
	id    int64
	event string
	data  events.Event
}

// stream reads a text/event-stream body, sending each event on out, and
// closes out at the end of the body.
func stream(t *testing.T, body io.Reader, out chan<- sse) {
	defer close(out)
	sc := bufio.NewScanner(body)
	var cur sse
	var has bool
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if has {
				out <- cur
			}
			cur, has = sse{}, false
		case strings.HasPrefix(line, ":"), strings.HasPrefix(line, "retry: "):
		case strings.HasPrefix(line, "id: "):
			cur.id, _ = strconv.ParseInt(line[4:], 10, 64)
			has = true
		case strings.HasPrefix(line, "event: "):
			cur.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			if err := json.Unmarshal([]byte(line[6:]), &cur.data); err != nil {
				t.Errorf("data %q: %v", line, err)
			}
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
}

// server serves the events of the pipeline named by ?pipeline= from svc.
func server(t *testing.T, svc *events.Service) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := events.ReadRequest(r)
		if err == nil {
			req.PipelineID, _ = strconv.ParseInt(r.URL.Query().Get("pipeline"), 10, 64)
			req.Clients = []string{"ip:test"}
			err = svc.Stream(w, r, req)
		}
		if err != nil {
			httpx.WriteError(w, r, slog.Default(), err)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func open(t *testing.T, srv *httptest.Server, pipeline int64, query string, lastID string) (*http.Response, <-chan sse) {
	t.Helper()
	req, err := http.NewRequest("GET", fmt.Sprintf("%s/?pipeline=%d&%s", srv.URL, pipeline, query), nil)
	must(t, err)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	out := make(chan sse, 100)
	if resp.StatusCode == http.StatusOK {
		go stream(t, resp.Body, out)
	} else {
		close(out)
	}
	return resp, out
}

// next returns the next event, failing if the stream ends or stays silent.
func next(t *testing.T, c <-chan sse) sse {
	t.Helper()
	select {
	case e, ok := <-c:
		if !ok {
			t.Fatal("stream ended")
		}
		return e
	case <-time.After(20 * time.Second):
		t.Fatal("no event in 20s")
	}
	panic("unreachable")
}

func ended(t *testing.T, c <-chan sse) {
	t.Helper()
	select {
	case e, ok := <-c:
		if ok {
			t.Fatalf("event %d %s after the end", e.id, e.event)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("stream still open 20s after the pipeline finished")
	}
}

// run drives a pipeline of one job through a whole run on db, step by step
// as step is called: assigned, archive stored, job success, pipeline
// success.
func run(t *testing.T, db *store.DB, p *ci.Pipeline) []func() {
	ctx := context.Background()
	r := &ci.Runner{RunnerType: ci.RunnerInstance, RunUntagged: true, TokenHash: fmt.Sprint("r", p.ID)}
	must(t, db.CreateRunner(ctx, r))
	var j *ci.Job
	return []func(){
		func() {
			var err error
			j, err = db.AssignNextJob(ctx, r, fmt.Sprint("tok", p.ID), time.Now())
			must(t, err)
			p.Status = ci.StatusRunning
			must(t, db.UpdatePipeline(ctx, p))
		},
		func() {
			must(t, db.CreateArtifact(ctx, &ci.Artifact{JobID: j.ID, FileType: "archive", FileFormat: "zip",
				Filename: "artifacts.zip", Size: 42, SHA256: "ab12", BlobKey: "k"}))
		},
		func() {
			j.Status = ci.StatusSuccess
			must(t, db.UpdateJob(ctx, j, ci.StatusRunning))
		},
		func() {
			p.Status = ci.StatusSuccess
			must(t, db.UpdatePipeline(ctx, p))
		},
	}
}

// TestStream follows a pipeline's run: each change reaches the open
// stream as it is made (no polling: the hub's wake-ups deliver them), every
// event once and in order, and the stream ends after the pipeline
// finished; resuming with Last-Event-ID or after= sends exactly the rest,
// and resuming after the end is 204.
func TestStream(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		hub := events.NewHub(0, 0)
		go func() { _ = hub.Relay(ctx, db) }()
		srv := server(t, &events.Service{Store: db, Hub: hub})
		g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
		proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
		p, _ := storetest.MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})

		resp, c := open(t, srv, p.ID, "", "")
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
			t.Fatalf("status %d, Content-Type %q", resp.StatusCode, ct)
		}
		var got []sse
		// The pipeline's creation and its job's.
		got = append(got, next(t, c), next(t, c))
		for _, step := range run(t, db, p) {
			before := len(got)
			step()
			stored, err := db.PipelineEvents(ctx, p.ID, int64(before), 0)
			must(t, err)
			if len(stored) == 0 {
				t.Fatalf("step %d recorded no event", before)
			}
			for range stored {
				got = append(got, next(t, c))
			}
		}
		ended(t, c)
		all, err := db.PipelineEvents(ctx, p.ID, 0, 0)
		must(t, err)
		if len(got) != len(all) {
			t.Fatalf("received %d events, %d recorded", len(got), len(all))
		}
		for i, e := range got {
			want := events.Data(all[i])
			if e.id != all[i].Seq || e.event != all[i].Kind || e.data.ID != want.ID || e.data.ObjectKind != want.ObjectKind {
				t.Errorf("event %d: id %d event %s data %+v, want %d %s %+v", i, e.id, e.event, e.data, all[i].Seq, all[i].Kind, want)
			}
		}
		last := got[len(got)-1]
		if last.event != "pipeline" || last.data.Pipeline == nil || last.data.Pipeline.Status != "success" ||
			*last.data.Pipeline.PreviousStatus != "running" {
			t.Errorf("last event %+v, want the pipeline's success", last.data)
		}
		var art *events.Event
		for _, e := range got {
			if e.event == "artifact" {
				art = &e.data
			}
		}
		if art == nil || art.Artifact.Size != 42 || *art.Artifact.SHA256 != "ab12" || art.Artifact.FileType != "archive" ||
			art.Job.Name != "build" {
			t.Errorf("artifact event %+v", art)
		}

		for _, resume := range []struct{ query, header string }{{"", "3"}, {"after=3", ""}, {"after=1", "3"}} {
			_, c := open(t, srv, p.ID, resume.query, resume.header)
			for _, want := range all[3:] {
				if e := next(t, c); e.id != want.Seq {
					t.Fatalf("resumed %+v: event %d, want %d", resume, e.id, want.Seq)
				}
			}
			ended(t, c)
		}
		resp, _ = open(t, srv, p.ID, "", strconv.FormatInt(all[len(all)-1].Seq, 10))
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("resuming after the last event of a finished pipeline: %d, want 204", resp.StatusCode)
		}
		resp, _ = open(t, srv, p.ID, "after=x", "")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("after=x: %d, want 400", resp.StatusCode)
		}
	})
}

// TestStreamFollow keeps the stream open after the pipeline finished when
// asked, and sends keep-alive comments while nothing happens.
func TestStreamFollow(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := events.NewHub(0, 0)
	go func() { _ = hub.Relay(ctx, db) }()
	srv := server(t, &events.Service{Store: db, Hub: hub, KeepAlive: 50 * time.Millisecond})
	g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
	proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
	p, _ := storetest.MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
	for _, step := range run(t, db, p) {
		step()
	}
	all, err := db.PipelineEvents(ctx, p.ID, 0, 0)
	must(t, err)
	last := all[len(all)-1].Seq
	resp, err := http.Get(fmt.Sprintf("%s/?pipeline=%d&follow=true&after=%d", srv.URL, p.ID, last))
	must(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	comments := 0
	for comments < 2 {
		line, err := br.ReadString('\n')
		must(t, err)
		if strings.HasPrefix(line, "id:") {
			t.Fatalf("event after the last one: %q", line)
		}
		if strings.HasPrefix(line, ": keep-alive") {
			comments++
		}
	}
	// A retry of the finished pipeline reaches the following stream.
	p.Status = ci.StatusRunning
	must(t, db.UpdatePipeline(ctx, p))
	for {
		line, err := br.ReadString('\n')
		must(t, err)
		if strings.HasPrefix(line, "id: ") {
			if want := fmt.Sprintf("id: %d\n", last+1); line != want {
				t.Fatalf("got %q, want %q", line, want)
			}
			break
		}
	}
}

// TestStreamReplicas opens the stream on one replica and makes every
// change through another sharing the PostgreSQL database: the stream
// hears of them through LISTEN/NOTIFY and delivers the same sequence.
func TestStreamReplicas(t *testing.T) {
	url := testpg.URL(t)
	openDB := func() *store.DB {
		db, err := storeopen.Open(context.Background(), url)
		must(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := openDB(), openDB()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := events.NewHub(0, 0)
	go func() { _ = hub.Relay(ctx, a) }()
	srv := server(t, &events.Service{Store: a, Hub: hub})
	g := storetest.MustGroup(t, b, 0, ci.VisibilityPrivate)
	proj := storetest.MustProject(t, b, g.ID, ci.VisibilityPrivate)
	p, _ := storetest.MustPipeline(t, b, proj.ID, "main", map[string][]string{"build": nil})
	_, c := open(t, srv, p.ID, "", "")
	n := 0
	for range 2 {
		if e := next(t, c); e.id != int64(n+1) {
			t.Fatalf("event %d, want %d", e.id, n+1)
		}
		n++
	}
	for _, step := range run(t, b, p) {
		step()
		stored, err := b.PipelineEvents(ctx, p.ID, int64(n), 0)
		must(t, err)
		for range stored {
			if e := next(t, c); e.id != int64(n+1) {
				t.Fatalf("event %d, want %d", e.id, n+1)
			}
			n++
		}
	}
	ended(t, c)
}

// TestStreamLimits refuses streams beyond the hub's limits with 429 and a
// Retry-After, and frees the place when a stream ends.
func TestStreamLimits(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, tc := range []struct {
		name              string
		max, maxPerClient int
	}{{"in all", 1, 5}, {"per client", 5, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			hub := events.NewHub(tc.max, tc.maxPerClient)
			go func() { _ = hub.Relay(ctx, db) }()
			srv := server(t, &events.Service{Store: db, Hub: hub})
			g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
			proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
			p, _ := storetest.MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
			first, c := open(t, srv, p.ID, "", "")
			next(t, c)
			resp, _ := open(t, srv, p.ID, "", "")
			if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("second stream: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			first.Body.Close()
			for i := 0; hub.Len() > 0; i++ {
				if i > 2000 {
					t.Fatal("the closed stream is still counted")
				}
				time.Sleep(5 * time.Millisecond)
			}
			resp, _ = open(t, srv, p.ID, "", "")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("after the first closed: %d", resp.StatusCode)
			}
		})
	}
}

// TestChannel: the hub listens where the store announces.
func TestChannel(t *testing.T) {
	if events.Channel != store.PipelineEventsChannel {
		t.Fatalf("events.Channel %q, store.PipelineEventsChannel %q", events.Channel, store.PipelineEventsChannel)
	}
}

// TestStreamRecheck ends a stream whose caller is no longer authorized at
// the next wake-up, before anything more is sent.
func TestStreamRecheck(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := events.NewHub(0, 0)
	go func() { _ = hub.Relay(ctx, db) }()
	var revoked atomic.Bool
	svc := &events.Service{Store: db, Hub: hub, RecheckEvery: -1}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := events.ReadRequest(r)
		req.PipelineID, _ = strconv.ParseInt(r.URL.Query().Get("pipeline"), 10, 64)
		req.Recheck = func(context.Context) error {
			if revoked.Load() {
				return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
			}
			return nil
		}
		if err := svc.Stream(w, r, req); err != nil {
			httpx.WriteError(w, r, slog.Default(), err)
		}
	}))
	defer srv.Close()
	g := storetest.MustGroup(t, db, 0, ci.VisibilityPrivate)
	proj := storetest.MustProject(t, db, g.ID, ci.VisibilityPrivate)
	p, _ := storetest.MustPipeline(t, db, proj.ID, "main", map[string][]string{"build": nil})
	_, c := open(t, srv, p.ID, "", "")
	next(t, c)
	next(t, c)
	steps := run(t, db, p)
	steps[0]() // still authorized: delivered
	next(t, c)
	next(t, c)
	revoked.Store(true)
	steps[1]()
	ended(t, c)
}
