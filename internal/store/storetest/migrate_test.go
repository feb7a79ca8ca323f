package storetest

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/postgres"
	"github.com/batonci/baton/internal/store/sqlite"
	"github.com/batonci/baton/internal/store/storeopen"
	"github.com/batonci/baton/internal/testpg"
)

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	for _, e := range []struct {
		name       string
		url        func(t *testing.T) string
		migrations func() ([]store.Migration, error)
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "b.db") }, sqlite.Migrations},
		{"postgres", func(t *testing.T) string { return testpg.URL(t) }, postgres.Migrations},
	} {
		t.Run(e.name, func(t *testing.T) {
			url := e.url(t)
			ms, err := e.migrations()
			must(t, err)
			known := ms[len(ms)-1].Version

			// Several replicas starting at once all succeed and apply each migration once.
			var wg sync.WaitGroup
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					db, err := storeopen.Open(ctx, url)
					if err != nil {
						t.Errorf("concurrent open: %v", err)
						return
					}
					db.Close()
				}()
			}
			wg.Wait()

			db, err := storeopen.Open(ctx, url)
			must(t, err)
			v, err := db.SchemaVersion(ctx)
			if err != nil || v != known {
				t.Errorf("SchemaVersion = %d, %v; want %d", v, err, known)
			}
			var n int
			must(t, db.SQL().QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&n))
			if n != len(ms) {
				t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
			}
			// A newer binary migrated this database: refuse to start.
			if _, err := db.SQL().Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 'later')"); err != nil {
				t.Fatal(err)
			}
			db.Close()
			_, err = storeopen.Open(ctx, url)
			WantKind(t, err, ci.KindUnavailable)
			if !strings.Contains(err.Error(), "database schema version 9999 is newer than this binary knows") {
				t.Errorf("error = %v", err)
			}
		})
	}
	t.Run("bad url", func(t *testing.T) {
		_, err := storeopen.Open(ctx, "mysql://x")
		WantKind(t, err, ci.KindInvalid)
	})
}

func TestLoadMigrations(t *testing.T) {
	for _, load := range []func() ([]store.Migration, error){sqlite.Migrations, postgres.Migrations} {
		ms, err := load()
		if err != nil || len(ms) == 0 || ms[0].Version != 1 {
			t.Fatalf("migrations = %v, %v", ms, err)
		}
		for i := 1; i < len(ms); i++ {
			if ms[i].Version <= ms[i-1].Version {
				t.Errorf("migrations out of order: %s after %s", ms[i].Name, ms[i-1].Name)
			}
		}
	}
	sq, _ := sqlite.Migrations()
	pg, _ := postgres.Migrations()
	if len(sq) != len(pg) {
		t.Errorf("sqlite has %d migrations, postgres %d: every schema change needs both", len(sq), len(pg))
	}
}

func TestNotify(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c, err := db.Listen(ctx, "jobs")
		must(t, err)
		if got := <-c; got != "" {
			t.Fatalf("first message %q, want the empty connected one", got)
		}
		must(t, db.Notify(ctx, "jobs", "wake"))
		if got := <-c; got != "wake" {
			t.Errorf("got %q", got)
		}
		cancel()
		for range c {
		}
	})
}

// TestMigrationFillsGap: a database that ran a higher migration before a
// lower one existed (numbers are reserved per branch) still gets the lower
// one: here 0012, the jobs' scheduled_at.
func TestMigrationFillsGap(t *testing.T) {
	ctx := context.Background()
	for _, e := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "b.db") }},
		{"postgres", func(t *testing.T) string { return testpg.URL(t) }},
	} {
		t.Run(e.name, func(t *testing.T) {
			url := e.url(t)
			db, err := storeopen.Open(ctx, url)
			must(t, err)
			for _, q := range []string{"DROP INDEX jobs_scheduled_due", "ALTER TABLE jobs DROP COLUMN scheduled_at",
				"DELETE FROM schema_migrations WHERE version = 12"} {
				if _, err := db.SQL().Exec(q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			db.Close()
			db, err = storeopen.Open(ctx, url)
			must(t, err)
			defer db.Close()
			var n int
			must(t, db.SQL().QueryRow("SELECT COUNT(*) FROM schema_migrations WHERE version = 12").Scan(&n))
			if n != 1 {
				t.Fatalf("migration 12 recorded %d times after reopening, want 1", n)
			}
			if _, err := db.SQL().Exec("UPDATE jobs SET scheduled_at = NULL WHERE id = 0"); err != nil {
				t.Errorf("scheduled_at missing after reopening: %v", err)
			}
		})
	}
}

// TestStartOnCurrentSchemaNeedsNoWriteLock: a process opening a SQLite
// database whose schema is current takes no write lock for migrations, so
// it starts while another process holds a long write transaction (it used
// to open one write transaction per migration, each waiting its turn).
func TestStartOnCurrentSchemaNeedsNoWriteLock(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "b.db")
	first, err := storeopen.Open(ctx, url)
	must(t, err)
	defer first.Close()
	tx, err := first.SQL().BeginTx(ctx, nil) // _txlock=immediate: holds the write lock
	must(t, err)
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE job_queue SET version = version + 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	second, err := storeopen.Open(ctx, url)
	if err != nil {
		t.Fatalf("opening a current database while another connection writes: %v", err)
	}
	second.Close()
}
