//go:build unix

package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
)

// TestSecondServerChangesNothing: a second server on a database another
// one serves fails before it migrates, even when its binary brings a
// migration the first has not run: the first remembers reads between its
// own commits only, so a write by another server would go unseen.
func TestSecondServerChangesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	first, err := OpenServer(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	before, err := first.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	newer := append(ms[:len(ms):len(ms)], store.Migration{Version: before + 1, Name: "newer_binary.sql",
		SQL: "CREATE TABLE written_by_the_second_server (id INTEGER)"})
	second, err := open(ctx, path, newer, true)
	if err == nil {
		second.Close()
	}
	if ci.KindOf(err) != ci.KindConflict {
		t.Fatalf("second server: %v, want a conflict", err)
	}
	after, err := first.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var tables int
	if err := first.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'written_by_the_second_server'`).Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if after != before || tables != 0 {
		t.Fatalf("the refused second server migrated the database: schema %d → %d, its table %d", before, after, tables)
	}
}

// TestServerClaimFollowsSymlinks: servers naming one database by
// different paths (a symlink to the file, or to a file not yet created)
// meet on one claim, as SQLite itself resolves the link to one database.
func TestServerClaimFollowsSymlinks(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		create bool // the database exists before the link's server starts
	}{{"link to a database", true}, {"link to a database not yet created", false}} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			real, link := filepath.Join(dir, "real.db"), filepath.Join(dir, "link.db")
			if err := os.Symlink("real.db", link); err != nil {
				t.Fatal(err)
			}
			firstPath, secondPath := link, real
			if c.create {
				firstPath, secondPath = real, link
			}
			first, err := OpenServer(ctx, firstPath)
			if err != nil {
				t.Fatal(err)
			}
			defer first.Close()
			second, err := OpenServer(ctx, secondPath)
			if err == nil {
				second.Close()
			}
			if ci.KindOf(err) != ci.KindConflict {
				t.Fatalf("a second server on %s while one serves %s: %v, want a conflict", filepath.Base(secondPath), filepath.Base(firstPath), err)
			}
		})
	}
}

// TestCommandBesideServerDoesNotMigrate: a command (`baton admin`) of a
// newer binary opening a database a server serves does not migrate it
// under the server (it fails, naming why); one of the server's own
// version opens it; once no server runs, the newer one migrates it.
func TestCommandBesideServerDoesNotMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	server, err := OpenServer(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	current, err := server.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	newer := append(ms[:len(ms):len(ms)], store.Migration{Version: current + 1, Name: "newer_binary.sql",
		SQL: "CREATE TABLE written_by_the_command (id INTEGER)"})
	schema := func(db *store.DB) (int, int) {
		t.Helper()
		v, err := db.SchemaVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var tables int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE name = 'written_by_the_command'`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		return v, tables
	}

	cmd, err := open(ctx, path, newer, false)
	if err == nil {
		cmd.Close()
	}
	if ci.KindOf(err) != ci.KindUnavailable {
		t.Errorf("a newer command beside the server: %v, want unavailable", err)
	}
	if v, tables := schema(server); v != current || tables != 0 {
		t.Fatalf("a command migrated the database under its server: schema %d → %d, its table %d", current, v, tables)
	}

	same, err := open(ctx, path, ms, false)
	if err != nil {
		t.Fatalf("a command of the server's version beside it: %v", err)
	}
	same.Close()

	server.Close()
	later, err := open(ctx, path, newer, false)
	if err != nil {
		t.Fatalf("the newer command once no server runs: %v", err)
	}
	defer later.Close()
	if v, tables := schema(later); v != current+1 || tables != 1 {
		t.Fatalf("the newer command without a server: schema %d, its table %d; want %d, 1", v, tables, current+1)
	}
}

// TestServerWaitsForMigratingCommands: a server starting while commands
// migrate the database (holding the server lock shared) waits for them
// instead of taking them for another server.
func TestServerWaitsForMigratingCommands(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	release, err := share(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		db, err := OpenServer(ctx, path)
		if err == nil {
			db.Close()
		}
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // the server meets the command's lock
	release()
	if err := <-done; err != nil {
		t.Fatalf("a server starting while a command migrated: %v", err)
	}
}
