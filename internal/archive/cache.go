package archive

import (
	"container/list"
	"fmt"
	"io"
	"sync"
)

// Cache keeps recently used indexes in memory, whole and verified, up to a
// byte budget, evicting the least recently used. Index blobs are immutable,
// so a key never needs invalidating. It is safe for concurrent use.
type Cache struct {
	maxBytes int64

	mu    sync.Mutex
	used  int64
	order *list.List // front: most recently used; values *cached
	byKey map[string]*list.Element
}

type cached struct {
	key    string
	reader *Reader
	size   int64
}

// NewCache returns a Cache holding at most maxBytes of index data.
func NewCache(maxBytes int64) *Cache {
	return &Cache{maxBytes: maxBytes, order: list.New(), byKey: make(map[string]*list.Element)}
}

// Cached returns the index stored under key if it is in the cache, so that
// a caller need not even open the index blob (a request on S3).
func (c *Cache) Cached(key string) (*Reader, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*cached).reader, true
}

// Open returns a Reader for the index stored under key, read from r (size
// bytes). A cached index costs no read at all. An index no larger than an
// eighth of the budget is read with one ReadAt, verified and cached; a larger
// one is opened with Open and not cached, so it keeps reading from r, which
// must stay open while the Reader is used. Errors are those of Open and Verify.
func (c *Cache) Open(key string, r io.ReaderAt, size int64) (*Reader, error) {
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok {
		c.order.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*cached).reader, nil
	}
	c.mu.Unlock()
	if size > c.maxBytes/8 {
		return Open(r, size)
	}
	if size < headerLen {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorruptIndex, size)
	}
	b := make([]byte, size)
	if n, err := r.ReadAt(b, 0); n < len(b) {
		return nil, fmt.Errorf("reading artifact index %s: %w", key, err)
	}
	x, err := OpenBytes(b)
	if err != nil {
		return nil, err
	}
	if err := x.Verify(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok { // loaded concurrently
		return el.Value.(*cached).reader, nil
	}
	c.byKey[key] = c.order.PushFront(&cached{key: key, reader: x, size: size})
	c.used += size
	for c.used > c.maxBytes {
		old := c.order.Remove(c.order.Back()).(*cached)
		delete(c.byKey, old.key)
		c.used -= old.size
	}
	return x, nil
}

// Len is the number of cached indexes.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
