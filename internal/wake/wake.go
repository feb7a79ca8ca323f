// Package wake holds a process's waiters, each waiting on a key: waking a
// key wakes its waiters. It bounds how many are held, in all and per client
// key. It is the common core of artifacts.Hub and events.Hub, and its
// Relay also wakes runnerapi.Queue.
package wake

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Refusals of Add.
var (
	ErrFull       = errors.New("wake: too many waiters")
	ErrClientFull = errors.New("wake: too many waiters of this client")
)

// Waiter is one held wait: C receives when its key is woken.
type Waiter[K comparable] struct {
	C       chan struct{} // buffered 1: a wake-up is never lost, never blocks
	key     K
	clients []string
}

// Key is the key w waits on.
func (w *Waiter[K]) Key() K { return w.key }

// Set holds waiters by key.
type Set[K comparable] struct {
	max, maxPerClient int

	mu    sync.Mutex
	byKey map[K]map[*Waiter[K]]struct{}
	n     int
	per   map[string]int
}

// New returns a Set holding at most max waiters, maxPerClient per client key
// (0 or negative: no limit).
func New[K comparable](max, maxPerClient int) *Set[K] {
	return &Set[K]{max: max, maxPerClient: maxPerClient,
		byKey: map[K]map[*Waiter[K]]struct{}{}, per: map[string]int{}}
}

// Len is the number of waiters held.
func (s *Set[K]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Add holds a waiter on k counted against each of clients, or refuses with
// ErrFull or ErrClientFull.
func (s *Set[K]) Add(k K, clients []string) (*Waiter[K], error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.max > 0 && s.n >= s.max {
		return nil, ErrFull
	}
	if s.maxPerClient > 0 {
		for _, c := range clients {
			if s.per[c] >= s.maxPerClient {
				return nil, ErrClientFull
			}
		}
	}
	w := &Waiter[K]{C: make(chan struct{}, 1), key: k, clients: clients}
	if s.byKey[k] == nil {
		s.byKey[k] = map[*Waiter[K]]struct{}{}
	}
	s.byKey[k][w] = struct{}{}
	s.n++
	for _, c := range clients {
		s.per[c]++
	}
	return w, nil
}

// Remove lets go of a waiter returned by Add.
func (s *Set[K]) Remove(w *Waiter[K]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byKey[w.key], w)
	if len(s.byKey[w.key]) == 0 {
		delete(s.byKey, w.key)
	}
	s.n--
	for _, c := range w.clients {
		if s.per[c]--; s.per[c] <= 0 {
			delete(s.per, c)
		}
	}
}

func poke[K comparable](w *Waiter[K]) {
	select {
	case w.C <- struct{}{}:
	default:
	}
}

// Wake wakes the waiters of keys.
func (s *Set[K]) Wake(keys ...K) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		for w := range s.byKey[k] {
			poke(w)
		}
	}
}

// WakeAll wakes every waiter.
func (s *Set[K]) WakeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ws := range s.byKey {
		for w := range ws {
			poke(w)
		}
	}
}

// maxBatch bounds the messages Relay takes as one batch, so that a flood
// of them still wakes.
const maxBatch = 1024

// Relay hands the messages of msgs, a listener of channel, to each until
// ctx ends. The messages that arrived together are one batch (one
// transaction's notifications arrive together at its commit): wakeAll runs
// once for a batch holding an empty message (the listener (re)connected,
// so messages may have been missed) or, when each is nil, for every batch;
// each runs for every other message. The messages already waiting when it
// starts are a batch for which wakeAll runs, as anything before may have
// been missed. It returns nil when ctx ends, an error when msgs closes
// before.
func Relay(ctx context.Context, channel string, msgs <-chan string, wakeAll func(), each func(msg string)) error {
	all, open := batch(msgs, each, true)
	for {
		if all || each == nil {
			wakeAll()
		}
		if !open {
			return closed(ctx, channel)
		}
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return closed(ctx, channel)
			}
			all = m == ""
			if !all && each != nil {
				each(m)
			}
			all, open = batch(msgs, each, all)
		}
	}
}

func closed(ctx context.Context, channel string) error {
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("listening on %s: channel closed", channel)
}

// batch takes the messages already waiting in msgs (at most maxBatch),
// handing the non-empty ones to each: whether one was empty (or all was
// already set), and false if msgs closed.
func batch(msgs <-chan string, each func(string), all bool) (bool, bool) {
	for range maxBatch {
		select {
		case m, ok := <-msgs:
			if !ok {
				return all, false
			}
			if m == "" {
				all = true
			} else if each != nil {
				each(m)
			}
		default:
			return all, true
		}
	}
	return all, true
}
