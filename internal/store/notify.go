package store

import (
	"context"
	"sync"
)

// Notifier carries short wake-up messages between the processes sharing a
// database (PostgreSQL LISTEN/NOTIFY). Messages are hints: they may be lost
// or repeated, and the database stays the source of truth.
type Notifier interface {
	Notify(ctx context.Context, channel, payload string) error
	// Listen delivers the channel's payloads until ctx ends, then closes
	// the returned channel. An empty payload means "messages may have been
	// missed" (the listener connected or reconnected): listeners re-check
	// everything they wait for. It is delivered after every successful
	// (re)connection, the first one included.
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// Notify wakes the listeners of channel, across processes on PostgreSQL and
// within this process on SQLite.
func (db *DB) Notify(ctx context.Context, channel, payload string) error {
	if db.engine.Notifier != nil {
		return db.engine.Notifier.Notify(ctx, channel, payload)
	}
	return db.local.Notify(ctx, channel, payload)
}

// Listen delivers payloads sent to channel until ctx ends. A slow reader
// does not block senders: on SQLite, what overflows its buffer becomes an
// empty payload (re-check everything), never a silent loss.
func (db *DB) Listen(ctx context.Context, channel string) (<-chan string, error) {
	if db.engine.Notifier != nil {
		return db.engine.Notifier.Listen(ctx, channel)
	}
	return db.local.Listen(ctx, channel)
}

// localNotifier fans messages out within one process.
type localNotifier struct {
	mu   sync.Mutex
	subs map[string]map[chan string]struct{}
}

func newLocalNotifier() *localNotifier {
	return &localNotifier{subs: map[string]map[chan string]struct{}{}}
}

func (n *localNotifier) Notify(_ context.Context, channel, payload string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.subs[channel] {
		select {
		case c <- payload:
		default:
			// A slow reader's buffer is full: rather than losing this
			// message unseen, replace the oldest with "" (re-check
			// everything), which covers both.
			select {
			case <-c:
			default:
			}
			select {
			case c <- "":
			default:
			}
		}
	}
	return nil
}

func (n *localNotifier) Listen(ctx context.Context, channel string) (<-chan string, error) {
	c := make(chan string, 16)
	c <- "" // connected: re-check
	n.mu.Lock()
	if n.subs[channel] == nil {
		n.subs[channel] = map[chan string]struct{}{}
	}
	n.subs[channel][c] = struct{}{}
	n.mu.Unlock()
	go func() {
		<-ctx.Done()
		n.mu.Lock()
		delete(n.subs[channel], c)
		n.mu.Unlock()
		close(c)
	}()
	return c, nil
}
