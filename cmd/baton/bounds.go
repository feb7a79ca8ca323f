package main

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/events"
)

// Bounds are what one client, or all of them, can hold of the server.
type Bounds struct {
	MaxWaiters          int64
	MaxWaitersPerClient int64
	MaxEventStreams     int64
	MaxEventStreamsPer  int64
	MaxConnections      int64
	ReadHeaderTimeout   time.Duration
	ReadTimeout         time.Duration
	WriteTimeout        time.Duration
	IdleTimeout         time.Duration
}

// bindBounds registers the flags that bound what clients can hold: waits
// for artifacts, connections, and the HTTP server's timeouts.
func (c *Config) bindBounds(b flagBinder) {
	v := &c.Bounds
	b.integer(&v.MaxWaiters, "max-waiters", "BATON_MAX_WAITERS", artifacts.DefaultMaxWaiters,
		"requests that may wait (wait=SECONDS) for artifacts at once; beyond: 429 (-1: no limit)")
	b.integer(&v.MaxWaitersPerClient, "max-waiters-per-client", "BATON_MAX_WAITERS_PER_CLIENT", artifacts.DefaultMaxWaitersPerClient,
		"requests one IP, user or job token may have waiting for artifacts at once; beyond: 429 (-1: no limit)")
	b.integer(&v.MaxEventStreams, "max-event-streams", "BATON_MAX_EVENT_STREAMS", events.DefaultMaxStreams,
		"pipeline event streams (API and web UI) open at once; beyond: 429 (-1: no limit)")
	b.integer(&v.MaxEventStreamsPer, "max-event-streams-per-client", "BATON_MAX_EVENT_STREAMS_PER_CLIENT", events.DefaultMaxStreamsPerClient,
		"pipeline event streams one IP, user or job token may have open at once; beyond: 429 (-1: no limit)")
	b.integer(&v.MaxConnections, "max-connections", "BATON_MAX_CONNECTIONS", 10000,
		"open client connections at most; more wait to be accepted (lowered to fit the open-file limit)")
	b.duration(&v.ReadHeaderTimeout, "read-header-timeout", "BATON_READ_HEADER_TIMEOUT", 10*time.Second,
		"time a client has to send a request's headers")
	b.duration(&v.ReadTimeout, "read-timeout", "BATON_READ_TIMEOUT", time.Minute,
		"time a client has to send a whole request (uploads, long polls and waits are given more)")
	b.duration(&v.WriteTimeout, "write-timeout", "BATON_WRITE_TIMEOUT", 10*time.Minute,
		"time to write a response (downloads are given what their size needs at 64 KiB/s)")
	b.duration(&v.IdleTimeout, "idle-timeout", "BATON_IDLE_TIMEOUT", 2*time.Minute,
		"how long an idle keep-alive connection stays open")
}

// httpServer is the http.Server with the configured timeouts; net/http's
// own errors (a recovered handler panic, TLS handshakes) go to log.
func (b Bounds) httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: b.ReadHeaderTimeout, ReadTimeout: b.ReadTimeout,
		WriteTimeout: b.WriteTimeout, IdleTimeout: b.IdleTimeout, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}
}

// fdHeadroom is how many descriptors are kept for everything but client
// connections: database, blob files, git processes, logs.
const fdHeadroom = 1024

// connectionCap is --max-connections, lowered to leave fdHeadroom under the
// open-file limit, which is first raised to its hard maximum.
func (b Bounds) connectionCap(log *slog.Logger) int {
	limit := raiseOpenFileLimit()
	n := b.MaxConnections
	if n <= 0 {
		return 0
	}
	if limit > 0 && n > int64(limit)-fdHeadroom {
		lowered := max(int64(limit)-fdHeadroom, 64)
		log.Warn("--max-connections lowered to fit the open-file limit", "max_connections", n, "open_file_limit", limit, "now", lowered)
		n = lowered
	}
	return int(n)
}

// limitListener accepts at most n connections at once: Accept waits while
// n are open, leaving further clients in the kernel's backlog instead of
// running out of descriptors.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func newLimitListener(l net.Listener, n int) net.Listener {
	if n <= 0 {
		return l
	}
	return &limitListener{Listener: l, sem: make(chan struct{}, n)}
}

// Open is the number of connections open now.
func (l *limitListener) Open() int { return len(l.sem) }

func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
