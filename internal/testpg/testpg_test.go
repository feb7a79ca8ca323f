package testpg

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func TestURLGivesFreshDatabases(t *testing.T) {
	ctx := context.Background()
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	for _, u := range []string{a, b} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatalf("connecting to %s: %v", u, err)
		}
		var n int
		if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
			t.Fatalf("counting tables: %v", err)
		}
		if n != 0 {
			t.Errorf("database %s has %d tables, want an empty one", u, n)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE t (id int)`); err != nil {
			t.Fatalf("creating a table: %v", err)
		}
		conn.Close(ctx)
	}
}

func TestClusterRestarts(t *testing.T) {
	ctx := context.Background()
	c := NewCluster(t)
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (id int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	c.Stop(t)
	if err := conn.Ping(ctx); err == nil {
		t.Fatalf("a connection survived the stop")
	}
	c.Start(t)
	again, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		t.Fatalf("reconnecting after the restart: %v", err)
	}
	defer again.Close(ctx)
	var id int
	if err := again.QueryRow(ctx, `SELECT id FROM kept`).Scan(&id); err != nil || id != 7 {
		t.Fatalf("after the restart: %d, %v; want the row written before", id, err)
	}
}
