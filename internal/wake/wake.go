// Package wake holds a process's waiters, each waiting on a key: waking a
// key wakes its waiters. It bounds how many are held, in all and per client
// key. It is the common core of artifacts.Hub and events.Hub.
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

// Relay hands the messages of msgs, a listener of channel, to each until
// ctx ends. When it starts and on every empty message (the listener
// (re)connected) it wakes all of s, since messages may have been missed
// meanwhile. It returns nil when ctx ends, an error when msgs closes before.
func Relay[K comparable](ctx context.Context, s *Set[K], channel string, msgs <-chan string, each func(msg string)) error {
	s.WakeAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("listening on %s: channel closed", channel)
			}
			if m == "" {
				s.WakeAll()
				continue
			}
			each(m)
		}
	}
}
