package runnerapi

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store/storetest"
)

func TestQueue(t *testing.T) {
	t.Run("notify wakes waiters that started before it", func(t *testing.T) {
		q := NewQueue(storetest.OpenSQLite(t))
		gen := q.Gen()
		woke := make(chan bool)
		go func() { woke <- q.Wait(context.Background(), gen) }()
		q.Notify()
		if !<-woke {
			t.Fatalf("waiter not woken")
		}
		if !q.Wait(context.Background(), gen) {
			t.Fatalf("waiting with a generation from before a wake-up must return at once")
		}
	})
	t.Run("cancel and close", func(t *testing.T) {
		q := NewQueue(storetest.OpenSQLite(t))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if q.Wait(ctx, q.Gen()) {
			t.Fatalf("canceled wait reported a change")
		}
		q.Close()
		if q.Wait(context.Background(), q.Gen()) || !q.Closed() {
			t.Fatalf("closed queue must not block")
		}
	})
	for _, eng := range storetest.Engines() {
		t.Run("replicas share the version and wake each other/"+eng.Name, func(t *testing.T) {
			// Two queues on one database are two replicas: nothing but the
			// database connects them (no Notify call here).
			e := newEnvOn(t, eng.Open(t))
			a, b := NewQueue(e.db), NewQueue(e.db)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- b.Relay(ctx, e.db) }()
			va, err := a.Version(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if vb, _ := b.Version(ctx); vb != va {
				t.Fatalf("replica versions %q and %q differ", va, vb)
			}
			// Relay wakes once it listens; wait for that, then take the
			// generation the held request would.
			waitFor(t, "b's listener", func() bool { return b.Gen() > 0 })
			gen := b.Gen()
			woke := make(chan bool, 1)
			go func() { woke <- b.Wait(ctx, gen) }()
			j := e.createdJob()
			j.Status = ci.StatusPending
			if err := e.db.UpdateJob(ctx, j, ci.StatusCreated); err != nil {
				t.Fatal(err)
			}
			select {
			case ok := <-woke:
				if !ok {
					t.Fatalf("wait ended without a wake-up")
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("replica b not woken by a job made pending elsewhere")
			}
			va2, _ := a.Version(ctx)
			vb2, _ := b.Version(ctx)
			if va2 == va || va2 != vb2 {
				t.Fatalf("versions after the change: a %q, b %q (before %q)", va2, vb2, va)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("relay: %v", err)
			}
		})
	}
}

// TestQueueReconnect breaks the LISTEN connection: notifications sent
// meanwhile are lost, so every held request must be woken to re-check once
// the listener is back, without waiting for its hold to end.
func TestQueueReconnect(t *testing.T) {
	db := storetest.OpenPostgres(t)
	q := NewQueue(db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- q.Relay(ctx, db) }()
	waitFor(t, "the listener", func() bool { return q.Gen() > 0 })
	gen := q.Gen()
	woke := make(chan bool, 1)
	go func() { woke <- q.Wait(ctx, gen) }()
	storetest.KillListeners(t, db)
	select {
	case ok := <-woke:
		if !ok {
			t.Fatalf("wait ended without a wake-up")
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("held waiter not woken after the listener reconnected")
	}
	select {
	case err := <-done:
		t.Fatalf("relay ended: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("relay: %v", err)
	}
}

// createdJob stores a pipeline whose one job stays created (it needs a
// manual job that never plays) and returns that job.
func (e *env) createdJob() *ci.Job {
	e.t.Helper()
	ctx := context.Background()
	p := &ci.Pipeline{ProjectID: e.project.ID, Ref: "main", SHA: testSHA, Source: ci.SourcePush, UserID: e.admin.ID}
	j := &ci.Job{Name: "later", Stage: "test", Status: ci.StatusCreated, Attempt: 1,
		Spec: ci.JobSpec{Name: "later", Stage: "test", Script: []string{"true"}, When: ci.WhenOnSuccess}}
	if err := e.db.CreatePipeline(ctx, p, []*ci.Job{j}); err != nil {
		e.t.Fatal(err)
	}
	return j
}

// burst is a Notifier whose channel already holds n messages and then
// closes, as a listener delivers one transaction's notifications.
type burst int

func (n burst) Listen(context.Context, string) (<-chan string, error) {
	ch := make(chan string, int(n))
	for i := range int(n) {
		ch <- fmt.Sprint(i)
	}
	close(ch)
	return ch, nil
}

// TestRelayWakesOncePerBurst: the notifications that arrived together
// (one per job a transaction made pending) wake held requests once, not
// once each: every wake costs each held request its re-check queries.
func TestRelayWakesOncePerBurst(t *testing.T) {
	q := NewQueue(storetest.OpenSQLite(t))
	if err := q.Relay(context.Background(), burst(10)); err == nil {
		t.Fatal("Relay on a closed channel returned nil")
	}
	if got := q.Gen(); got != 1 {
		t.Errorf("10 notifications that arrived together woke the queue %d times, want 1", got)
	}
}
