package runnerapi

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/wake"
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
// until ctx ends. Every message wakes them, including the empty one the
// listener delivers after (re)connecting, when messages may have been
// missed: held requests re-check the database. One transaction making ten
// jobs pending notifies ten times (a row trigger each), delivered together
// at commit: the messages that arrived together wake once (wake.Relay's
// batches), as every held request costs a few queries to re-check. It
// returns nil when ctx ends, an error when listening fails (run it again).
func (q *Queue) Relay(ctx context.Context, n Notifier) error {
	msgs, err := n.Listen(ctx, QueueChannel)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", QueueChannel, err)
	}
	return wake.Relay(ctx, QueueChannel, msgs, q.Wake, nil)
}
