// Package storetest runs store tests on every engine: SQLite in a temporary
// directory and PostgreSQL from package testpg. Test packages using it
// should stop testpg's cluster: func TestMain(m *testing.M) { testpg.Main(m) }.
package storetest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storeopen"
	"github.com/batonci/baton/internal/testpg"
)

// Engine names an engine and opens a fresh, migrated store on it, closed
// when the test ends.
type Engine struct {
	Name string
	Open func(tb testing.TB) *store.DB
}

// Engines returns SQLite and PostgreSQL.
func Engines() []Engine {
	return []Engine{{"sqlite", OpenSQLite}, {"postgres", OpenPostgres}}
}

// ForEachEngine runs fn as a subtest per engine, each with a fresh store.
func ForEachEngine(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) { fn(t, e.Open(t)) })
	}
}

// OpenSQLite opens a fresh SQLite store in t.TempDir().
func OpenSQLite(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := storeopen.Open(context.Background(), "sqlite:"+filepath.Join(tb.TempDir(), "baton.db"))
	if err != nil {
		tb.Fatalf("opening sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// OpenPostgres opens a fresh PostgreSQL store (see package testpg for
// when it skips).
func OpenPostgres(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := storeopen.Open(context.Background(), testpg.URL(tb))
	if err != nil {
		tb.Fatalf("opening postgres: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

var seq atomic.Int64

// MustUser creates a user with a unique name.
func MustUser(tb testing.TB, db *store.DB) *ci.User {
	tb.Helper()
	u := &ci.User{Username: fmt.Sprintf("user%d", seq.Add(1)), Name: "A User", Email: "a@example.com"}
	if err := db.CreateUser(context.Background(), u); err != nil {
		tb.Fatalf("creating user: %v", err)
	}
	return u
}

// MustGroup creates a group (below parent, if not 0) with a unique path.
func MustGroup(tb testing.TB, db *store.DB, parent int64, vis ci.Visibility) *ci.Namespace {
	tb.Helper()
	g := &ci.Namespace{Path: fmt.Sprintf("group%d", seq.Add(1)), ParentID: parent, Visibility: vis}
	if err := db.CreateGroup(context.Background(), g); err != nil {
		tb.Fatalf("creating group: %v", err)
	}
	return g
}

// MustProject creates a project in namespace ns with a unique path.
func MustProject(tb testing.TB, db *store.DB, ns int64, vis ci.Visibility) *ci.Project {
	tb.Helper()
	p := &ci.Project{NamespaceID: ns, Path: fmt.Sprintf("project%d", seq.Add(1)), Visibility: vis}
	if err := db.CreateProject(context.Background(), p); err != nil {
		tb.Fatalf("creating project: %v", err)
	}
	return p
}

// MustPipeline creates a pipeline of project on ref with the given jobs
// (name → tags), all pending.
func MustPipeline(tb testing.TB, db *store.DB, project int64, ref string, jobs map[string][]string) (*ci.Pipeline, []*ci.Job) {
	tb.Helper()
	p := &ci.Pipeline{ProjectID: project, Ref: ref, SHA: fmt.Sprintf("%040x", seq.Add(1)), Source: ci.SourcePush,
		Status: ci.StatusPending}
	var js []*ci.Job
	for name, tags := range jobs {
		js = append(js, &ci.Job{Name: name, Stage: "test", Status: ci.StatusPending,
			Spec: ci.JobSpec{Name: name, Stage: "test", Script: []string{"true"}, Tags: tags}})
	}
	if err := db.CreatePipeline(context.Background(), p, js); err != nil {
		tb.Fatalf("creating pipeline: %v", err)
	}
	return p, js
}

// WantKind fails the test unless err is of kind want.
func WantKind(tb testing.TB, err error, want ci.Kind) {
	tb.Helper()
	if got := ci.KindOf(err); got != want {
		tb.Fatalf("error %v is of kind %q, want %q", err, got, want)
	}
}

// KillListeners ends every PostgreSQL connection of db's database that is
// waiting in LISTEN, as a server restart or a network failure would, and
// waits until they are gone.
func KillListeners(tb testing.TB, db *store.DB) {
	tb.Helper()
	ctx := context.Background()
	rows, err := db.SQL().QueryContext(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN %'`)
	if err != nil {
		tb.Fatalf("finding listeners: %v", err)
	}
	var pids []int64
	for rows.Next() {
		var pid int64
		if err := rows.Scan(&pid); err != nil {
			tb.Fatalf("finding listeners: %v", err)
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if len(pids) == 0 {
		tb.Fatalf("no listening connection to terminate")
	}
	for _, pid := range pids {
		if _, err := db.SQL().ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			tb.Fatalf("terminating listener %d: %v", pid, err)
		}
	}
	for _, pid := range pids {
		for i := 0; ; i++ {
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n); err != nil {
				tb.Fatalf("checking listener %d: %v", pid, err)
			}
			if n == 0 {
				break
			}
			if i == 3000 {
				tb.Fatalf("listener %d still there", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
