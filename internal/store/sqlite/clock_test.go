package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
)

// TestClockKeepsTheDriversColumnTypes: the connections that count commits
// describe a query's columns as modernc.org/sqlite's own do (Rows.ColumnTypes:
// declared type, Go type to scan into, nullability).
func TestClockKeepsTheDriversColumnTypes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "baton.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	plain, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	type column struct {
		Name, DatabaseType string
		ScanType           reflect.Type
		Nullable, HasNull  bool
		Length             int64
		HasLength          bool
	}
	describe := func(d *sql.DB) []column {
		t.Helper()
		rows, err := d.QueryContext(ctx, "SELECT version, applied_at FROM schema_migrations ORDER BY version LIMIT 1")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatal("no migration recorded")
		}
		types, err := rows.ColumnTypes()
		if err != nil {
			t.Fatal(err)
		}
		var out []column
		for _, ct := range types {
			c := column{Name: ct.Name(), DatabaseType: ct.DatabaseTypeName(), ScanType: ct.ScanType()}
			c.Nullable, c.HasNull = ct.Nullable()
			c.Length, c.HasLength = ct.Length()
			out = append(out, c)
		}
		return out
	}
	want, got := describe(plain), describe(db.SQL())
	if want[0].DatabaseType == "" {
		t.Fatalf("the driver itself names no column type: %+v", want)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("column types through the clock's connections:\n%+v\nthe driver's:\n%+v", got, want)
	}
}
