//go:build !unix

package sqlite

import (
	"os"

	"github.com/batonci/baton/internal/ci"
)

func claim(path string) (func(), error) {
	return nil, ci.Errorf(ci.KindUnavailable, "serving the SQLite database %s needs a unix file lock", path)
}

// share without a file lock: commands migrate as they did.
func share(path string) (func(), error) {
	return nil, ci.Errorf(ci.KindUnavailable, "no unix file lock for %s", path)
}

// unlinked: without unix file status, a file is taken to stay in place.
func unlinked(*os.File) bool { return false }
