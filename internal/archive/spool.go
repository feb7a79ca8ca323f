package archive

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// spool is an append-only byte sequence that stays in memory up to memMax
// bytes and moves to a temporary file beyond. The file is unlinked as soon
// as it is created (where the system allows), so nothing is left on disk
// even if the process dies; close releases it. Bytes already written can be
// overwritten in place with patch.
type spool struct {
	dir    string
	memMax int
	f      *os.File
	name   string // set while the file still has a name to remove
	buf    []byte // unflushed tail (or everything, before the file exists)
	off    int64  // file offset of buf[0]
	err    error
}

// spoolFlush is the size of the write buffer once a spool is on disk.
const spoolFlush = 64 << 10

func newSpool(dir string, memMax int) *spool { return &spool{dir: dir, memMax: memMax} }

func (s *spool) size() int64 { return s.off + int64(len(s.buf)) }

func (s *spool) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	s.buf = append(s.buf, p...)
	if s.f == nil && len(s.buf) > s.memMax {
		if s.err = s.open(); s.err != nil {
			return 0, s.err
		}
	}
	if s.f != nil && len(s.buf) >= spoolFlush {
		if _, s.err = s.f.WriteAt(s.buf, s.off); s.err != nil {
			s.err = fmt.Errorf("writing temporary file: %w", s.err)
			return 0, s.err
		}
		s.off += int64(len(s.buf))
		s.buf = s.buf[:0]
	}
	return len(p), nil
}

func (s *spool) open() error {
	f, err := os.CreateTemp(s.dir, "baton-index-*")
	if err != nil {
		return fmt.Errorf("creating temporary file: %w", err)
	}
	s.f = f
	if os.Remove(f.Name()) != nil {
		s.name = f.Name() // not on this system: removed by close
	}
	// Keep only a write buffer in memory from now on.
	s.buf = slices.Clip(s.buf)
	return nil
}

// patch overwrites len(b) bytes at off, which must have been written.
func (s *spool) patch(off int64, b []byte) error {
	if s.err != nil {
		return s.err
	}
	if off+int64(len(b)) > s.size() || off < 0 {
		return errors.New("patch past the end of a spool")
	}
	if off < s.off {
		n := int(min(int64(len(b)), s.off-off))
		if _, err := s.f.WriteAt(b[:n], off); err != nil {
			s.err = fmt.Errorf("writing temporary file: %w", err)
			return s.err
		}
		b, off = b[n:], off+int64(n)
	}
	if len(b) > 0 {
		copy(s.buf[off-s.off:], b)
	}
	return nil
}

// ReadAt reads what was written, flushed or not.
func (s *spool) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	if off < s.off {
		m, err := s.f.ReadAt(p[:min(int64(len(p)), s.off-off)], off)
		n += m
		if err != nil {
			return n, err
		}
	}
	if n < len(p) {
		start := off + int64(n) - s.off
		if start >= int64(len(s.buf)) {
			return n, io.EOF
		}
		n += copy(p[n:], s.buf[start:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// reader returns a buffered reader of the bytes from off to the end.
func (s *spool) reader(off int64, bufSize int) *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(s, off, s.size()-off), bufSize)
}

func (s *spool) close() {
	if s.f != nil {
		s.f.Close()
		if s.name != "" {
			os.Remove(s.name)
		}
		s.f = nil
	}
	s.buf = nil
}

// sorter sorts variable-length byte records (compared with bytes.Compare)
// in at most memMax bytes of memory: full buffers are sorted and spilled as
// runs to a spool, and the runs are merged, at most mergeFanIn at a time.
type sorter struct {
	memMax int
	dir    string
	arena  []byte
	recs   []recRef
	runs   []run
	spill  *spool
	n      int64
}

type recRef struct{ off, len uint32 }

type run struct{ start, end int64 }

const (
	mergeFanIn     = 32
	mergeReadBuf   = 32 << 10
	recRefOverhead = 8
)

func newSorter(dir string, memMax int) *sorter { return &sorter{dir: dir, memMax: memMax} }

func (s *sorter) add(rec []byte) error {
	if len(s.arena)+len(rec)+recRefOverhead*(len(s.recs)+1) > s.memMax && len(s.recs) > 0 {
		if err := s.flush(); err != nil {
			return err
		}
	}
	s.recs = append(s.recs, recRef{off: uint32(len(s.arena)), len: uint32(len(rec))})
	s.arena = append(s.arena, rec...)
	s.n++
	return nil
}

func (s *sorter) rec(r recRef) []byte { return s.arena[r.off : r.off+r.len] }

func (s *sorter) sortBuffer() {
	slices.SortFunc(s.recs, func(a, b recRef) int { return bytes.Compare(s.rec(a), s.rec(b)) })
}

// flush sorts the buffer and writes it as a run.
func (s *sorter) flush() error {
	s.sortBuffer()
	if s.spill == nil {
		s.spill = newSpool(s.dir, 0)
	}
	start := s.spill.size()
	var lenBuf [binary.MaxVarintLen32]byte
	for _, r := range s.recs {
		n := binary.PutUvarint(lenBuf[:], uint64(r.len))
		s.spill.Write(lenBuf[:n])
		if _, err := s.spill.Write(s.rec(r)); err != nil {
			return err
		}
	}
	s.runs = append(s.runs, run{start, s.spill.size()})
	s.recs, s.arena = s.recs[:0], s.arena[:0]
	return nil
}

// each calls fn with every record in order; rec is valid only during the call.
// The sorter cannot be used afterwards, except for close.
func (s *sorter) each(fn func(rec []byte) error) error {
	if len(s.runs) == 0 {
		s.sortBuffer()
		for _, r := range s.recs {
			if err := fn(s.rec(r)); err != nil {
				return err
			}
		}
		return nil
	}
	if len(s.recs) > 0 {
		if err := s.flush(); err != nil {
			return err
		}
	}
	s.arena, s.recs = nil, nil
	for len(s.runs) > mergeFanIn {
		start := s.spill.size()
		var lenBuf [binary.MaxVarintLen32]byte
		err := s.merge(s.runs[:mergeFanIn], func(rec []byte) error {
			n := binary.PutUvarint(lenBuf[:], uint64(len(rec)))
			s.spill.Write(lenBuf[:n])
			_, err := s.spill.Write(rec)
			return err
		})
		if err != nil {
			return err
		}
		s.runs = append(s.runs[mergeFanIn:], run{start, s.spill.size()})
	}
	return s.merge(s.runs, fn)
}

// merge calls fn with the records of runs in order (a small heap of cursors).
func (s *sorter) merge(runs []run, fn func(rec []byte) error) error {
	type cursor struct {
		r   *bufio.Reader
		rec []byte
	}
	next := func(c *cursor) (bool, error) {
		n, err := binary.ReadUvarint(c.r)
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading sort run: %w", err)
		}
		if uint64(cap(c.rec)) < n {
			c.rec = make([]byte, n)
		}
		c.rec = c.rec[:n]
		if _, err := io.ReadFull(c.r, c.rec); err != nil {
			return false, fmt.Errorf("reading sort run: %w", err)
		}
		return true, nil
	}
	var heap []*cursor
	for _, r := range runs {
		c := &cursor{r: bufio.NewReaderSize(io.NewSectionReader(s.spill, r.start, r.end-r.start), mergeReadBuf)}
		ok, err := next(c)
		if err != nil {
			return err
		}
		if ok {
			heap = append(heap, c)
		}
	}
	less := func(i, j int) bool { return bytes.Compare(heap[i].rec, heap[j].rec) < 0 }
	down := func(i int) {
		for {
			l, m := 2*i+1, i
			if l < len(heap) && less(l, m) {
				m = l
			}
			if l+1 < len(heap) && less(l+1, m) {
				m = l + 1
			}
			if m == i {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		down(i)
	}
	for len(heap) > 0 {
		if err := fn(heap[0].rec); err != nil {
			return err
		}
		ok, err := next(heap[0])
		if err != nil {
			return err
		}
		if !ok {
			heap[0] = heap[len(heap)-1]
			heap = heap[:len(heap)-1]
		}
		down(0)
	}
	return nil
}

func (s *sorter) close() {
	if s.spill != nil {
		s.spill.close()
	}
	s.arena, s.recs = nil, nil
}
