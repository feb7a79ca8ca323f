// Package testpg gives tests a fresh, empty PostgreSQL database each.
//
// With BATON_TEST_POSTGRES_URL set (postgres://user@host:port/db?...), it
// creates databases on that server. Otherwise it starts one throwaway cluster
// per test process from the initdb/pg_ctl found on PATH or under
// /usr/lib/postgresql/*/bin (as user nobody when running as root, since
// initdb refuses root), listening on 127.0.0.1 with fsync off and trust auth.
// Without binaries, tests are skipped, unless CI is set, when they fail.
//
// A test package that uses URL should stop the cluster when it is done:
//
//	func TestMain(m *testing.M) { testpg.Main(m) }
package testpg

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable pointing at an existing server.
const EnvURL = "BATON_TEST_POSTGRES_URL"

var (
	once    sync.Once
	shared  *cluster
	baseURL string
	initErr error
	skipMsg string
	counter atomic.Int64
)

// URL returns the URL of a new, empty database for this test, dropped when
// the test ends. It skips the test if PostgreSQL is not available and CI is
// unset, and fails it otherwise.
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(setup)
	switch {
	case skipMsg != "" && os.Getenv("CI") == "":
		tb.Skip(skipMsg)
	case skipMsg != "":
		tb.Fatalf("testpg: %s (CI is set, so this is a failure)", skipMsg)
	case initErr != nil:
		tb.Fatalf("testpg: %v", initErr)
	}
	name := fmt.Sprintf("baton_test_%d_%d", os.Getpid(), counter.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := adminExec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("testpg: creating database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := adminExec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("testpg: dropping database %s: %v", name, err)
		}
	})
	u, err := url.Parse(baseURL)
	if err != nil {
		tb.Fatalf("testpg: parsing base url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Main runs the tests of a package and then stops the cluster testpg
// started, if any. Use it as the package's TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops the cluster testpg started, if any, and removes its files.
func Stop() {
	if shared != nil {
		shared.stop()
		shared = nil
	}
}

func setup() {
	if u := os.Getenv(EnvURL); u != "" {
		baseURL = u
		return
	}
	bin, err := findBinaries()
	if err != nil {
		skipMsg = err.Error()
		return
	}
	reapOrphans(bin)
	shared, err = startCluster(bin)
	if err != nil {
		initErr = err
		return
	}
	baseURL = shared.url
}

func adminExec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", redact(baseURL), err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the server"
	}
	return u.Redacted()
}

// Cluster is a PostgreSQL cluster of one test's own, which the test may
// stop and start again at the same address, as a database restart or
// fail-over looks to its clients. It is removed when the test ends.
type Cluster struct {
	c *cluster
}

// NewCluster starts a cluster for tb alone (not the shared one: stopping
// it must not disturb other tests). It skips or fails like URL when
// PostgreSQL's binaries are missing.
func NewCluster(tb testing.TB) *Cluster {
	tb.Helper()
	bin, err := findBinaries()
	switch {
	case err != nil && os.Getenv("CI") == "":
		tb.Skip(err.Error())
	case err != nil:
		tb.Fatalf("testpg: %v (CI is set, so this is a failure)", err)
	}
	c, err := startCluster(bin)
	if err != nil {
		tb.Fatalf("testpg: %v", err)
	}
	tb.Cleanup(c.stop)
	return &Cluster{c: c}
}

// URL is the cluster's postgres database.
func (c *Cluster) URL() string { return c.c.url }

// Stop shuts the cluster down (fast mode): every connection breaks,
// committed data stays.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	if err := c.c.halt(); err != nil {
		tb.Fatalf("testpg: %v", err)
	}
}

// Start starts a stopped cluster again on the same address.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	if err := c.c.start(); err != nil {
		tb.Fatalf("testpg: %v", err)
	}
}

// Start starts a throwaway cluster of its own, for programs such as
// benchmarks, from the same binaries the tests use, and returns the URL of
// its postgres database and a function that stops it and removes its files.
func Start() (url string, stop func(), err error) {
	bin, err := findBinaries()
	if err != nil {
		return "", nil, err
	}
	c, err := startCluster(bin)
	if err != nil {
		return "", nil, err
	}
	var once sync.Once
	return c.url, func() { once.Do(c.stop) }, nil
}
