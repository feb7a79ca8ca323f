// Package store is Baton's persistence: one SQL implementation of every store
// interface of package ci, run on embedded SQLite (store/sqlite) and on
// PostgreSQL (store/postgres). Queries are written once, with ? placeholders;
// the few differences between the engines live in Engine.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Violation classifies a driver error as a constraint violation.
type Violation int

// The constraint violations the store maps onto error kinds.
const (
	NoViolation Violation = iota
	UniqueViolation
	ForeignKeyViolation
)

// Engine describes what differs between the SQL engines. The subpackages
// sqlite and postgres fill it in; nothing else should need to.
type Engine struct {
	// Name is "sqlite" or "postgres"; DB.Dialect returns it.
	Name string
	// Numbered rewrites ? placeholders into $1, $2, ... (PostgreSQL).
	Numbered bool
	// SkipLocked is appended to the row-picking subquery of AssignNextJob
	// (" FOR UPDATE SKIP LOCKED" on PostgreSQL; SQLite serializes writers).
	SkipLocked string
	// LockRow is appended to a SELECT that must hold its row until the
	// transaction ends (" FOR UPDATE" on PostgreSQL; SQLite's write
	// transactions hold the whole database).
	LockRow string
	// Classify tells constraint violations apart from other driver errors.
	Classify func(error) Violation
	// LockMigrations, if set, serializes migrating across processes on conn
	// (a PostgreSQL advisory lock) and returns the function releasing it.
	LockMigrations func(ctx context.Context, conn *sql.Conn) (func(), error)
	// Notifier, if set, carries Notify/Listen across processes.
	Notifier Notifier
	// AppendBytes is the SQL expression of column data with the bytes of
	// the ? argument appended. Default "data || ?" (PostgreSQL bytea);
	// SQLite's || yields text, so it casts the result back to a blob.
	AppendBytes string
	// QueueVersion is the query reading the job queue's version (migration
	// 0004). Default: SQLite's counter row.
	QueueVersion string
	// Clock, if set, counts this process's commits (SQLite); it lets the
	// store remember reads between writes (DB.RememberReads).
	Clock *WriteClock
	// Claim, if set, makes this process the database's only server (an
	// exclusive lock on SQLite) and returns the function releasing it.
	Claim func() (func(), error)
}

// DB implements every store interface of package ci on one *sql.DB. It is safe
// for concurrent use.
type DB struct {
	sql    *sql.DB
	engine Engine
	local  *localNotifier
	stmts  statements
	cache  atomic.Pointer[readCache]
	// claimed releases the server claim (DB.Claim), if one was taken.
	claimed func()
}

var (
	_ ci.UserStore      = (*DB)(nil)
	_ ci.NamespaceStore = (*DB)(nil)
	_ ci.ProjectStore   = (*DB)(nil)
	_ ci.PipelineStore  = (*DB)(nil)
	_ ci.JobStore       = (*DB)(nil)
	_ ci.ArtifactStore  = (*DB)(nil)
	_ ci.RunnerStore    = (*DB)(nil)
	_ ci.SettingStore   = (*DB)(nil)
	_ ci.SessionStore   = (*DB)(nil)
)

// New wraps an open *sql.DB. Callers normally use sqlite.Open or
// postgres.Open, which also configure the connection and migrate.
func New(db *sql.DB, e Engine) *DB {
	if e.Classify == nil {
		e.Classify = func(error) Violation { return NoViolation }
	}
	if e.AppendBytes == "" {
		e.AppendBytes = "data || ?"
	}
	if e.QueueVersion == "" {
		e.QueueVersion = "SELECT version FROM job_queue WHERE id = 1"
	}
	return &DB{sql: db, engine: e, local: newLocalNotifier()}
}

// SQL returns the underlying *sql.DB, for tests and tools.
func (db *DB) SQL() *sql.DB { return db.sql }

// Dialect names the engine: "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.engine.Name }

// Close closes the database.
func (db *DB) Close() error {
	db.stmts.close()
	err := db.sql.Close()
	if db.claimed != nil {
		db.claimed()
	}
	return err
}

// Claim makes this process the server of the database where the engine
// needs one (SQLite: one server process per database file, while `baton
// admin` commands may still open it); a second server's Claim fails with
// KindConflict. On PostgreSQL any number of replicas share the database and
// Claim does nothing.
func (db *DB) Claim() error {
	if db.engine.Claim == nil || db.claimed != nil {
		return nil
	}
	release, err := db.engine.Claim()
	if err != nil {
		return err
	}
	db.claimed = release
	return nil
}

// Ping reports whether the database answers; it is KindUnavailable if not.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return ci.Wrap(ci.KindUnavailable, err, "database unavailable")
	}
	var one int
	if err := db.sql.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return ci.Wrap(ci.KindUnavailable, err, "database unavailable")
	}
	return nil
}

// querier is what *sql.DB, *sql.Tx and *sql.Conn have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// rebind turns the ? placeholders of q into the engine's syntax. Queries
// never contain a literal question mark.
func (db *DB) rebind(q string) string {
	if !db.engine.Numbered || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// exec, query and queryRow run q (with ? placeholders) on qr; outside
// transactions they use a cached prepared statement.
func (db *DB) exec(ctx context.Context, qr querier, q string, args ...any) (sql.Result, error) {
	count(ctx)
	q = db.rebind(q)
	if st := db.prepared(ctx, qr, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return qr.ExecContext(ctx, q, args...)
}

func (db *DB) query(ctx context.Context, qr querier, q string, args ...any) (*sql.Rows, error) {
	count(ctx)
	q = db.rebind(q)
	if st := db.prepared(ctx, qr, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return qr.QueryContext(ctx, q, args...)
}

func (db *DB) queryRow(ctx context.Context, qr querier, q string, args ...any) *sql.Row {
	count(ctx)
	q = db.rebind(q)
	if st := db.prepared(ctx, qr, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return qr.QueryRowContext(ctx, q, args...)
}

// countKey is where WithStatementCount puts its counter.
type countKey struct{}

// WithStatementCount returns ctx with n counting the statements the store
// runs for it: a request's database cost, for tests that hold a route to a
// budget.
func WithStatementCount(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, countKey{}, n)
}

func count(ctx context.Context) {
	if n, ok := ctx.Value(countKey{}).(*atomic.Int64); ok {
		n.Add(1)
	}
}

// prepared returns the cached statement for q when qr is the database
// itself (transactions run their statements directly).
func (db *DB) prepared(ctx context.Context, qr querier, q string) *sql.Stmt {
	if sqlDB, ok := qr.(*sql.DB); !ok || sqlDB != db.sql {
		return nil
	}
	return db.stmts.get(ctx, db.sql, q)
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE on SQLite), committing
// if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// now is the store's clock reading, at the precision both engines keep.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// norm brings t to the precision and zone the store keeps, so that what is
// written is exactly what is read back.
func norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// normp is norm for optional times.
func normp(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := norm(*t)
	return &n
}

// nullID stores 0 as NULL, for optional references.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// nullStr stores "" as NULL, for optional unique columns.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// limitOffset renders the LIMIT/OFFSET clause of a page; PerPage 0 is no limit.
func limitOffset(p ci.Page) string {
	if p.PerPage <= 0 {
		return ""
	}
	page := p.Page
	if page < 1 {
		page = 1
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", p.PerPage, (page-1)*p.PerPage)
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// total is the row count of a list: known without a query when the page
// holds the whole rest of the list from its start, counted otherwise.
func (db *DB) total(ctx context.Context, p ci.Page, got int, count string, args ...any) (int, error) {
	if p.PerPage <= 0 || (p.Page <= 1 && got < p.PerPage) {
		return got, nil
	}
	var n int
	if err := db.queryRow(ctx, db.sql, count, args...).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// queryAll runs q (outside transactions) and scans every row with scan;
// what names the rows in errors.
func queryAll[T any](ctx context.Context, db *DB, what string, scan func(interface{ Scan(...any) error }) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.query(ctx, db.sql, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("scanning %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing %s: %w", what, err)
	}
	return out, nil
}
