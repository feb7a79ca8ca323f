package blobtest

import (
	"encoding/binary"
	"errors"
	"io"
)

// Content is deterministic pseudo-random content of a given size that can be
// produced as a stream (without holding it in memory) and checked at any
// offset. Byte i depends only on Seed and i.
type Content struct {
	Seed uint64
	Size int64
}

// word returns the 8 bytes at offset 8*w.
func (c Content) word(w int64) uint64 {
	// splitmix64
	z := c.Seed + uint64(w+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Fill writes the content at offset off into p, up to the end of the
// content, and returns how many bytes it wrote.
func (c Content) Fill(p []byte, off int64) int {
	if off >= c.Size {
		return 0
	}
	if rest := c.Size - off; int64(len(p)) > rest {
		p = p[:rest]
	}
	var b [8]byte
	i := 0
	if r := off % 8; r != 0 { // unaligned head
		binary.LittleEndian.PutUint64(b[:], c.word(off/8))
		i = copy(p, b[r:])
	}
	for w := (off + int64(i)) / 8; i+8 <= len(p); w++ {
		binary.LittleEndian.PutUint64(p[i:], c.word(w))
		i += 8
	}
	if i < len(p) { // tail
		binary.LittleEndian.PutUint64(b[:], c.word((off+int64(i))/8))
		copy(p[i:], b[:])
	}
	return len(p)
}

// Bytes returns the whole content; only for small sizes.
func (c Content) Bytes() []byte {
	p := make([]byte, c.Size)
	c.Fill(p, 0)
	return p
}

// Reader returns a fresh stream of the content.
func (c Content) Reader() io.Reader { return &contentReader{c: c} }

type contentReader struct {
	c   Content
	off int64
}

func (r *contentReader) Read(p []byte) (int, error) {
	n := r.c.Fill(p, r.off)
	r.off += int64(n)
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// errReader yields n bytes of c, then fails with err.
type errReader struct {
	r   io.Reader
	n   int64
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, e.err
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	n, err := e.r.Read(p)
	e.n -= int64(n)
	if errors.Is(err, io.EOF) {
		return n, e.err
	}
	return n, err
}
