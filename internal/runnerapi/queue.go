package runnerapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
)

// Queue wakes long-polling job requests when jobs become pending. It holds
// no jobs (the database is the queue); it only has a version that changes on
// every Notify, which runners echo back as last_update.
//
// Versions start with a random per-process prefix, so a version from another
// replica or from before a restart never matches: such a runner is answered
// at once instead of being held.
type Queue struct {
	// Publish, if set, is called by Notify so that other replicas can be
	// told (e.g. PostgreSQL NOTIFY); their listener calls Wake. Relay sets
	// it; set it before the queue is shared otherwise.
	Publish func()

	prefix  string
	mu      sync.Mutex
	n       uint64
	ch      chan struct{}
	closed  bool
	waiting int
}

// Waiting is how many requests are held in Wait right now.
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

// NewQueue returns a Queue with a fresh version.
func NewQueue() *Queue {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Queue{prefix: hex.EncodeToString(b), ch: make(chan struct{})}
}

// Version is the current queue version, an opaque string.
func (q *Queue) Version() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.version()
}

func (q *Queue) version() string { return q.prefix + "-" + strconv.FormatUint(q.n, 10) }

// Notify records that jobs became pending: it changes the version, wakes
// every waiter and calls Publish. Use it as the scheduler's Notify hook.
func (q *Queue) Notify() {
	q.Wake()
	q.mu.Lock()
	publish := q.Publish
	q.mu.Unlock()
	if publish != nil {
		publish()
	}
}

// Wake changes the version and wakes waiters without calling Publish; it is
// for notifications that came from another replica.
func (q *Queue) Wake() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.n++
	close(q.ch)
	q.ch = make(chan struct{})
}

// Close wakes every waiter for good: from now on Wait returns at once, so
// held job requests end quickly when the server shuts down.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.ch)
	}
}

// Wait blocks until the version differs from version, the queue is closed
// or ctx ends. It reports whether the version changed.
func (q *Queue) Wait(ctx context.Context, version string) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.version() != version {
		q.mu.Unlock()
		return true
	}
	ch := q.ch
	q.waiting++
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.waiting--
		q.mu.Unlock()
	}()
	select {
	case <-ch:
		q.mu.Lock()
		defer q.mu.Unlock()
		return !q.closed
	case <-ctx.Done():
		return false
	}
}

// Closed reports whether Close was called.
func (q *Queue) Closed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closed
}
