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
	Logger      *slog.Logger
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

// Stream answers r with the pipeline's events after req.After as
// text/event-stream: each event once, in order, with its seq as id. It
// ends after the pipeline finished and every event up to then was sent
// (unless req.Follow), when the pipeline is deleted, after MaxDuration, or
// when the client goes. A client resuming after the last event of a
// finished pipeline is answered 204, which tells EventSource to stop.
// Errors before the stream starts (limits, the first read) are returned;
// later ones end the stream.
func (s *Service) Stream(w http.ResponseWriter, r *http.Request, req Request) error {
	ctx := r.Context()
	sb, err := s.Hub.add(req.PipelineID, req.Clients)
	if err != nil {
		return err
	}
	defer s.Hub.remove(sb)
	// Subscribed first, read second: an event committed between the two
	// wakes sb, so none is missed.
	pl, evs, err := s.read(ctx, req.PipelineID, req.After)
	if err != nil {
		return err
	}
	if len(evs) == 0 && pl.Status.Finished() && !req.Follow {
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
	after := req.After
	for {
		for _, e := range evs {
			if err := encode(&buf, e); err != nil {
				s.log().ErrorContext(ctx, "encoding event", "pipeline", e.PipelineID, "seq", e.Seq, "err", err)
				return nil
			}
			after = e.Seq
		}
		if !flush() {
			return nil
		}
		if len(evs) < batch && pl.Status.Finished() && !req.Follow {
			return nil
		}
		if len(evs) < batch {
			idle.Reset(keepAlive)
		wait:
			for {
				select {
				case <-sb.ch:
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
			if req.Recheck != nil {
				if err := req.Recheck(ctx); err != nil {
					return nil
				}
			}
		}
		pl, evs, err = s.read(ctx, req.PipelineID, after)
		if err != nil {
			if !ci.IsNotFound(err) && ctx.Err() == nil {
				s.log().ErrorContext(ctx, "reading events", "pipeline", req.PipelineID, "err", err)
			}
			return nil
		}
	}
}

// read returns the pipeline, read first, and its events after after: if
// the pipeline was finished, every event up to its finishing is among
// those or before after.
func (s *Service) read(ctx context.Context, pipelineID, after int64) (*ci.Pipeline, []*ci.PipelineEvent, error) {
	pl, err := s.Store.PipelineByID(ctx, pipelineID)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.Store.PipelineEvents(ctx, pipelineID, after, batch)
	if err != nil {
		return nil, nil, err
	}
	return pl, evs, nil
}

func (s *Service) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// encode writes e as one Server-Sent Event: its seq as id, its kind as
// event, its JSON (Data) as data.
func encode(buf *bytes.Buffer, e *ci.PipelineEvent) error {
	b, err := json.Marshal(Data(e))
	if err != nil {
		return err
	}
	fmt.Fprintf(buf, "id: %d\nevent: %s\ndata: %s\n\n", e.Seq, e.Kind, b)
	return nil
}
