//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/batonci/baton/internal/ci"
)

// claim takes an exclusive lock on PATH-server.lock for as long as this
// process serves the database at path; the kernel drops it when the
// process ends, however it ends. PATH is the database file with symlinks
// resolved (as SQLite resolves them), so that servers naming one database
// by different paths meet on one lock; the file is created first so that
// a link to a database not yet created resolves too.
func claim(path string) (func(), error) {
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		f.Close()
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	f, err := os.OpenFile(path+"-server.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the server lock of %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ci.Errorf(ci.KindConflict,
				"another baton server is using the SQLite database %s: SQLite serves one server process; run replicas on PostgreSQL (--database-url postgres://...)", path)
		}
		return nil, fmt.Errorf("locking %s-server.lock: %w", path, err)
	}
	return func() { f.Close() }, nil
}
