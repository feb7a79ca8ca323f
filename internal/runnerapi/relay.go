package runnerapi

import (
	"context"
	"fmt"
)

// Notifier carries wake-up messages between replicas sharing a database
// (store.DB's PostgreSQL LISTEN/NOTIFY, or in-process on SQLite).
type Notifier interface {
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// QueueChannel is the notification channel Relay uses.
const QueueChannel = "baton_job_queue"

// Relay connects the queue to other replicas until ctx ends: Notify also
// sends a message on QueueChannel, and messages from other replicas wake
// this queue's waiters. Messages this queue sent itself are ignored. It
// returns when ctx ends (nil) or when listening fails.
func (q *Queue) Relay(ctx context.Context, n Notifier) error {
	msgs, err := n.Listen(ctx, QueueChannel)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", QueueChannel, err)
	}
	q.mu.Lock()
	q.Publish = func() {
		// Best effort: a lost message only delays runners held on other
		// replicas until their hold ends.
		_ = n.Notify(context.WithoutCancel(ctx), QueueChannel, q.prefix)
	}
	q.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("listening on %s: channel closed", QueueChannel)
			}
			if m != q.prefix {
				q.Wake()
			}
		}
	}
}
