package storetest

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storeopen"
)

// tokenRead reads the token with hash through the store and reports its
// name and how many statements the read ran.
func tokenRead(t *testing.T, db *store.DB, hash string) (string, int64) {
	t.Helper()
	var n atomic.Int64
	tok, _, err := db.PersonalTokenWithUser(store.WithStatementCount(context.Background(), &n), hash)
	if err != nil {
		t.Fatalf("reading token: %v", err)
	}
	return tok.Name, n.Load()
}

// TestRememberedReadsSeeEveryWrite: once a server remembers reads (SQLite
// only), a repeated read runs no statement, and a write of any shape made
// through the process (an autocommit statement, a transaction, a statement
// with RETURNING, a prepared statement, the store's own methods) is seen by
// the very next read. Callers get copies: changing what a read returned
// does not change what the next read returns.
func TestRememberedReadsSeeEveryWrite(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Claim(); err != nil {
			t.Fatal(err)
		}
		remembers := db.RememberReads(100)
		if remembers != (db.Dialect() == "sqlite") {
			t.Fatalf("RememberReads on %s = %v", db.Dialect(), remembers)
		}
		u := MustUser(t, db)
		tok := &ci.PersonalToken{UserID: u.ID, Name: "v0", Scopes: []string{ci.ScopeAPI}, TokenHash: fmt.Sprintf("hash-%d", u.ID)}
		if err := db.CreatePersonalToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		tokenRead(t, db, tok.TokenHash)
		name, n := tokenRead(t, db, tok.TokenHash)
		if want := map[bool]int64{true: 0, false: 1}[remembers]; name != "v0" || n != want {
			t.Fatalf("repeated read: %q in %d statements, want v0 in %d", name, n, want)
		}

		got, gotUser, err := db.PersonalTokenWithUser(ctx, tok.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		got.Scopes[0], got.Name, gotUser.Admin = "sudo", "changed by a caller", true
		again, againUser, err := db.PersonalTokenWithUser(ctx, tok.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if again.Scopes[0] != ci.ScopeAPI || again.Name != "v0" || againUser.Admin {
			t.Fatalf("a caller's change leaked into the next read: %+v %+v", again, againUser)
		}

		rename := "UPDATE personal_tokens SET name = ? WHERE id = ?"
		if db.Dialect() == "postgres" {
			rename = "UPDATE personal_tokens SET name = $1 WHERE id = $2"
		}
		writes := []struct {
			name  string
			write func(name string) error
			maybe bool // the write may not land
		}{
			{name: "autocommit statement", write: func(name string) error {
				_, err := db.SQL().ExecContext(ctx, rename, name, tok.ID)
				return err
			}},
			{name: "transaction", write: func(name string) error {
				tx, err := db.SQL().BeginTx(ctx, nil)
				if err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, rename, name, tok.ID); err != nil {
					tx.Rollback()
					return err
				}
				return tx.Commit()
			}},
			{name: "statement with RETURNING", write: func(name string) error {
				var id int64
				return db.SQL().QueryRowContext(ctx, rename+" RETURNING id", name, tok.ID).Scan(&id)
			}},
			{name: "statement with RETURNING read to its end", write: func(name string) error {
				rows, err := db.SQL().QueryContext(ctx, rename+" RETURNING id", name, tok.ID)
				if err != nil {
					return err
				}
				for rows.Next() { // the commit happens at SQLITE_DONE, in Next
				}
				return rows.Err()
			}},
			{name: "statement with RETURNING whose context ends before its end", write: func(name string) error {
				// database/sql closes the rows on another goroutine when
				// the context ends; whether the write lands or not, the
				// next read must see what the database holds.
				cctx, cancel := context.WithCancel(ctx)
				defer cancel()
				rows, err := db.SQL().QueryContext(cctx, rename+" RETURNING id", name, tok.ID)
				if err != nil {
					return err
				}
				defer rows.Close()
				rows.Next()
				cancel()
				for rows.Next() {
				}
				return nil
			}, maybe: true},
			{name: "prepared statement", write: func(name string) error {
				// Kept open, as the store keeps its statements: the
				// write settles when ExecContext returns, not at Close.
				st, err := db.SQL().PrepareContext(ctx, rename)
				if err != nil {
					return err
				}
				t.Cleanup(func() { st.Close() })
				_, err = st.ExecContext(ctx, name, tok.ID)
				return err
			}},
			{name: "a conn of the pool", write: func(name string) error {
				c, err := db.SQL().Conn(ctx)
				if err != nil {
					return err
				}
				defer c.Close()
				_, err = c.ExecContext(ctx, rename, name, tok.ID)
				return err
			}},
		}
		for i, w := range writes {
			tokenRead(t, db, tok.TokenHash) // remembered
			want := fmt.Sprintf("v%d", i+1)
			if err := w.write(want); err != nil {
				t.Fatalf("%s: %v", w.name, err)
			}
			var stored string
			if err := db.SQL().QueryRowContext(ctx, strings.Replace("SELECT name FROM personal_tokens WHERE id = ?", "?", map[bool]string{true: "$1", false: "?"}[db.Dialect() == "postgres"], 1), tok.ID).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if stored != want && !w.maybe {
				t.Fatalf("a write by %s did not land: the database holds %q, want %q", w.name, stored, want)
			}
			if got, _ := tokenRead(t, db, tok.TokenHash); got != stored {
				t.Errorf("after a write by %s the next read got %q, the database holds %q", w.name, got, stored)
			}
			// The write settled when its call returned: what is read now
			// is remembered again.
			if _, n := tokenRead(t, db, tok.TokenHash); remembers && n != 0 {
				t.Errorf("after a write by %s reads are no longer remembered: a repeated read ran %d statements", w.name, n)
			}
		}
		// A write that changes another table forgets the token too: the
		// memo is exact, not clever.
		tokenRead(t, db, tok.TokenHash)
		MustUser(t, db)
		if _, n := tokenRead(t, db, tok.TokenHash); n != 1 {
			t.Errorf("a read after an unrelated write ran %d statements, want 1", n)
		}
	})
}

// TestRememberedReadsUnderConcurrentWrites: readers on several goroutines
// never see a token older than the last write that had returned before
// their read began, while a writer renames it as fast as it can.
func TestRememberedReadsUnderConcurrentWrites(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if err := db.Claim(); err != nil {
			t.Fatal(err)
		}
		db.RememberReads(100)
		u := MustUser(t, db)
		tok := &ci.PersonalToken{UserID: u.ID, Name: "v0", Scopes: []string{ci.ScopeAPI}, TokenHash: fmt.Sprintf("hash-%d", u.ID)}
		if err := db.CreatePersonalToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		rename := "UPDATE personal_tokens SET name = ? WHERE id = ?"
		if db.Dialect() == "postgres" {
			rename = "UPDATE personal_tokens SET name = $1 WHERE id = $2"
		}
		var done atomic.Int64 // the last version whose write returned
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var stale atomic.Int64
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					before := done.Load()
					got, _, err := db.PersonalTokenWithUser(ctx, tok.TokenHash)
					if err != nil {
						t.Errorf("read: %v", err)
						return
					}
					v, _ := strconv.ParseInt(strings.TrimPrefix(got.Name, "v"), 10, 64)
					if v < before {
						stale.Add(1)
					}
				}
			}()
		}
		for i := int64(1); i <= 300; i++ {
			if _, err := db.SQL().ExecContext(ctx, rename, fmt.Sprintf("v%d", i), tok.ID); err != nil {
				t.Fatal(err)
			}
			done.Store(i)
		}
		close(stop)
		wg.Wait()
		if n := stale.Load(); n != 0 {
			t.Fatalf("%d reads returned a token older than a write that had returned before they began", n)
		}
	})
}

// TestSQLiteOneServer: a second server claiming a SQLite database fails,
// naming why, while `baton admin` (no claim) still opens it; once the
// first server closes, another may claim it. A server's opener
// (storeopen.OpenServer) claims the database itself, before it migrates.
func TestSQLiteOneServer(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "baton.db")
	open := func() *store.DB {
		db, err := storeopen.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	first, err := storeopen.OpenServer(ctx, url)
	if err != nil {
		t.Fatalf("first server: %v", err)
	}
	if !first.RememberReads(10) {
		t.Fatal("the server's store has not claimed the database")
	}
	if _, err := storeopen.OpenServer(ctx, url); ci.KindOf(err) != ci.KindConflict || !strings.Contains(err.Error(), "another baton server") {
		t.Fatalf("second server: %v, want a conflict naming another server", err)
	}
	second := open()
	err = second.Claim()
	if ci.KindOf(err) != ci.KindConflict || !strings.Contains(err.Error(), "another baton server") {
		t.Fatalf("second claim: %v, want a conflict naming another server", err)
	}
	if second.RememberReads(10) {
		t.Fatal("a store that failed to claim the database remembers reads")
	}
	if _, err := second.UserByUsername(ctx, "nobody"); !ci.IsNotFound(err) {
		t.Fatalf("the unclaimed store cannot read: %v", err)
	}
	second.Close()
	first.Close()
	third := open()
	defer third.Close()
	if err := third.Claim(); err != nil {
		t.Fatalf("claim after the first server closed: %v", err)
	}
}

// TestRememberedReadsBeforeAnyWrite: a server restarted on a database
// that needs no migration has committed nothing when its first request
// reads; that read is remembered like any other (it panicked: the memo of
// the clock's first generation had no map yet).
func TestRememberedReadsBeforeAnyWrite(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "baton.db")
	db, err := storeopen.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	u := MustUser(t, db)
	tok := &ci.PersonalToken{UserID: u.ID, Name: "before", Scopes: []string{ci.ScopeAPI}, TokenHash: fmt.Sprintf("hash-%d", u.ID)}
	must(t, db.CreatePersonalToken(ctx, tok))
	db.Close()
	if db, err = storeopen.OpenServer(ctx, url); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.RememberReads(10) {
		t.Fatal("the restarted server does not remember reads")
	}
	tokenRead(t, db, tok.TokenHash)
	if name, n := tokenRead(t, db, tok.TokenHash); name != "before" || n != 0 {
		t.Fatalf("repeated read before any write: %q in %d statements, want before in 0", name, n)
	}
}

// TestRememberedReadsSeeOtherProcesses: a write to the server's SQLite
// database by another program (here another store on the file, as the
// sqlite3 shell revoking a token by hand would be), which the server's
// commit hooks never see, is seen by the server's next read all the same;
// the read after it is remembered again.
func TestRememberedReadsSeeOtherProcesses(t *testing.T) {
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "baton.db")
	server, err := storeopen.OpenServer(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if !server.RememberReads(10) {
		t.Fatal("the server does not remember reads")
	}
	u := MustUser(t, server)
	tok := &ci.PersonalToken{UserID: u.ID, Name: "v0", Scopes: []string{ci.ScopeAPI}, TokenHash: fmt.Sprintf("hash-%d", u.ID)}
	must(t, server.CreatePersonalToken(ctx, tok))
	other, err := storeopen.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	for i, edit := range []string{
		"UPDATE personal_tokens SET name = 'v1' WHERE id = ?",
		"UPDATE personal_tokens SET revoked = TRUE, name = 'v2' WHERE id = ?",
		"UPDATE personal_tokens SET name = 'v3' WHERE id = ?",
	} {
		if i == 2 {
			// Every connection closes between uses: SQLite removes the
			// WAL index with the last one and makes a new one after.
			server.SQL().SetMaxIdleConns(0)
			other.SQL().SetMaxIdleConns(0)
		}
		tokenRead(t, server, tok.TokenHash)
		// (Once the index is made anew for every read, nothing is
		// remembered; what matters then is that the old one's header,
		// frozen, does not make a stale value look current.)
		if _, n := tokenRead(t, server, tok.TokenHash); n != 0 && i < 2 {
			t.Fatalf("a repeated read ran %d statements: nothing remembered, nothing to check", n)
		}
		if _, err := other.SQL().ExecContext(ctx, edit, tok.ID); err != nil {
			t.Fatal(err)
		}
		got, _, err := server.PersonalTokenWithUser(ctx, tok.TokenHash)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("v", i+1); got.Name != want || got.Revoked != (i >= 1) {
			t.Fatalf("after another program's edit the server read %q (revoked %v), want %q", got.Name, got.Revoked, want)
		}
		if _, n := tokenRead(t, server, tok.TokenHash); n != 0 && i < 2 {
			t.Errorf("after another program's edit reads are no longer remembered: a repeated read ran %d statements", n)
		}
	}
}
