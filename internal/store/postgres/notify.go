package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// notifier carries wake-ups between replicas with LISTEN/NOTIFY.
type notifier struct {
	db  *sql.DB
	url string
}

func (n *notifier) Notify(ctx context.Context, channel, payload string) error {
	if _, err := n.db.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload); err != nil {
		return fmt.Errorf("notifying %s: %w", channel, err)
	}
	return nil
}

// Listen holds one dedicated connection per call until ctx ends.
func (n *notifier) Listen(ctx context.Context, channel string) (<-chan string, error) {
	conn, err := pgx.Connect(ctx, n.url)
	if err != nil {
		return nil, fmt.Errorf("connecting to listen on %s: %w", channel, err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("listening on %s: %w", channel, err)
	}
	out := make(chan string, 16)
	go func() {
		defer close(out)
		defer conn.Close(context.WithoutCancel(ctx))
		for {
			msg, err := conn.WaitForNotification(ctx)
			if err != nil {
				return
			}
			select {
			case out <- msg.Payload:
			default:
			}
		}
	}()
	return out, nil
}
