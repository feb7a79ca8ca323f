package runnerapi

import (
	"context"
	"fmt"
)

// Notifier carries wake-up messages between replicas sharing a database
// (store.DB's PostgreSQL LISTEN/NOTIFY, or in-process on SQLite).
type Notifier interface {
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// QueueChannel is the notification channel Relay listens on. The database
// notifies it whenever the queue version moves (store.QueueChannel).
const QueueChannel = "baton_job_queue"

// Relay wakes this queue's waiters whenever any replica changed the queue,
// until ctx ends. Every message wakes them (those that arrived together
// once), including the empty one the listener delivers after
// (re)connecting, when messages may have been missed: held requests
// re-check the database. It returns nil when ctx
// ends, an error when listening fails (run it again).
func (q *Queue) Relay(ctx context.Context, n Notifier) error {
	msgs, err := n.Listen(ctx, QueueChannel)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", QueueChannel, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-msgs:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("listening on %s: channel closed", QueueChannel)
			}
			// One transaction making ten jobs pending notifies ten times
			// (a row trigger each), delivered together at commit: wake
			// once for all that already arrived, as every held request
			// costs a few queries to re-check.
			ok = drain(msgs)
			q.Wake()
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("listening on %s: channel closed", QueueChannel)
			}
		}
	}
}

// drain takes every message already waiting in msgs; false if it closed.
func drain(msgs <-chan string) bool {
	for {
		select {
		case _, ok := <-msgs:
			if !ok {
				return false
			}
		default:
			return true
		}
	}
}
