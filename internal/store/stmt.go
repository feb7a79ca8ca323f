package store

import (
	"context"
	"database/sql"
	"sync"
)

// maxStatements bounds the statement cache: queries built at run time (IN
// lists of varying length) must not grow it without end.
const maxStatements = 512

// statements caches prepared statements by their (rebound) text, so that
// hot queries are parsed once per connection instead of on every call —
// on SQLite, parsing was the largest single cost of a one-file artifact read.
type statements struct {
	mu    sync.Mutex
	byKey map[string]*sql.Stmt
}

// get returns a prepared statement for q, or nil when q cannot or should
// not be cached (the caller then runs q directly).
func (c *statements) get(ctx context.Context, db *sql.DB, q string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.byKey[q]
	full := len(c.byKey) >= maxStatements
	c.mu.Unlock()
	if ok {
		return st
	}
	if full {
		return nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil // let the direct call report the error
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string]*sql.Stmt{}
	}
	if old, ok := c.byKey[q]; ok {
		st.Close()
		return old
	}
	c.byKey[q] = st
	return st
}

func (c *statements) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.byKey {
		st.Close()
	}
	c.byKey = nil
}
