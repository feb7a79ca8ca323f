// Package postgres opens Baton's store on PostgreSQL through pgx's
// database/sql driver. Replicas may open one database at once: migrating
// runs under an advisory lock.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/batonci/baton/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded schema migrations.
func Migrations() ([]store.Migration, error) { return store.LoadMigrations(migrations, "migrations") }

// migrationLock is the advisory lock key serializing migrations ("baton" in ASCII).
const migrationLock = 0x6261746f6e

// Open connects to the database at url (postgres://...) and applies pending
// migrations. A database with a newer schema than this binary knows is
// KindUnavailable.
func Open(ctx context.Context, url string) (*store.DB, error) {
	sdb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	sdb.SetMaxOpenConns(20)
	sdb.SetMaxIdleConns(10)
	db := store.New(sdb, store.Engine{
		Name:           "postgres",
		Numbered:       true,
		SkipLocked:     " FOR UPDATE SKIP LOCKED",
		LockRow:        " FOR UPDATE",
		Classify:       classify,
		LockMigrations: lockMigrations,
		Notifier:       &notifier{db: sdb, url: url},
		QueueVersion:   "SELECT last_value FROM job_queue_version",
	})
	if err := db.Ping(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("opening postgres: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		sdb.Close()
		return nil, err
	}
	if err := db.Migrate(ctx, ms); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("migrating postgres: %w", err)
	}
	return db, nil
}

func lockMigrations(ctx context.Context, conn *sql.Conn) (func(), error) {
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return nil, err
	}
	return func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	}, nil
}

func classify(err error) store.Violation {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return store.NoViolation
	}
	switch pe.Code {
	case "23505":
		return store.UniqueViolation
	case "23503":
		return store.ForeignKeyViolation
	}
	return store.NoViolation
}
