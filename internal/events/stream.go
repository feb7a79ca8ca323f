// Package events streams a pipeline's recorded events (job and pipeline
// status changes, stored artifacts) as Server-Sent Events. The database
// records them in the transaction making each change (store, migration
// 0016) and announces them on Channel; a Hub wakes the open streams of the
// pipeline, on every replica, so a stream costs nothing while nothing
// happens. The API and the web UI serve the same streams.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Store is what streams read.
type Store interface {
	// PipelineEvents returns up to limit events of the pipeline after seq
	// after, in order.
	PipelineEvents(ctx context.Context, pipelineID, after int64, limit int) ([]*ci.PipelineEvent, error)
	PipelineByID(ctx context.Context, id int64) (*ci.Pipeline, error)
}

// Defaults of a Service.
const (
	DefaultKeepAlive   = 15 * time.Second
	DefaultMaxDuration = 30 * time.Minute
	// batch is how many events one read fetches.
	batch = 500
	// writeGrace is how long one write to a client may take.
	writeGrace = 30 * time.Second
	// reconnect is the retry delay (ms) the stream asks EventSource for.
	reconnect = 2000
	// DefaultRecheckEvery is how often at most a busy stream authorizes
	// its caller again (on a wake-up, never by a timer).
	DefaultRecheckEvery = time.Second
)

// Service serves event streams.
type Service struct {
	Store Store
	Hub   *Hub
	// KeepAlive is the idle time after which a comment line is sent, so
	// that proxies and clients see a live connection.
	KeepAlive time.Duration
	// MaxDuration ends a stream (the client reconnects with Last-Event-ID
	// and is authorized again).
	MaxDuration time.Duration
	// RecheckEvery is how often at most a stream's caller is authorized
	// again, on wake-ups (0: DefaultRecheckEvery; negative: on every one).
	RecheckEvery time.Duration
	Logger       *slog.Logger
}

// Request is one stream to serve.
type Request struct {
	PipelineID int64
	// After is the last event the client has (Last-Event-ID or after=):
	// the stream starts with the next one.
	After int64
	// Follow keeps the stream open after the pipeline finished, for the
	// events of a retry.
	Follow bool
	// Clients are the keys the per-client limit counts the stream against.
	Clients []string
	// Recheck runs on every wake-up before events are read: the surface
	// authorizes the caller again. Its error ends the stream.
	Recheck func(ctx context.Context) error
}

// ReadRequest reads where a stream resumes (the Last-Event-ID header, else
// the after parameter; 0 from the start) and follow.
func ReadRequest(r *http.Request) (Request, error) {
	var req Request
	raw, from := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if raw == "" {
		raw, from = r.URL.Query().Get("after"), "after"
	}
	if raw != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || n < 0 {
			return req, ci.Errorf(ci.KindInvalid, "400 Bad request - %s must be an event id (a number from 0)", from)
		}
		req.After = n
	}
	if raw := r.URL.Query().Get("follow"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return req, ci.Errorf(ci.KindInvalid, "400 Bad request - follow must be true or false")
		}
		req.Follow = b
	}
	return req, nil
}

// Item is one Server-Sent Event: its id, its event name and its data,
// sent as JSON.
type Item struct {
	ID    string
	Event string
	Data  any
}

// Feed reads what a stream sends next.
type Feed interface {
	// Next returns the items that are new since the last call. done says
	// that nothing will follow them; more that more are ready now (the
	// read was cut short), so Next is called again without waiting.
	Next(ctx context.Context) (items []Item, done, more bool, err error)
}

// Watch is one stream to serve from a Feed: whose wake-ups it hears and
// counts against, and how the caller is authorized again.
type Watch struct {
	// PipelineID is the pipeline whose notifications wake the stream.
	PipelineID int64
	// Clients are the keys the per-client limit counts the stream against.
	Clients []string
	// Recheck runs on wake-ups (at most every RecheckEvery) before the
	// feed is read again: the surface authorizes the caller again. Its
	// error ends the stream.
	Recheck func(ctx context.Context) error
}

// Stream answers r with the pipeline's events after req.After as
// text/event-stream: each event once, in order, with its seq as id. It
// ends after the pipeline finished and every event up to then was sent
// (unless req.Follow), when the pipeline is deleted, after MaxDuration, or
// when the client goes. A client resuming after the last event of a
// finished pipeline is answered 204, which tells EventSource to stop.
// Errors before the stream starts (limits, the first read) are returned;
// later ones end the stream.
func (s *Service) Stream(w http.ResponseWriter, r *http.Request, req Request) error {
	return s.Serve(w, r, Watch{PipelineID: req.PipelineID, Clients: req.Clients, Recheck: req.Recheck},
		&pipelineFeed{store: s.Store, id: req.PipelineID, after: req.After, follow: req.Follow})
}

// Serve answers r with feed's items as text/event-stream, reading the feed
// again whenever the watched pipeline's notifications (or the listener's
// reconnection) wake the stream: it costs nothing while nothing happens
// but a comment line every KeepAlive. It ends when the feed is done, after
// MaxDuration, when a recheck or read fails, or when the client goes. A
// feed done with nothing to send is answered 204 (EventSource then stops
// reconnecting). Errors before the stream starts (limits, the first read)
// are returned; later ones end the stream.
func (s *Service) Serve(w http.ResponseWriter, r *http.Request, watch Watch, feed Feed) error {
	ctx := r.Context()
	sb, err := s.Hub.add(watch.PipelineID, watch.Clients)
	if err != nil {
		return err
	}
	defer s.Hub.remove(sb)
	// Subscribed first, read second: a change committed between the two
	// wakes sb, so none is missed.
	items, done, more, err := feed.Next(ctx)
	if err != nil {
		return err
	}
	if len(items) == 0 && done {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	keepAlive, maxDur := s.KeepAlive, s.MaxDuration
	if keepAlive <= 0 {
		keepAlive = DefaultKeepAlive
	}
	if maxDur <= 0 {
		maxDur = DefaultMaxDuration
	}
	end := time.Now().Add(maxDur)
	rc := http.NewResponseController(w)
	// An expired read deadline would end the request's context.
	_ = rc.SetReadDeadline(end.Add(time.Minute))
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "retry: %d\n\n", reconnect)
	flush := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeGrace))
		_, err := w.Write(buf.Bytes())
		buf.Reset()
		return err == nil && rc.Flush() == nil
	}
	timeout := time.NewTimer(maxDur)
	defer timeout.Stop()
	idle := time.NewTimer(keepAlive)
	defer idle.Stop()
	recheckEvery := s.RecheckEvery
	if recheckEvery == 0 {
		recheckEvery = DefaultRecheckEvery
	}
	checked := time.Now() // the surface authorized the request
	for {
		for _, it := range items {
			b, err := json.Marshal(it.Data)
			if err != nil {
				s.log().ErrorContext(ctx, "encoding event", "pipeline", watch.PipelineID, "id", it.ID, "err", err)
				return nil
			}
			fmt.Fprintf(&buf, "id: %s\nevent: %s\ndata: %s\n\n", it.ID, it.Event, b)
		}
		if !flush() || done {
			return nil
		}
		if !more {
			idle.Reset(keepAlive)
		wait:
			for {
				select {
				case <-sb.C:
					break wait
				case <-idle.C:
					buf.WriteString(": keep-alive\n\n")
					if !flush() {
						return nil
					}
					idle.Reset(keepAlive)
				case <-timeout.C:
					return nil
				case <-ctx.Done():
					return nil
				}
			}
			if watch.Recheck != nil && time.Since(checked) >= recheckEvery {
				if err := watch.Recheck(ctx); err != nil {
					return nil
				}
				checked = time.Now()
			}
		}
		items, done, more, err = feed.Next(ctx)
		if err != nil {
			if !ci.IsNotFound(err) && ctx.Err() == nil {
				s.log().ErrorContext(ctx, "reading events", "pipeline", watch.PipelineID, "err", err)
			}
			return nil
		}
	}
}

// pipelineFeed reads a pipeline's recorded events.
type pipelineFeed struct {
	store  Store
	id     int64
	after  int64
	follow bool
}

// Next reads the pipeline first and its events after it: if the pipeline
// was finished, every event up to its finishing is among those or already
// sent, and the stream is done (unless following).
func (f *pipelineFeed) Next(ctx context.Context) ([]Item, bool, bool, error) {
	pl, err := f.store.PipelineByID(ctx, f.id)
	if err != nil {
		return nil, false, false, err
	}
	evs, err := f.store.PipelineEvents(ctx, f.id, f.after, batch)
	if err != nil {
		return nil, false, false, err
	}
	items := make([]Item, len(evs))
	for i, e := range evs {
		items[i] = Item{ID: strconv.FormatInt(e.Seq, 10), Event: e.Kind, Data: Data(e)}
		f.after = e.Seq
	}
	more := len(evs) == batch
	return items, !more && pl.Status.Finished() && !f.follow, more, nil
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
