package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	ID, Event string
	Data      []byte
}

// Bounds of following an event stream.
const (
	// maxSSELine bounds one line of a stream (an event's data line).
	maxSSELine = 1 << 20
	// maxReconnects is how many reconnections in a row may fail before
	// following gives up.
	maxReconnects = 8
	// maxRetryDelay caps the delay between reconnections.
	maxRetryDelay = 30 * time.Second
)

// errNoStream says the server has no event stream for the pipeline route
// (404 or 405 on the first request: an older server): poll instead.
var errNoStream = errors.New("the server has no event stream")

// eventStream follows one Server-Sent Events route, resuming with
// Last-Event-ID after a dropped connection.
type eventStream struct {
	c    *client
	path string
	// lastID is the id of the last event received (sent as Last-Event-ID).
	lastID string
	// retry is the delay before reconnecting (the stream's retry: field,
	// else the poll interval).
	retry time.Duration
	// connects counts the requests made (the first one may fall back),
	// events the events received.
	connects, events int
}

// follow calls fn for each event in order, with idle true when no more of
// the stream is buffered (the event ends what the server sent so far). A
// connection ending cleanly while finished() is true, or a 204 answer,
// ends following with nil; any other end (a dropped connection, a server
// restart, the server's maximum stream duration) reconnects with
// Last-Event-ID after the retry delay. fn's error ends following. It
// returns errNoStream if the first request answers 404 or 405.
func (s *eventStream) follow(ctx context.Context, fn func(ev sseEvent, idle bool) error, finished func() bool) error {
	failures := 0
	for {
		delivered, retry, err := s.connect(ctx, fn)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return nil
		case !retry:
			return err
		case errors.Is(err, io.EOF) && finished():
			return nil
		}
		if delivered {
			failures = 0
		}
		failures++
		if failures > maxReconnects {
			return exitf(ExitServer, "following %s: %v", s.path, err)
		}
		delay := s.retry << (failures - 1)
		if delay > maxRetryDelay || delay <= 0 {
			delay = maxRetryDelay
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
	}
}

// connect makes one request and reads its events until the connection
// ends: nil for a 204 (nothing more will come), io.EOF for a clean end,
// else why it failed, and whether reconnecting may help (a transport
// failure, a clean end, 429 or 5xx). delivered says whether any event
// arrived.
func (s *eventStream) connect(ctx context.Context, fn func(ev sseEvent, idle bool) error) (delivered, retry bool, err error) {
	req, err := s.c.request(ctx, http.MethodGet, s.path, nil)
	if err != nil {
		return false, false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if s.lastID != "" {
		req.Header.Set("Last-Event-ID", s.lastID)
	}
	first := s.connects == 0
	s.connects++
	resp, err := s.c.env.HTTP.Do(req)
	if err != nil {
		return false, true, exitf(ExitServer, "GET %s: %v", redact(req.URL), err)
	}
	defer resp.Body.Close()
	if first && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
		return false, false, errNoStream
	}
	if resp.StatusCode >= 400 {
		code := resp.StatusCode
		return false, code == http.StatusTooManyRequests || code >= 500, statusError(req, resp)
	}
	if resp.StatusCode == http.StatusNoContent {
		return false, false, nil
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		if first {
			return false, false, errNoStream
		}
		return false, false, exitf(ExitServer, "GET %s: answered %q, not an event stream", redact(req.URL), mt)
	}
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	// id is the id field of the event being read: it becomes lastID when
	// the event is complete, so a cut event is asked for again.
	id := s.lastID
	var ev sseEvent
	var data bytes.Buffer
	hasData := false
	for {
		line, err := readLine(br)
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				return delivered, false, exitf(ExitServer, "GET %s: %v", redact(req.URL), err)
			}
			return delivered, true, err
		}
		if len(line) == 0 { // dispatch
			s.lastID = id
			if hasData {
				ev.ID = id
				ev.Data = bytes.Clone(data.Bytes())
				s.events++
				if err := fn(ev, br.Buffered() == 0); err != nil {
					return delivered, false, err
				}
				delivered = true
			}
			ev, hasData = sseEvent{}, false
			data.Reset()
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				id = string(value)
			}
		case "event":
			ev.Event = string(value)
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.Write(value)
			hasData = true
		case "retry":
			if ms, err := strconv.Atoi(string(value)); err == nil && ms >= 0 {
				s.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
}

var errLineTooLong = fmt.Errorf("an event stream line is longer than %d bytes", maxSSELine)

// readLine reads one line without its end (\n or \r\n), bounded by
// maxSSELine.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > maxSSELine {
			return nil, errLineTooLong
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && len(line) > 0 {
				return nil, io.ErrUnexpectedEOF // a cut event is no event
			}
			return nil, err
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
		return line, nil
	}
}
