package archive

import (
	"fmt"
	"io"
	"sync"
)

// source gives the Reader bytes of a persisted index.
type source interface {
	io.ReaderAt
	// slice returns n bytes at off. The result must not be modified and is
	// valid until the next call.
	slice(off int64, n int) ([]byte, error)
}

// memSource is an index held in memory.
type memSource []byte

func (m memSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m memSource) slice(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > int64(len(m))-int64(n) {
		return nil, fmt.Errorf("%w: reference outside the index", ErrCorruptIndex)
	}
	return m[off : off+int64(n)], nil
}

// pagedSource reads an index stored elsewhere (a file, an S3 object) in
// pages of pageSize bytes and keeps at most maxPages of them, so a lookup
// costs a few large ranged reads the first time and none afterwards.
type pagedSource struct {
	r        io.ReaderAt
	size     int64
	pageSize int64
	maxPages int

	mu    sync.Mutex
	pages map[int64][]byte
	reads int // ReadAt calls made, for tests and benchmarks
}

func newPagedSource(r io.ReaderAt, size, pageSize int64, maxPages int) *pagedSource {
	return &pagedSource{r: r, size: size, pageSize: pageSize, maxPages: maxPages, pages: make(map[int64][]byte)}
}

func (s *pagedSource) ReadAt(p []byte, off int64) (int, error) { return s.r.ReadAt(p, off) }

func (s *pagedSource) slice(off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > s.size-int64(n) {
		return nil, fmt.Errorf("%w: reference outside the index", ErrCorruptIndex)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	first, last := off/s.pageSize, (off+int64(n)-1)/s.pageSize
	if n == 0 || first == last {
		page, err := s.page(first)
		if err != nil {
			return nil, err
		}
		start := off - first*s.pageSize
		return page[start : start+int64(n)], nil
	}
	out := make([]byte, 0, n)
	for i := first; i <= last; i++ {
		page, err := s.page(i)
		if err != nil {
			return nil, err
		}
		lo, hi := max(off, i*s.pageSize)-i*s.pageSize, min(off+int64(n), (i+1)*s.pageSize)-i*s.pageSize
		out = append(out, page[lo:hi]...)
	}
	return out, nil
}

// page returns page i, reading it if needed; s.mu is held.
func (s *pagedSource) page(i int64) ([]byte, error) {
	if p, ok := s.pages[i]; ok {
		return p, nil
	}
	start := i * s.pageSize
	buf := make([]byte, min(s.pageSize, s.size-start))
	s.reads++
	if n, err := s.r.ReadAt(buf, start); n < len(buf) {
		return nil, fmt.Errorf("reading artifact index at %d: %w", start, err)
	}
	if len(s.pages) >= s.maxPages {
		for k := range s.pages { // evict an arbitrary page: cheap and bounded
			delete(s.pages, k)
			break
		}
	}
	s.pages[i] = buf
	return buf, nil
}
