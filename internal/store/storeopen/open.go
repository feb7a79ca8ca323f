// Package storeopen opens Baton's store from a database URL, choosing the
// engine by scheme. It exists apart from package store so that store itself
// imports no driver.
package storeopen

import (
	"context"
	"strings"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/postgres"
	"github.com/batonci/baton/internal/store/sqlite"
)

// Open opens and migrates the store at url: "sqlite:PATH" or
// "sqlite://PATH" (PATH relative or absolute: sqlite:///var/lib/baton.db),
// or a "postgres://" / "postgresql://" URL. An unknown scheme is KindInvalid;
// a schema newer than this binary knows is KindUnavailable.
func Open(ctx context.Context, url string) (*store.DB, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		return sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite:"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url)
	}
	return nil, ci.Errorf(ci.KindInvalid, "database url must start with sqlite: or postgres://")
}
