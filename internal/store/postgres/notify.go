package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// notifier carries wake-ups between replicas with LISTEN/NOTIFY. All of a
// process's listeners share one dedicated connection, which LISTENs on
// every channel someone listens to.
type notifier struct {
	db  *sql.DB
	url string

	mu      sync.Mutex
	subs    map[string]map[*listener]struct{} // by channel
	running bool                              // loop is running
	changed chan struct{}                     // the channels listened to changed (1 buffered)
}

// listener is one Listen call.
type listener struct {
	out   chan string
	ready chan error // the first LISTEN covering its channel: nil, or why it failed
	told  bool       // ready was sent (under notifier.mu)
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

// Listen delivers channel's payloads until ctx ends. The shared connection
// reconnects with a short back-off when it breaks (the server restarted, a
// network blip) and whenever the set of channels changes; after every
// successful LISTEN, the first one included, every listener gets an empty
// payload: messages may have been missed meanwhile, so listeners re-check
// everything. A reader too slow for its buffer gets "" in place of what it
// missed. Only the failure of the first connection attempt covering
// channel is returned.
func (n *notifier) Listen(ctx context.Context, channel string) (<-chan string, error) {
	l := &listener{out: make(chan string, 16), ready: make(chan error, 1)}
	n.mu.Lock()
	if n.subs == nil {
		n.subs, n.changed = map[string]map[*listener]struct{}{}, make(chan struct{}, 1)
	}
	if n.subs[channel] == nil {
		n.subs[channel] = map[*listener]struct{}{}
	}
	n.subs[channel][l] = struct{}{}
	if !n.running {
		n.running = true
		go n.loop()
	}
	n.mu.Unlock()
	n.poke()
	var err error
	select {
	case err = <-l.ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		n.remove(channel, l)
		return nil, err
	}
	go func() {
		<-ctx.Done()
		n.remove(channel, l)
	}()
	return l.out, nil
}

// remove ends l's subscription and closes its channel.
func (n *notifier) remove(channel string, l *listener) {
	n.mu.Lock()
	if _, ok := n.subs[channel][l]; ok {
		delete(n.subs[channel], l)
		if len(n.subs[channel]) == 0 {
			delete(n.subs, channel)
		}
		close(l.out)
	}
	n.mu.Unlock()
	n.poke()
}

// poke tells the loop the channels changed.
func (n *notifier) poke() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}

// channels are the channels someone listens to, sorted; none stops the
// loop.
func (n *notifier) channels() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.subs))
	for c := range n.subs {
		out = append(out, c)
	}
	if len(out) == 0 {
		n.running = false
	}
	sort.Strings(out)
	return out
}

// loop owns the shared connection: it LISTENs on every channel, relays
// notifications, and starts over when the connection breaks or the
// channels change. It ends once nobody listens.
func (n *notifier) loop() {
	ctx := context.Background()
	backoff := listenBackoffMin
	for {
		select {
		case <-n.changed: // the snapshot below sees that change
		default:
		}
		channels := n.channels()
		if len(channels) == 0 {
			return
		}
		conn, err := n.listen(ctx, channels)
		if err != nil {
			n.tell(channels, err)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-n.changed:
				t.Stop()
			}
			backoff = min(backoff*2, listenBackoffMax)
			continue
		}
		n.tell(channels, nil)
		backoff = listenBackoffMin
		broke := n.relay(ctx, conn)
		conn.Close(ctx)
		if broke {
			time.Sleep(backoff)
			backoff = min(backoff*2, listenBackoffMax)
		}
	}
}

// tell reports a LISTEN on channels: on success every listener of them
// gets "" (re-check) and those waiting in Listen are answered; on failure
// only those waiting in Listen are, with err.
func (n *notifier) tell(channels []string, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range channels {
		for l := range n.subs[c] {
			if err == nil {
				deliver(l.out, "")
			}
			if !l.told {
				l.told = true
				l.ready <- err
			}
		}
	}
}

// listen opens a connection listening on channels.
func (n *notifier) listen(ctx context.Context, channels []string) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, n.url)
	if err != nil {
		return nil, fmt.Errorf("connecting to listen on %s: %w", strings.Join(channels, ", "), err)
	}
	for _, c := range channels {
		if _, err := conn.Exec(cctx, "LISTEN "+pgx.Identifier{c}.Sanitize()); err != nil {
			conn.Close(ctx)
			return nil, fmt.Errorf("listening on %s: %w", c, err)
		}
	}
	return conn, nil
}

// relay delivers conn's notifications until the connection breaks
// (broke) or the channels change (not broke).
func (n *notifier) relay(ctx context.Context, conn *pgx.Conn) (broke bool) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	changed := make(chan struct{})
	go func() {
		select {
		case <-n.changed:
			close(changed)
			cancel()
		case <-wctx.Done():
		}
	}()
	for {
		msg, err := conn.WaitForNotification(wctx)
		if err != nil {
			select {
			case <-changed:
				return false
			default:
				return true
			}
		}
		payload := msg.Payload
		if payload == "" {
			payload = "-" // "" is reserved for "re-check everything"
		}
		n.mu.Lock()
		for l := range n.subs[msg.Channel] {
			deliver(l.out, payload)
		}
		n.mu.Unlock()
	}
}

// deliver sends payload without waiting: a reader whose buffer is full
// loses its oldest message to "" (re-check everything), which covers both.
// The caller holds notifier.mu, under which outs are closed.
func deliver(out chan string, payload string) {
	select {
	case out <- payload:
		return
	default:
	}
	select {
	case <-out:
	default:
	}
	select {
	case out <- "":
	default:
	}
}
