package events

import (
	"context"
	"fmt"
	"strconv"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/wake"
)

// Default limits on open streams.
const (
	DefaultMaxStreams          = 10000
	DefaultMaxStreamsPerClient = 20
)

// retryAfter is what a refused subscriber is told to wait before trying
// again, in seconds.
const retryAfter = 10

// Channel is the notification channel on which the database announces new
// events, the payload a pipeline's id (PostgreSQL: the triggers of
// migration 0016, at commit; SQLite: the store, after its writes).
const Channel = "baton_pipeline_events"

// Notifier carries wake-up messages between replicas sharing a database
// (store.DB: PostgreSQL LISTEN/NOTIFY, or in-process on SQLite).
type Notifier interface {
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// LimitError is a refusal to open one more stream: KindTooMany, with the
// seconds to wait before retrying.
type LimitError struct{ err *ci.Error }

func (e *LimitError) Error() string { return e.err.Error() }
func (e *LimitError) Unwrap() error { return e.err }

// RetryAfter is the Retry-After to answer with, in seconds.
func (e *LimitError) RetryAfter() int { return retryAfter }

type sub = wake.Waiter[int64]

// Hub holds a process's open streams: the database's notifications, through
// Relay, wake the streams of their pipeline. It bounds how many streams are
// open, in all and per client.
type Hub struct {
	max, maxPerClient int
	set               *wake.Set[int64]
}

// NewHub returns a Hub holding at most max streams, maxPerClient per client
// key (0 means the defaults, negative no limit).
func NewHub(max, maxPerClient int) *Hub {
	if max == 0 {
		max = DefaultMaxStreams
	}
	if maxPerClient == 0 {
		maxPerClient = DefaultMaxStreamsPerClient
	}
	return &Hub{max: max, maxPerClient: maxPerClient, set: wake.New[int64](max, maxPerClient)}
}

// Len is the number of streams open.
func (h *Hub) Len() int { return h.set.Len() }

func (h *Hub) add(pipeline int64, clients []string) (*sub, error) {
	s, err := h.set.Add(pipeline, clients)
	switch err {
	case wake.ErrFull:
		return nil, &LimitError{ci.Errorf(ci.KindTooMany,
			"429 Too Many Requests - the server already holds %d event streams (--max-event-streams); retry later", h.max)}
	case wake.ErrClientFull:
		return nil, &LimitError{ci.Errorf(ci.KindTooMany,
			"429 Too Many Requests - this client already has %d event streams open (--max-event-streams-per-client); close one or retry later", h.maxPerClient)}
	}
	return s, err
}

func (h *Hub) remove(s *sub) { h.set.Remove(s) }

// Wake wakes the streams of a pipeline: it may have new events.
func (h *Hub) Wake(pipeline int64) { h.set.Wake(pipeline) }

// Relay is the process's one listener of Channel: until ctx ends, each
// message wakes the streams of its pipeline, and every (re)connection of
// the listener wakes all streams, since messages may have been missed
// meanwhile. It returns nil when ctx ends, an error when listening fails
// (run it again to reconnect).
func (h *Hub) Relay(ctx context.Context, n Notifier) error {
	msgs, err := n.Listen(ctx, Channel)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", Channel, err)
	}
	return wake.Relay(ctx, Channel, msgs, h.set.WakeAll, func(m string) {
		if id, err := strconv.ParseInt(m, 10, 64); err == nil {
			h.Wake(id)
		}
	})
}
