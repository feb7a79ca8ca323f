//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// claim takes an exclusive lock on PATH-server.lock for as long as this
// process serves the database at path; the kernel drops it when the
// process ends, however it ends. While commands hold the lock shared
// (share: migrating a database no server serves yet) it waits for them,
// up to 10 s; a server holding it is KindConflict at once.
func claim(path string) (func(), error) { return lockServer(path, true) }

// share takes the lock shared, for a command that migrates the database:
// any number of commands at once, never while a server serves it
// (KindConflict).
func share(path string) (func(), error) { return lockServer(path, false) }

// lockServer locks PATH-server.lock, PATH being the database file with
// symlinks resolved (as SQLite resolves them), so that processes naming
// one database by different paths meet on one lock; the file is created
// first so that a link to a database not yet created resolves too.
func lockServer(path string, exclusive bool) (func(), error) {
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		f.Close()
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	name := path + "-server.lock"
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the server lock of %s: %w", path, err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(10 * time.Second)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		if !exclusive || !sharedOnly(name) || time.Now().After(deadline) {
			f.Close()
			return nil, ci.Errorf(ci.KindConflict,
				"another baton server is using the SQLite database %s: SQLite serves one server process; run replicas on PostgreSQL (--database-url postgres://...)", path)
		}
		time.Sleep(wait)
	}
}

// sharedOnly reports whether the lock at name is held shared (by
// commands migrating), not by a server.
func sharedOnly(name string) bool {
	g, err := os.Open(name)
	if err != nil {
		return false
	}
	defer g.Close()
	return syscall.Flock(int(g.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) == nil
}

// unlinked reports whether f's file was removed from its directory.
func unlinked(f *os.File) bool {
	var st syscall.Stat_t
	return syscall.Fstat(int(f.Fd()), &st) == nil && st.Nlink == 0
}
