package runnerapi

import (
	"context"
	"strconv"
	"sync"
)

// VersionSource reads the job queue's version, the same on every replica
// (store.DB: a database sequence or counter that triggers move on).
type VersionSource interface {
	QueueVersion(ctx context.Context) (int64, error)
}

// Queue wakes long-polling job requests when the job queue may have
// changed. It holds no jobs (the database is the queue) and no version of
// its own: Version reads the database's, so a runner whose requests
// alternate between replicas echoes back a version every replica knows.
//
// Waking is local: messages on store.QueueChannel (any replica made jobs
// pending; Relay listens) end every Wait that started before. A woken
// request re-checks the database.
type Queue struct {
	src VersionSource

	mu      sync.Mutex
	gen     uint64 // counts wake-ups; Wait returns once it moved
	ch      chan struct{}
	closed  bool
	waiting int
}

// NewQueue returns a Queue reading its version from src.
func NewQueue(src VersionSource) *Queue {
	return &Queue{src: src, ch: make(chan struct{})}
}

// Waiting is how many requests are held in Wait right now.
func (q *Queue) Waiting() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

// Version is the current queue version, an opaque string runners echo back
// as last_update.
func (q *Queue) Version(ctx context.Context) (string, error) {
	v, err := q.src.QueueVersion(ctx)
	if err != nil {
		return "", err
	}
	return strconv.FormatInt(v, 10), nil
}

// Gen is the wake-up count to pass to Wait. Take it before checking the
// database, so that a wake-up after the check is never missed.
func (q *Queue) Gen() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.gen
}

// Notify wakes every waiter: jobs may have become pending. Where Relay
// runs it is not needed (the store tells QueueChannel of every job made
// pending); tests without a Relay use it as the scheduler's Notify hook.
func (q *Queue) Notify() { q.Wake() }

// Wake ends every Wait in progress; they re-check the database.
func (q *Queue) Wake() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.gen++
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

// Wait blocks until a wake-up after gen (true), or until the queue is
// closed or ctx ends (false).
func (q *Queue) Wait(ctx context.Context, gen uint64) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	if q.gen != gen {
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
