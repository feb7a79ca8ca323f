// Package sqlite opens Baton's store on an embedded SQLite database
// (modernc.org/sqlite, pure Go): WAL journal, a 10 s busy timeout, foreign
// keys on, synchronous=NORMAL, and write transactions that take the write
// lock when they begin (BEGIN IMMEDIATE) so that they never deadlock
// upgrading a read lock.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrations, "migrations") }

// DSN is the modernc.org/sqlite data source name Open uses for path.
func DSN(path string) string {
	return path + "?_txlock=immediate" +
		"&_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)"
}

// Open opens (creating if needed) the SQLite database at path and applies
// pending migrations. A database with a newer schema than this binary knows
// is KindUnavailable.
func Open(ctx context.Context, path string) (*store.DB, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return open(ctx, path, ms, false)
}

// OpenServer is Open for the process that serves the database: it claims
// the database (one server per SQLite file, see store.DB.Claim) before it
// migrates, so that a second server fails without having changed anything
// under the first, whose remembered reads count only its own commits.
func OpenServer(ctx context.Context, path string) (*store.DB, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	return open(ctx, path, ms, true)
}

func open(ctx context.Context, path string, ms []store.Migration, serve bool) (*store.DB, error) {
	if path == "" || strings.ContainsRune(path, '?') {
		return nil, ci.Errorf(ci.KindInvalid, "sqlite path %q is not usable", path)
	}
	named, err := sql.Open("sqlite", DSN(path)) // connects nothing: it finds the driver
	if err != nil {
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	clock := &store.WriteClock{}
	sdb := sql.OpenDB(&connector{dsn: DSN(path), drv: named.Driver(), clock: clock})
	named.Close()
	// Readers run in parallel under WAL; writers queue on the busy timeout.
	sdb.SetMaxOpenConns(8)
	sdb.SetMaxIdleConns(8)
	sdb.SetConnMaxIdleTime(0)
	others := &walIndex{path: path}
	db := store.New(sdb, store.Engine{Name: "sqlite", Classify: classify, AppendBytes: "CAST(data || ? AS BLOB)",
		Clock: clock, Claim: func() (func(), error) {
			release, err := claim(path)
			if err != nil {
				return nil, err
			}
			clock.WatchOthers(others.last)
			return func() { release(); others.close() }, nil
		}})
	if serve {
		if err := db.Claim(); err != nil {
			db.Close()
			return nil, err
		}
	}
	if err := pingWhileBusy(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening sqlite %s: %w", path, err)
	}
	if !serve {
		// Only the database's server migrates it, or commands while no
		// server runs (holding the server lock shared, so that none
		// starts meanwhile): the server counts only its own commits.
		release, err := share(path)
		switch {
		case err == nil:
			defer release()
		case ci.KindOf(err) == ci.KindConflict:
			if err := nonePending(ctx, db, ms); err != nil {
				db.Close()
				return nil, err
			}
		}
	}
	if err := db.Migrate(ctx, ms); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating sqlite %s: %w", path, err)
	}
	return db, nil
}

// walIndex reads the header of the database's WAL index (PATH-shm), which
// every commit rewrites, whichever process makes it: the server's clock
// watches it for the commits its hooks cannot see. It is opened at the
// first read after it exists, and again after SQLite replaced it.
type walIndex struct {
	path string
	mu   sync.RWMutex // ReadAt runs in parallel; open and close exclude it
	f    *os.File
}

// last is the header (its first copy, the one SQLite writes last); false
// while the file cannot be read.
func (w *walIndex) last() ([48]byte, bool) {
	var h [48]byte
	w.mu.RLock()
	f := w.f
	if f != nil && !unlinked(f) {
		n, err := f.ReadAt(h[:], 0)
		w.mu.RUnlock()
		return h, err == nil && n == len(h)
	}
	w.mu.RUnlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil && unlinked(w.f) {
		// SQLite removed it when every connection to the database had
		// closed, and made a new one since.
		w.f.Close()
		w.f = nil
	}
	if w.f == nil {
		path := w.path
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
		f, err := os.Open(path + "-shm")
		if err != nil {
			return h, false
		}
		w.f = f
	}
	n, err := w.f.ReadAt(h[:], 0)
	return h, err == nil && n == len(h)
}

func (w *walIndex) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// nonePending fails (KindUnavailable) when the database, which a running
// server has claimed, lacks one of ms: this binary is newer than the
// server's and must not change the schema (nor the data) under it.
func nonePending(ctx context.Context, db *store.DB, ms []store.Migration) error {
	rows, err := db.SQL().QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("reading applied migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return fmt.Errorf("reading applied migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading applied migrations: %w", err)
	}
	for _, m := range ms {
		if !applied[m.Version] {
			return ci.Errorf(ci.KindUnavailable,
				"the running baton server has not applied migration %s that this binary brings: upgrade and restart the server first", m.Name)
		}
	}
	return nil
}

// pingWhileBusy opens the first connection. Switching a new database to WAL
// needs an exclusive lock that SQLite takes without its busy handler, so
// processes creating the same database at once can get SQLITE_BUSY here;
// they try again for as long as the busy timeout would have waited.
func pingWhileBusy(ctx context.Context, db *store.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := db.Ping(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

func classify(err error) store.Violation {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return store.NoViolation
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return store.UniqueViolation
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return store.ForeignKeyViolation
	}
	return store.NoViolation
}
