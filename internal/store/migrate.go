package store

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Migration is one numbered, forward-only schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the *.sql files of dir in fsys. Each name starts with
// its version number ("0001_init.sql"); versions must be unique.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		digits := strings.SplitN(e.Name(), "_", 2)[0]
		v, err := strconv.Atoi(strings.TrimSuffix(digits, ".sql"))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: name must start with a positive version number", e.Name())
		}
		if other, ok := seen[v]; ok {
			return nil, fmt.Errorf("migrations %q and %q share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("reading migration %q: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies the pending migrations, each in its own transaction and
// recorded in schema_migrations. It refuses (KindUnavailable) a database
// whose schema is newer than the newest migration it knows. On PostgreSQL
// concurrent callers are serialized by an advisory lock.
func (db *DB) Migrate(ctx context.Context, ms []Migration) error {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connecting for migrations: %w", err)
	}
	defer conn.Close()
	if db.engine.LockMigrations != nil {
		unlock, err := db.engine.LockMigrations(ctx, conn)
		if err != nil {
			return fmt.Errorf("locking migrations: %w", err)
		}
		defer unlock()
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version BIGINT PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	current, err := db.schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	known := 0
	if len(ms) > 0 {
		known = ms[len(ms)-1].Version
	}
	if current > known {
		return ci.Errorf(ci.KindUnavailable,
			"database schema version %d is newer than this binary knows (%d)", current, known)
	}
	// Every migration not yet recorded is applied, a lower version than
	// the newest applied too: branches merge with numbers reserved in
	// advance, so a database may have run 0014 before it sees 0012. The
	// recorded ones are read once, so that starting on a current schema
	// opens no transaction per migration; apply checks again in its own.
	applied, err := db.appliedVersions(ctx, conn)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if err := db.apply(ctx, conn, m); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) appliedVersions(ctx context.Context, conn *sql.Conn) (map[int]bool, error) {
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("reading applied migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("reading applied migrations: %w", err)
		}
		out[v] = true
	}
	return out, rows.Err()
}

// SchemaVersion returns the newest applied migration's version, 0 for none.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	return db.schemaVersion(ctx, db.sql)
}

func (db *DB) schemaVersion(ctx context.Context, qr querier) (int, error) {
	var v sql.NullInt64
	if err := qr.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return int(v.Int64), nil
}

func (db *DB) apply(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning migration %s: %w", m.Name, err)
	}
	defer tx.Rollback()
	// Another process may have applied m since we looked: on SQLite the
	// transaction holds the write lock, so this check cannot go stale.
	var done int
	if err := db.queryRow(ctx, tx, "SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.Version).Scan(&done); err != nil {
		return fmt.Errorf("checking migration %s: %w", m.Name, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return fmt.Errorf("applying migration %s: %w", m.Name, err)
	}
	if _, err := db.exec(ctx, tx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
		m.Version, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("recording migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing migration %s: %w", m.Name, err)
	}
	return nil
}
