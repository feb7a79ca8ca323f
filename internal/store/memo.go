package store

import (
	"sync"
	"sync/atomic"
)

// WriteClock counts the commits made through one process's connections to
// a database that process serves (SQLite under one server; see
// sqlite.Open), and, with WatchOthers, those other programs make. The engine calls Committing when a transaction is about to
// commit (SQLite's commit hook, before any reader can see it) and
// Committed once the call that committed has returned (the commit is
// visible by then). Between the two a commit is in flight.
//
// With it the store can remember a read between writes exactly: a value
// read while no commit was in flight and stored under the generation read
// before it is served only while the generation is unchanged, so a request
// that starts after a write returned never sees what the write changed.
type WriteClock struct {
	gen      atomic.Uint64
	inflight atomic.Int64
	// others, if set, reads a fingerprint of the database's last commit by
	// any process (WatchOthers); seen is the last one read.
	others func() ([48]byte, bool)
	seen   atomic.Pointer[[48]byte]
}

// WatchOthers makes the clock count the commits of other processes too,
// which its commit hooks never see (the sqlite3 shell editing the file
// under the server): last reads a fingerprint of the database's last
// commit, whoever made it (SQLite's WAL-index header), false when it
// cannot. A fingerprint the clock has not seen yet, or none, counts as a
// commit. Set it before the store remembers reads.
func (c *WriteClock) WatchOthers(last func() ([48]byte, bool)) { c.others = last }

// observe counts a commit when the fingerprint changed since last seen.
func (c *WriteClock) observe() {
	if c.others == nil {
		return
	}
	fp, ok := c.others()
	if seen := c.seen.Load(); ok && seen != nil && *seen == fp {
		return
	}
	if ok {
		n := new([48]byte)
		*n = fp
		c.seen.Store(n)
	}
	c.gen.Add(1)
}

// now is the generation, counting the commits of others seen until now.
func (c *WriteClock) now() uint64 {
	c.observe()
	return c.gen.Load()
}

// Committing records a commit about to happen.
func (c *WriteClock) Committing() {
	c.inflight.Add(1)
	c.gen.Add(1)
}

// Committed records that n commits announced by Committing are done.
func (c *WriteClock) Committed(n int64) {
	c.gen.Add(1)
	c.inflight.Add(-n)
}

// begin is the generation a read starts under, and whether what it reads
// may be remembered (no commit in flight).
func (c *WriteClock) begin() (uint64, bool) {
	g := c.now()
	return g, c.inflight.Load() == 0
}

// memo remembers up to max values of one read, all of one generation of
// the clock: a commit empties it at the next put, and a get under another
// generation misses.
type memo[K comparable, V any] struct {
	mu  sync.RWMutex
	gen uint64
	m   map[K]V
	max int
}

func (m *memo[K, V]) get(gen uint64, k K) (V, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.gen != gen || m.m == nil {
		var zero V
		return zero, false
	}
	v, ok := m.m[k]
	return v, ok
}

func (m *memo[K, V]) put(gen uint64, k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || m.gen != gen || len(m.m) >= m.max {
		if m.gen > gen { // a later generation already started filling it
			return
		}
		m.gen, m.m = gen, make(map[K]V)
	}
	m.m[k] = v
}

// readCache holds the memos of the hot reads of an authenticated artifact
// read: the token with its user, the project with the caller's level, the
// job with its archives.
type readCache struct {
	clock    *WriteClock
	tokens   memo[string, tokenWithUser]
	projects memo[projectKey, projectWithLevel]
	jobs     memo[int64, jobWithArtifacts]
}

// RememberReads makes the store remember its hot reads (see readCache)
// between writes, up to entries of each kind. It is only correct when
// the engine counts every commit (a WriteClock: SQLite's hooks for this
// process, its WAL index header for others) and the process has claimed
// the database (Claim: no other server writes it; `baton admin token
// create` only adds a token and the first user, and does not migrate it
// under the server). Otherwise it does nothing and reports false.
// entries 0 turns it off.
func (db *DB) RememberReads(entries int) bool {
	if db.engine.Clock == nil || db.claimed == nil || entries <= 0 {
		db.cache.Store(nil)
		return false
	}
	c := &readCache{clock: db.engine.Clock}
	c.tokens.max, c.projects.max, c.jobs.max = entries, entries, entries
	db.cache.Store(c)
	return true
}

// remember serves key from m while the database is unchanged since it was
// read, or reads it with load and remembers it when no commit could have
// interleaved. clone gives each caller its own copy, since callers may
// change what they get.
func remember[K comparable, V any](db *DB, m func(*readCache) *memo[K, V], key K, load func() (V, error), clone func(V) V) (V, error) {
	c := db.cache.Load()
	if c == nil {
		return load()
	}
	mm := m(c)
	gen, ok := c.clock.begin()
	if v, hit := mm.get(gen, key); hit {
		return clone(v), nil
	}
	v, err := load()
	if err != nil || !ok || c.clock.now() != gen {
		return v, err
	}
	mm.put(gen, key, clone(v))
	return v, nil
}
