package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// Seeded describes what Seed created.
type Seeded struct {
	Projects  []int64
	Pipelines []int64 // by id; pipeline i belongs to Projects[i%len(Projects)]
	JobsPer   int     // jobs per pipeline, named job-0 .. job-(JobsPer-1)
}

// Seed creates about jobs jobs quickly: projects projects, pipelines of
// jobsPer jobs each (all successful, on ref main, one archive artifact per
// job), written with multi-row inserts in one transaction.
func Seed(tb testing.TB, db *store.DB, projects, jobs, jobsPer int) Seeded {
	tb.Helper()
	ctx := context.Background()
	g := MustGroup(tb, db, 0, ci.VisibilityPrivate)
	s := Seeded{JobsPer: jobsPer}
	for i := 0; i < projects; i++ {
		s.Projects = append(s.Projects, MustProject(tb, db, g.ID, ci.VisibilityPrivate).ID)
	}
	pipelines := jobs / jobsPer
	now := time.Now().UTC().Truncate(time.Microsecond)
	ts := any(now.Format("2006-01-02T15:04:05.000000Z"))
	numbered := db.Dialect() == "postgres"
	if numbered {
		ts = now
	}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	insert := func(head string, cols int, rows int, row func(i int) []any) {
		const batch = 500
		for start := 0; start < rows; start += batch {
			n := min(batch, rows-start)
			var b strings.Builder
			b.WriteString(head)
			args := make([]any, 0, n*cols)
			p := 0
			for i := 0; i < n; i++ {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteByte('(')
				for c := 0; c < cols; c++ {
					if c > 0 {
						b.WriteString(", ")
					}
					p++
					if numbered {
						fmt.Fprintf(&b, "$%d", p)
					} else {
						b.WriteByte('?')
					}
				}
				b.WriteByte(')')
				args = append(args, row(start+i)...)
			}
			if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
				tb.Fatalf("seeding: %v", err)
			}
		}
	}
	var firstPipeline, firstJob int64
	for _, q := range []struct {
		q   string
		dst *int64
	}{{"SELECT COALESCE(MAX(id), 0) FROM pipelines", &firstPipeline}, {"SELECT COALESCE(MAX(id), 0) FROM jobs", &firstJob}} {
		if err := tx.QueryRowContext(ctx, q.q).Scan(q.dst); err != nil {
			tb.Fatal(err)
		}
	}
	insert(`INSERT INTO pipelines (id, project_id, iid, ref, sha, source, status, created_at, updated_at) VALUES `, 9, pipelines,
		func(i int) []any {
			id := firstPipeline + 1 + int64(i)
			s.Pipelines = append(s.Pipelines, id)
			return []any{id, s.Projects[i%projects], int64(i/projects + 1), "main", fmt.Sprintf("%040x", id), "push", "success", ts, ts}
		})
	insert(`INSERT INTO jobs (id, project_id, pipeline_id, name, stage, status, created_at, updated_at) VALUES `, 8, pipelines*jobsPer,
		func(i int) []any {
			pl := i / jobsPer
			return []any{firstJob + 1 + int64(i), s.Projects[pl%projects], s.Pipelines[pl], fmt.Sprintf("job-%d", i%jobsPer), "test", "success", ts, ts}
		})
	insert(`INSERT INTO artifacts (job_id, pipeline_id, project_id, file_type, blob_key, created_at) VALUES `, 6, pipelines*jobsPer,
		func(i int) []any {
			pl := i / jobsPer
			return []any{firstJob + 1 + int64(i), s.Pipelines[pl], s.Projects[pl%projects], "archive", fmt.Sprintf("blob/%d", i), ts}
		})
	if numbered {
		// The rows above carry explicit ids; move the identity sequences past them.
		for _, t := range []string{"pipelines", "jobs"} {
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("SELECT setval(pg_get_serial_sequence('%s', 'id'), (SELECT MAX(id) FROM %s))", t, t)); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE projects SET last_pipeline_iid = 1000000"); err != nil {
		tb.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
		tb.Fatal(err)
	}
	return s
}
