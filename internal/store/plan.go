package store

import (
	"context"
	"fmt"
)

// Plan returns the engine's plan for q (with ? placeholders) and args, one
// line per plan node: EXPLAIN QUERY PLAN on SQLite, EXPLAIN on PostgreSQL
// (EXPLAIN (ANALYZE, BUFFERS) when analyze, which runs q). For tests and
// benchmarks that hold a query to its index.
func (db *DB) Plan(ctx context.Context, analyze bool, q string, args ...any) ([]string, error) {
	prefix := "EXPLAIN QUERY PLAN "
	if db.engine.Name == "postgres" {
		prefix = "EXPLAIN "
		if analyze {
			prefix = "EXPLAIN (ANALYZE, BUFFERS) "
		}
	}
	rows, err := db.sql.QueryContext(ctx, prefix+db.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("explaining %q: %w", q, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if db.engine.Name == "postgres" {
			err = rows.Scan(&line)
		} else {
			var id, parent, unused int
			err = rows.Scan(&id, &parent, &unused, &line)
		}
		if err != nil {
			return nil, fmt.Errorf("reading the plan of %q: %w", q, err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the plan of %q: %w", q, err)
	}
	return lines, nil
}
