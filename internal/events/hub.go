package events

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/batonci/baton/internal/ci"
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

type sub struct {
	ch       chan struct{} // buffered 1: a wake-up is never lost, never blocks
	pipeline int64
	clients  []string
}

// Hub holds a process's open streams: the database's notifications, through
// Relay, wake the streams of their pipeline. It bounds how many streams are
// open, in all and per client.
type Hub struct {
	max, maxPerClient int

	mu         sync.Mutex
	byPipeline map[int64]map[*sub]struct{}
	n          int
	per        map[string]int
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
	return &Hub{max: max, maxPerClient: maxPerClient, byPipeline: map[int64]map[*sub]struct{}{}, per: map[string]int{}}
}

// Len is the number of streams open.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func (h *Hub) add(pipeline int64, clients []string) (*sub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.max > 0 && h.n >= h.max {
		return nil, &LimitError{ci.Errorf(ci.KindTooMany,
			"429 Too Many Requests - the server already holds %d event streams (--max-event-streams); retry later", h.max)}
	}
	if h.maxPerClient > 0 {
		for _, c := range clients {
			if h.per[c] >= h.maxPerClient {
				return nil, &LimitError{ci.Errorf(ci.KindTooMany,
					"429 Too Many Requests - this client already has %d event streams open (--max-event-streams-per-client); close one or retry later", h.maxPerClient)}
			}
		}
	}
	s := &sub{ch: make(chan struct{}, 1), pipeline: pipeline, clients: clients}
	if h.byPipeline[pipeline] == nil {
		h.byPipeline[pipeline] = map[*sub]struct{}{}
	}
	h.byPipeline[pipeline][s] = struct{}{}
	h.n++
	for _, c := range clients {
		h.per[c]++
	}
	return s, nil
}

func (h *Hub) remove(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.byPipeline[s.pipeline], s)
	if len(h.byPipeline[s.pipeline]) == 0 {
		delete(h.byPipeline, s.pipeline)
	}
	h.n--
	for _, c := range s.clients {
		if h.per[c]--; h.per[c] <= 0 {
			delete(h.per, c)
		}
	}
}

func poke(s *sub) {
	select {
	case s.ch <- struct{}{}:
	default:
	}
}

// Wake wakes the streams of a pipeline: it may have new events.
func (h *Hub) Wake(pipeline int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.byPipeline[pipeline] {
		poke(s)
	}
}

func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ss := range h.byPipeline {
		for s := range ss {
			poke(s)
		}
	}
}

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
	h.wakeAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("listening on %s: channel closed", Channel)
			}
			if m == "" {
				h.wakeAll()
				continue
			}
			if id, err := strconv.ParseInt(m, 10, 64); err == nil {
				h.Wake(id)
			}
		}
	}
}
