package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"reflect"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/batonci/baton/internal/store"
)

// connector opens modernc.org/sqlite connections that tell clock about
// every commit: SQLite's commit hook says one is about to happen (before
// any reader can see it), and the wrapper says it happened when the call
// that committed returns: Exec, a query's Close (a statement with RETURNING
// commits when it is reset), a transaction's Commit or Rollback, Close.
type connector struct {
	dsn   string
	drv   driver.Driver
	clock *store.WriteClock
}

func (c *connector) Driver() driver.Driver { return c.drv }

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	dc, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	hooks, ok := dc.(sqlite.HookRegisterer)
	if _, full := dc.(inner); !ok || !full {
		dc.Close()
		return nil, fmt.Errorf("sqlite connection %T has no commit hook or lacks a context-aware method", dc)
	}
	w := &conn{Conn: dc, clock: c.clock}
	hooks.RegisterCommitHook(func() int32 {
		w.pending.Add(1)
		c.clock.Committing()
		return 0
	})
	return w, nil
}

// conn is one connection; database/sql uses it from one goroutine at a
// time.
type conn struct {
	driver.Conn
	clock   *store.WriteClock
	pending atomic.Int64 // commits announced by the hook, not yet settled
}

// settle reports the commits this connection announced as done.
func (c *conn) settle() {
	if n := c.pending.Swap(0); n != 0 {
		c.clock.Committed(n)
	}
}

// inner is the modernc connection's context-aware side.
type inner interface {
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (c *conn) in() inner { return c.Conn.(inner) }

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.settle()
	return err
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t, err := c.in().BeginTx(ctx, opts)
	if err != nil {
		c.settle()
		return nil, err
	}
	return &tx{Tx: t, c: c}, nil
}

func (c *conn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	s, err := c.in().PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: s, c: c}, nil
}

func (c *conn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	defer c.settle()
	return c.in().ExecContext(ctx, q, args)
}

func (c *conn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.in().QueryContext(ctx, q, args)
	if err != nil {
		c.settle()
		return nil, err
	}
	return &rows{Rows: r, c: c}, nil
}

func (c *conn) Ping(ctx context.Context) error         { return c.in().Ping(ctx) }
func (c *conn) ResetSession(ctx context.Context) error { return c.in().ResetSession(ctx) }
func (c *conn) IsValid() bool                          { return c.in().IsValid() }
func (c *conn) Begin() (driver.Tx, error)              { return c.BeginTx(context.Background(), driver.TxOptions{}) }
func (c *conn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}
func (t *tx) Commit() error   { defer t.c.settle(); return t.Tx.Commit() }
func (t *tx) Rollback() error { defer t.c.settle(); return t.Tx.Rollback() }
func (r *rows) Close() error  { defer r.c.settle(); return r.Rows.Close() }
func (s *stmt) Close() error  { defer s.c.settle(); return s.Stmt.Close() }

type tx struct {
	driver.Tx
	c *conn
}

type rows struct {
	driver.Rows
	c *conn
}

// The driver's descriptions of a query's columns (sql.Rows.ColumnTypes),
// which embedding driver.Rows alone would hide.
var (
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
)

func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	if d, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return d.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *rows) ColumnTypeLength(i int) (int64, bool) {
	if d, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return d.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *rows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if d, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return d.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *rows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if d, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return d.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if d, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return d.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

type stmt struct {
	driver.Stmt
	c *conn
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	defer s.c.settle()
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	r, err := s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		s.c.settle()
		return nil, err
	}
	return &rows{Rows: r, c: s.c}, nil
}
