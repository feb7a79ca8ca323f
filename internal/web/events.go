package web

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/events"
)

// The live views follow event streams (package events) rather than
// polling: the pipeline page its pipeline's events, the job page its log,
// read again whenever the database says that the pipeline changed or the
// log grew. Both count against --max-event-streams(-per-client) and
// authorize the session again on every wake-up.

// pipelineEvents is GET /-/ui/pipelines/:id/events, the API's event stream
// with the session's principal.
func (s *Server) pipelineEvents(c *req, raw string) error {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return notFound()
	}
	pl, err := s.Store.PipelineByID(c.r.Context(), id)
	if err != nil {
		return hideMissing(err)
	}
	if err := s.requireView(c, pl.ProjectID); err != nil {
		return err
	}
	er, err := events.ReadRequest(c.r)
	if err != nil {
		return err
	}
	er.PipelineID, er.Clients, er.Recheck = pl.ID, streamClients(c), s.recheck(c, pl.ProjectID)
	return s.Events.Stream(c.w, c.r, er)
}

// traceEvents is GET /-/ui/jobs/:id/trace/events: the job's log as
// events "log" carrying what trace.json answers, each with
// "OFFSET.LINE" as id, so that a reconnection (Last-Event-ID, or offset=
// and line= at first) resumes where the page is. It ends once the job
// finished and its whole log was sent.
func (s *Server) traceEvents(c *req, raw string) error {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return notFound()
	}
	j, err := s.Store.JobByID(c.r.Context(), id)
	if err != nil {
		return hideMissing(err)
	}
	if err := s.requireView(c, j.ProjectID); err != nil {
		return err
	}
	f := &traceFeed{s: s, id: j.ID, line: 1}
	q := c.r.URL.Query()
	offset, line := q.Get("offset"), q.Get("line")
	if last := c.r.Header.Get("Last-Event-ID"); last != "" {
		offset, line, _ = strings.Cut(last, ".")
	}
	if offset != "" {
		if f.offset, err = strconv.ParseInt(offset, 10, 64); err != nil || f.offset < 0 {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - offset must be a number of bytes")
		}
	}
	if n, err := strconv.Atoi(line); err == nil && n >= 1 {
		f.line = n
	}
	return s.Events.Serve(c.w, c.r, events.Watch{PipelineID: j.PipelineID, Clients: streamClients(c),
		Recheck: s.recheck(c, j.ProjectID)}, f)
}

// traceFeed reads a job's log from where the page is.
type traceFeed struct {
	s      *Server
	id     int64
	offset int64
	line   int
	status ci.Status
	sent   bool
}

func (f *traceFeed) Next(ctx context.Context) ([]events.Item, bool, bool, error) {
	j, err := f.s.Store.JobByID(ctx, f.id)
	if err != nil {
		return nil, false, false, err
	}
	upd, full, err := f.s.readTraceUpdate(ctx, j, f.offset, f.line)
	if err != nil {
		return nil, false, false, err
	}
	if f.sent && len(upd.Lines) == 0 && upd.Offset == f.offset && j.Status == f.status && !upd.Finished {
		return nil, false, false, nil // woken by another job of the pipeline
	}
	f.offset, f.line, f.status, f.sent = upd.Offset, upd.NextLine, j.Status, true
	item := events.Item{ID: fmt.Sprintf("%d.%d", f.offset, f.line), Event: "log", Data: upd}
	return []events.Item{item}, upd.Finished, full, nil
}

// recheck authorizes the session again for a stream's wake-ups: a
// signed-out or expired session, or a lost membership, ends the stream.
func (s *Server) recheck(c *req, projectID int64) func(context.Context) error {
	return func(context.Context) error {
		_, p, err := s.sessionPrincipal(c.r)
		if err != nil {
			return err
		}
		again := *c
		again.p = p
		return s.requireView(&again, projectID)
	}
}

// streamClients are the keys a stream counts against
// --max-event-streams-per-client: the caller's IP and user.
func streamClients(c *req) []string {
	ip, _, err := net.SplitHostPort(c.r.RemoteAddr)
	if err != nil {
		ip = c.r.RemoteAddr
	}
	out := []string{"ip:" + ip}
	if c.p != nil && c.p.User != nil {
		out = append(out, "user:"+strconv.FormatInt(c.p.User.ID, 10))
	}
	return out
}
