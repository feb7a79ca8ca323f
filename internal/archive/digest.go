package archive

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// A Digester computes the SHA-256 of every entry of a zip archive from the
// archive's bytes as they stream past, as they are uploaded: Build then
// stores the digests in the index without reading the archive again.
//
// Write never blocks on parsing for long and never fails: the bytes are
// handed to a goroutine (so hashing runs on another core than the upload)
// that walks the local headers in order, inflates each entry and hashes it.
// Data descriptors are understood (deflate ends by itself; a stored entry
// ends at the descriptor whose CRC-32 and size match the bytes before it).
// Whatever it cannot follow (an unknown method with a data descriptor,
// bytes that are not a local header, more inflated bytes than the limit)
// ends the walk; the rest is drained. Every digest is only a candidate until
// Build matches it with the central directory (same offset, method, CRC-32
// and size); entries without a match are hashed by reading them.
type Digester struct {
	chunks chan []byte
	cur    []byte
	done   chan struct{}
	closed bool

	maxInflate uint64
	maxEntries uint64
	out        *spool
	n          uint64
	err        error // of the spool: the digests are lost, not the upload
}

// Digester tuning: chunks handed to the parsing goroutine, how many may wait.
const (
	digestChunk   = 256 << 10
	digestPending = 8
	// digestRecordLen: offset u64, size u64, crc u32, method u16, sha256[32].
	digestRecordLen = 8 + 8 + 4 + 2 + sha256.Size
	maxLocalExtra   = 2 * 0xffff
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, digestChunk); return &b }}

// NewDigester starts a Digester under the limits of lim (MaxUncompressed
// bounds what it inflates, MaxEntries what it records; TempDir is where its
// records spill). Close it to get the Digests, or to stop it.
func (lim Limits) NewDigester() *Digester {
	d := &Digester{chunks: make(chan []byte, digestPending), done: make(chan struct{}),
		maxInflate: lim.maxUncompressed(), maxEntries: lim.maxEntries(), out: newSpool(lim.TempDir, 1<<20)}
	go d.run()
	return d
}

// Write passes p on to the parsing goroutine; it always succeeds.
func (d *Digester) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if d.cur == nil {
			d.cur = (*chunkPool.Get().(*[]byte))[:0]
		}
		k := min(len(p), digestChunk-len(d.cur))
		d.cur = append(d.cur, p[:k]...)
		p = p[k:]
		if len(d.cur) == digestChunk {
			d.chunks <- d.cur
			d.cur = nil
		}
	}
	return n, nil
}

// Close waits for the parsing goroutine and returns what it found. The
// caller closes the Digests; a Digester whose spool failed returns nil.
func (d *Digester) Close() *Digests {
	if !d.closed {
		d.closed = true
		if len(d.cur) > 0 {
			d.chunks <- d.cur
			d.cur = nil
		}
		close(d.chunks)
	}
	<-d.done
	if d.err != nil {
		d.out.close()
		return nil
	}
	return &Digests{recs: d.out, n: d.n}
}

// Digests are the candidate entry digests a Digester found, by ascending
// local header offset.
type Digests struct {
	recs *spool
	n    uint64
}

// Len is the number of entries digested.
func (g *Digests) Len() int {
	if g == nil {
		return 0
	}
	return int(g.n)
}

// Close releases the temporary storage of g.
func (g *Digests) Close() {
	if g != nil {
		g.recs.close()
	}
}

// chunkReader reads the chunks of a Digester in order, recycling them.
type chunkReader struct {
	chunks <-chan []byte
	cur    []byte
	held   *[]byte
	n      int64 // bytes read
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.held != nil {
			chunkPool.Put(c.held)
			c.held = nil
		}
		b, ok := <-c.chunks
		if !ok {
			return 0, io.EOF
		}
		c.cur, c.held = b, &b
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	c.n += int64(n)
	return n, nil
}

func (d *Digester) run() {
	defer close(d.done)
	cr := &chunkReader{chunks: d.chunks}
	w := &digestWalker{d: d, cr: cr, br: bufio.NewReaderSize(cr, digestChunk),
		sha: sha256.New(), crc: crc32.NewIEEE(), budget: d.maxInflate}
	w.walk()
	for range d.chunks { // drain: the upload must never wait for us
	}
	if cr.held != nil {
		chunkPool.Put(cr.held)
	}
}

// digestWalker walks the local headers of a stream.
type digestWalker struct {
	d      *Digester
	cr     *chunkReader
	br     *bufio.Reader
	fr     io.ReadCloser
	sha    hash.Hash
	crc    hash.Hash32
	budget uint64 // bytes left to inflate
	buf    []byte
}

// pos is the stream offset of the next byte br returns.
func (w *digestWalker) pos() uint64 { return uint64(w.cr.n) - uint64(w.br.Buffered()) }

var errStopDigest = errors.New("stop digesting")

func (w *digestWalker) walk() {
	for w.d.n < w.d.maxEntries {
		if err := w.entry(); err != nil {
			return
		}
	}
}

// entry digests the entry whose local header comes next.
func (w *digestWalker) entry() error {
	start := w.pos()
	hdr, err := w.br.Peek(localLen)
	if err != nil || le.Uint32(hdr) != sigLocal {
		return errStopDigest // the central directory, or what we cannot follow
	}
	flags, method := le.Uint16(hdr[6:]), le.Uint16(hdr[8:])
	csize, usize := uint64(le.Uint32(hdr[18:])), uint64(le.Uint32(hdr[22:]))
	varLen := int(le.Uint16(hdr[26:])) + int(le.Uint16(hdr[28:]))
	nameLen := int(le.Uint16(hdr[26:]))
	w.br.Discard(localLen)
	if cap(w.buf) < varLen {
		w.buf = make([]byte, varLen)
	}
	v := w.buf[:varLen]
	if _, err := io.ReadFull(w.br, v); err != nil {
		return errStopDigest
	}
	zip64 := false
	for extra := v[nameLen:]; len(extra) >= 4; {
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if n > len(extra)-4 {
			break
		}
		field := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != extraZip64 {
			continue
		}
		zip64 = true
		for _, dst := range []*uint64{&usize, &csize} {
			if *dst == uint32Max && len(field) >= 8 {
				*dst = le.Uint64(field)
				field = field[8:]
			}
		}
	}
	descriptor := flags&0x8 != 0
	if flags&flagEncrypted != 0 || method != MethodStore && method != MethodDeflate {
		if descriptor {
			return errStopDigest // its end cannot be found without reading the data
		}
		_, err := w.br.Discard(int(min(csize, 1<<62)))
		if err != nil {
			return errStopDigest
		}
		return nil
	}
	w.sha.Reset()
	w.crc.Reset()
	dataStart := w.pos()
	var size uint64
	switch {
	case method == MethodDeflate:
		if w.fr == nil {
			// br is a *bufio.Reader: no read-ahead, and klauspost's
			// inflater decodes straight from its buffer.
			w.fr = flate.NewReader(w.br)
		} else if err := w.fr.(flate.Resetter).Reset(w.br, nil); err != nil {
			return errStopDigest
		}
		// WriteTo hands the inflater's window to the hashes: no copy.
		bh := &budgetHashers{h: hashers{w.sha, w.crc}, left: w.budget}
		n, err := w.fr.(io.WriterTo).WriteTo(bh)
		if err != nil {
			return errStopDigest
		}
		size = uint64(n)
		used := w.pos() - dataStart
		if !descriptor {
			if used > csize {
				return errStopDigest
			}
			if _, err := w.br.Discard(int(csize - used)); err != nil {
				return errStopDigest
			}
		}
		csize = w.pos() - dataStart
	case !descriptor:
		if csize > w.budget {
			return errStopDigest
		}
		// Hashed in place in br's buffer: no copy.
		h := hashers{w.sha, w.crc}
		for left := csize; left > 0; {
			buf, _ := w.br.Peek(int(min(left, uint64(w.br.Size()))))
			if len(buf) == 0 {
				return errStopDigest
			}
			h.Write(buf)
			w.br.Discard(len(buf))
			left -= uint64(len(buf))
		}
		size = csize
	default:
		n, err := w.storedUntilDescriptor(zip64)
		if err != nil {
			return err
		}
		size, csize = n, n
	}
	w.budget -= size
	if descriptor {
		if err := w.skipDescriptor(csize, size, zip64); err != nil {
			return err
		}
	}
	var rec [digestRecordLen]byte
	le.PutUint64(rec[0:], start)
	le.PutUint64(rec[8:], size)
	le.PutUint32(rec[16:], w.crc.Sum32())
	le.PutUint16(rec[20:], method)
	w.sha.Sum(rec[22:22])
	if _, err := w.d.out.Write(rec[:]); err != nil {
		w.d.err = err
		return err
	}
	w.d.n++
	return nil
}

var descriptorSig = []byte{'P', 'K', 7, 8}

// storedUntilDescriptor hashes stored data whose size only its data
// descriptor tells: the data ends where a descriptor signature is followed
// by the CRC-32 and size of the bytes before it.
func (w *digestWalker) storedUntilDescriptor(zip64 bool) (uint64, error) {
	var n uint64
	h := hashers{w.sha, w.crc}
	for {
		buf, err := w.br.Peek(w.br.Size())
		if len(buf) < 16 {
			return 0, errStopDigest // no room left for a descriptor
		}
		i := bytes.Index(buf, descriptorSig)
		if i < 0 {
			k := len(buf) - 3 // a signature may straddle the window
			if err != nil {
				k = len(buf)
			}
			if n += uint64(k); n > w.budget {
				return 0, errStopDigest
			}
			h.Write(buf[:k])
			w.br.Discard(k)
			continue
		}
		if n += uint64(i); n > w.budget {
			return 0, errStopDigest
		}
		h.Write(buf[:i])
		w.br.Discard(i)
		d, _ := w.br.Peek(4 + 20)
		if w.descriptorLen(d[4:], n, n, zip64) > 0 {
			return n, nil
		}
		h.Write(d[:1]) // a 'P' of the data
		w.br.Discard(1)
		n++
	}
}

// descriptorLen is the length (without signature) of the data descriptor
// at the start of d if it records the CRC-32 so far and the sizes, else 0.
// Sizes take 8 bytes each after a zip64 local header, 4 otherwise; writers
// disagree, so both are tried, the expected one first.
func (w *digestWalker) descriptorLen(d []byte, csize, usize uint64, zip64 bool) int {
	if len(d) < 12 || le.Uint32(d) != w.crc.Sum32() {
		return 0
	}
	short := uint64(le.Uint32(d[4:])) == csize && uint64(le.Uint32(d[8:])) == usize
	long := len(d) >= 20 && le.Uint64(d[4:]) == csize && le.Uint64(d[12:]) == usize
	switch {
	case short && !(zip64 && long):
		return 12
	case long:
		return 20
	}
	return 0
}

// skipDescriptor consumes the data descriptor after an entry's data, with
// or without its signature.
func (w *digestWalker) skipDescriptor(csize, usize uint64, zip64 bool) error {
	d, _ := w.br.Peek(4 + 20)
	skip := 0
	if len(d) >= 4 && bytes.Equal(d[:4], descriptorSig) {
		if n := w.descriptorLen(d[4:], csize, usize, zip64); n > 0 {
			skip = 4 + n
		}
	}
	if skip == 0 {
		skip = w.descriptorLen(d, csize, usize, zip64)
	}
	if skip == 0 {
		return errStopDigest
	}
	w.br.Discard(skip)
	return nil
}

// hashers writes to a SHA-256 and a CRC-32 at once (io.MultiWriter without
// its allocation per call).
type hashers struct {
	sha hash.Hash
	crc hash.Hash32
}

func (h hashers) Write(p []byte) (int, error) {
	h.sha.Write(p)
	h.crc.Write(p)
	return len(p), nil
}

var errBudget = errors.New("more inflated bytes than the limit")

// budgetHashers writes to hashers at most left bytes.
type budgetHashers struct {
	h    hashers
	left uint64
}

func (b *budgetHashers) Write(p []byte) (int, error) {
	if uint64(len(p)) > b.left {
		return 0, errBudget
	}
	b.left -= uint64(len(p))
	return b.h.Write(p)
}
