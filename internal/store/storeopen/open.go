// Package storeopen opens Baton's store from a database URL, choosing the
// engine by scheme: the one opener of the server, its commands and the
// tests. It exists apart from package store so that store itself imports
// no driver.
package storeopen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/postgres"
	"github.com/batonci/baton/internal/store/sqlite"
)

// Open opens and migrates the store at url: "sqlite:PATH" or
// "sqlite://PATH" (PATH relative or absolute: sqlite:///var/lib/baton.db;
// its directory is created), or a "postgres://" / "postgresql://" URL. An
// unknown scheme is KindInvalid; a schema newer than this binary knows is
// KindUnavailable.
func Open(ctx context.Context, url string) (*store.DB, error) { return open(ctx, url, false) }

// OpenServer is Open for a `baton server`: on SQLite it claims the database
// (store.DB.Claim) before migrating it, so that a second server fails
// before it changes anything; on PostgreSQL it is Open.
func OpenServer(ctx context.Context, url string) (*store.DB, error) { return open(ctx, url, true) }

func open(ctx context.Context, url string, serve bool) (*store.DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("creating database directory: %w", err)
		}
		openSQLite := sqlite.Open
		if serve {
			openSQLite = sqlite.OpenServer
		}
		db, err := openSQLite(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("opening SQLite database %s: %w", path, err)
		}
		return db, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		db, err := postgres.Open(ctx, url)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		return db, nil
	}
	return nil, ci.Errorf(ci.KindInvalid, "database url must start with sqlite: or postgres://")
}
