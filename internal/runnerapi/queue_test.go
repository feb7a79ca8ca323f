package runnerapi

import (
	"context"
	"testing"

	"github.com/batonci/baton/internal/store/storetest"
)

func TestQueue(t *testing.T) {
	t.Run("notify changes the version and wakes waiters", func(t *testing.T) {
		q := NewQueue()
		v := q.Version()
		woke := make(chan bool)
		go func() { woke <- q.Wait(context.Background(), v) }()
		q.Notify()
		if !<-woke || q.Version() == v {
			t.Fatalf("waiter not woken or version unchanged")
		}
		if !q.Wait(context.Background(), v) {
			t.Fatalf("waiting on an old version must return at once")
		}
	})
	t.Run("versions of two queues differ", func(t *testing.T) {
		if NewQueue().Version() == NewQueue().Version() {
			t.Fatalf("two queues share a version")
		}
	})
	t.Run("cancel and close", func(t *testing.T) {
		q := NewQueue()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if q.Wait(ctx, q.Version()) {
			t.Fatalf("canceled wait reported a change")
		}
		q.Close()
		if q.Wait(context.Background(), q.Version()) || !q.Closed() {
			t.Fatalf("closed queue must not block")
		}
	})
	t.Run("relay across replicas", func(t *testing.T) {
		for _, eng := range storetest.Engines() {
			t.Run(eng.Name, func(t *testing.T) {
				db := eng.Open(t)
				a, b := NewQueue(), NewQueue()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				done := make(chan error, 2)
				go func() { done <- a.Relay(ctx, db) }()
				go func() { done <- b.Relay(ctx, db) }()
				vb := b.Version()
				woke := make(chan bool)
				go func() { woke <- b.Wait(ctx, vb) }()
				// Listeners start asynchronously: notify until b wakes.
				waitFor(t, "replica b to be woken by a's notify", func() bool {
					a.Notify()
					select {
					case ok := <-woke:
						return ok
					default:
						return false
					}
				})
				cancel()
				for range 2 {
					if err := <-done; err != nil {
						t.Fatalf("relay: %v", err)
					}
				}
			})
		}
	})
}
