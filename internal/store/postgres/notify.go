package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

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

// Reconnecting to LISTEN after the connection broke waits
// listenBackoffMin, doubling up to listenBackoffMax.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 2 * time.Second
)

// Listen holds one dedicated connection per call until ctx ends. When the
// connection breaks (the server restarted, a network blip) it reconnects
// with a short back-off, and after every successful LISTEN, the first one
// included, it delivers an empty payload: messages may have been missed
// meanwhile, so listeners re-check everything. Only the first connection
// attempt's failure is returned.
func (n *notifier) Listen(ctx context.Context, channel string) (<-chan string, error) {
	conn, err := n.listen(ctx, channel)
	if err != nil {
		return nil, err
	}
	out := make(chan string, 16)
	go func() {
		defer close(out)
		backoff := listenBackoffMin
		for {
			if conn != nil {
				backoff = listenBackoffMin
				if !send(ctx, out, "") {
					conn.Close(context.WithoutCancel(ctx))
					return
				}
				n.relay(ctx, conn, out)
				conn.Close(context.WithoutCancel(ctx))
				conn = nil
			}
			if ctx.Err() != nil {
				return
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(backoff*2, listenBackoffMax)
			conn, _ = n.listen(ctx, channel)
		}
	}()
	return out, nil
}

// listen opens a connection listening on channel.
func (n *notifier) listen(ctx context.Context, channel string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, n.url)
	if err != nil {
		return nil, fmt.Errorf("connecting to listen on %s: %w", channel, err)
	}
	if _, err := conn.Exec(cctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("listening on %s: %w", channel, err)
	}
	return conn, nil
}

// relay delivers conn's notifications to out until the connection breaks
// or ctx ends. Delivery waits for the reader rather than dropping a
// message: the server queues what arrives meanwhile.
func (n *notifier) relay(ctx context.Context, conn *pgx.Conn, out chan<- string) {
	for {
		msg, err := conn.WaitForNotification(ctx)
		if err != nil {
			return
		}
		if msg.Payload == "" {
			msg.Payload = "-" // "" is reserved for "re-check everything"
		}
		if !send(ctx, out, msg.Payload) {
			return
		}
	}
}

func send(ctx context.Context, out chan<- string, payload string) bool {
	select {
	case out <- payload:
		return true
	case <-ctx.Done():
		return false
	}
}
