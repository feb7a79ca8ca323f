//go:build !unix

package sqlite

import "github.com/batonci/baton/internal/ci"

func claim(path string) (func(), error) {
	return nil, ci.Errorf(ci.KindUnavailable, "serving the SQLite database %s needs a unix file lock", path)
}
