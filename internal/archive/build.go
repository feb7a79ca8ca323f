package archive

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"iter"
	"slices"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Limits bound what Build accepts from an uploaded archive.
type Limits struct {
	// MaxEntries bounds the records of the central directory, checked
	// against the end record before any is read. 0 means DefaultMaxEntries;
	// negative means the format's own maximum.
	MaxEntries int64
	// MaxUncompressed bounds the sum of the uncompressed sizes the entries
	// declare, in bytes. 0 means DefaultMaxUncompressed; negative, unlimited.
	MaxUncompressed int64
	// TempDir is where sorting spills when an index outgrows its memory
	// budget; "" means os.TempDir(). Files there are unlinked on creation.
	TempDir string

	memory int // bytes of sort buffers; 0 means defaultBuildMemory
}

// Defaults of Limits. 200,000 entries is twice the largest artifact seen in
// practice (a coverage report of ~100,000 files); 16 GiB declared is what a
// GiB-sized upload of ordinary build output inflates to, with room to spare,
// while an archive built to inflate (deflate reaches ~1000:1) is refused.
const (
	DefaultMaxEntries      = 200_000
	DefaultMaxUncompressed = 16 << 30
	defaultBuildMemory     = 8 << 20
)

func (l Limits) maxEntries() uint64 {
	switch {
	case l.MaxEntries == 0:
		return DefaultMaxEntries
	case l.MaxEntries < 0 || l.MaxEntries > maxEntries:
		return maxEntries
	}
	return uint64(l.MaxEntries)
}

func (l Limits) maxUncompressed() uint64 {
	switch {
	case l.MaxUncompressed == 0:
		return DefaultMaxUncompressed
	case l.MaxUncompressed < 0:
		return 1<<64 - 1
	}
	return uint64(l.MaxUncompressed)
}

// Index is the persisted form of an archive's index, built by Build and held
// in temporary storage (memory when small, unlinked temporary files beyond)
// until written with WriteTo. Close releases it.
type Index struct {
	count, rootChildren, slots uint32
	stringsLen, bodyCRC        uint32
	// The body's sections, in order.
	records, children, hash, strs, digests *spool
	// readDigests counts the files hashed by reading the archive, not
	// from streamed digests (for tests).
	readDigests int
}

// Len is the number of entries, implied directories included.
func (x *Index) Len() int { return int(x.count) }

// Entries returns all entries sorted by path (bytewise), so that every
// directory is directly followed by its descendants. It decodes the whole
// index into memory: for tests and small archives.
func (x *Index) Entries() []Entry {
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		return nil
	}
	r, err := OpenBytes(buf.Bytes())
	if err != nil {
		return nil
	}
	all, _, err := r.List("", true, ci.Page{})
	if err != nil {
		return nil
	}
	return all
}

// WriteTo writes the persisted index to w and returns the bytes written.
func (x *Index) WriteTo(w io.Writer) (int64, error) {
	l := newLayout(formatVersion, x.count, x.rootChildren, x.slots, x.stringsLen)
	hdr := make([]byte, headerLen)
	copy(hdr, magic)
	hdr[7] = formatVersion
	le.PutUint32(hdr[8:], l.count)
	le.PutUint32(hdr[12:], l.rootChildren)
	le.PutUint32(hdr[16:], l.slots)
	le.PutUint32(hdr[20:], l.stringsLen)
	le.PutUint64(hdr[24:], uint64(l.total))
	le.PutUint32(hdr[32:], x.bodyCRC)
	le.PutUint32(hdr[36:], crc32.Checksum(hdr[:36], castagnoli))
	n, err := w.Write(hdr)
	total := int64(n)
	if err != nil {
		return total, fmt.Errorf("writing artifact index: %w", err)
	}
	buf := make([]byte, 64<<10)
	for _, s := range x.sections() {
		n, err := io.CopyBuffer(w, io.NewSectionReader(s, 0, s.size()), buf)
		total += n
		if err != nil {
			return total, fmt.Errorf("writing artifact index: %w", err)
		}
	}
	return total, nil
}

func (x *Index) sections() []*spool {
	return []*spool{x.records, x.children, x.hash, x.strs, x.digests}
}

// Files returns the files of x (not directories) with their digests, in
// path order, read sequentially from x's temporary storage; err, called
// after the iteration, reports a failure to read it.
func (x *Index) Files() (files iter.Seq2[string, [32]byte], err func() error) {
	var readErr error
	files = func(yield func(string, [32]byte) bool) {
		recs, strs, sums := x.records.reader(0, 64<<10), x.strs.reader(0, 64<<10), x.digests.reader(0, 64<<10)
		var rec [recordLen]byte
		var sum [32]byte
		var p []byte
		for range x.count {
			if _, readErr = io.ReadFull(recs, rec[:]); readErr != nil {
				return
			}
			p = slices.Grow(p[:0], int(le.Uint16(rec[4:])))[:le.Uint16(rec[4:])]
			if _, readErr = io.ReadFull(strs, p); readErr != nil {
				return
			}
			if _, readErr = io.ReadFull(sums, sum[:]); readErr != nil {
				return
			}
			if fs.FileMode(le.Uint32(rec[8:]))&fs.ModeDir != 0 {
				continue
			}
			if !yield(string(p), sum) {
				return
			}
		}
	}
	return files, func() error {
		if readErr != nil {
			return fmt.Errorf("reading artifact index: %w", readErr)
		}
		return nil
	}
}

// Build is BuildStreamed under lim.
func (lim Limits) Build(r io.ReaderAt, size int64, streamed *Digests) (*Index, error) {
	return BuildStreamed(r, size, lim, streamed)
}

// Close releases the temporary storage of x.
func (x *Index) Close() error {
	for _, s := range x.sections() {
		if s != nil {
			s.close()
		}
	}
	return nil
}

// Build indexes the zip archive in r (size bytes) under the default Limits.
func Build(r io.ReaderAt, size int64) (*Index, error) {
	return BuildLimited(r, size, Limits{})
}

// BuildLimited is BuildStreamed without streamed digests: every entry is
// read once to hash it.
func BuildLimited(r io.ReaderAt, size int64, lim Limits) (*Index, error) {
	return BuildStreamed(r, size, lim, nil)
}

// BuildLimited reads the central directory of the zip archive in r (size
// bytes) once and indexes its entries, in memory bounded by a few MiB
// whatever their number. Input that is not a readable zip is KindInvalid
// ("artifact archive is not a valid zip: ..."); so is an entry whose name
// could escape the extraction directory (absolute, "..", backslash, NUL,
// drive letter), a path that is both a file and a directory, and entries
// whose bytes overlap (one local header or data range used by several
// entries: the overlapping zip bomb). More entries or more declared
// uncompressed bytes than lim allows are KindTooLarge, naming the limit.
// Of duplicate file entries the last one wins, as when extracting. Failing
// to use temporary storage is an internal error. Close the Index when done.
//
// Every file gets the SHA-256 of its uncompressed bytes: from streamed (a
// Digester's result, nil for none) when it has a digest at the entry's local
// header offset whose method, CRC-32 and size match the central directory's,
// else by reading the entry from r. An entry that cannot be read (encrypted,
// another method, damaged) has no digest; the archive is not refused for it.
func BuildStreamed(r io.ReaderAt, size int64, lim Limits, streamed *Digests) (*Index, error) {
	mem := lim.memory
	if mem <= 0 {
		mem = defaultBuildMemory
	}
	b := &builder{dir: lim.TempDir, mem: mem,
		byPath: newSorter(lim.TempDir, mem/2), byOffset: newSorter(lim.TempDir, mem/4),
		budget: impliedBudgetSlack}
	defer b.close()
	maxTotal := lim.maxUncompressed()
	var total uint64
	var seq uint64
	err := scanCentralDirectory(r, size, lim.maxEntries(), func(raw rawEntry, nameLen int) error {
		seq++
		if err := b.addRaw(raw, nameLen, seq); err != nil {
			return err
		}
		if raw.mode.IsDir() || len(raw.name) > 0 && raw.name[len(raw.name)-1] == '/' {
			return nil
		}
		if total += raw.size; total > maxTotal {
			return ci.Errorf(ci.KindTooLarge, "artifact archive declares at least %s of uncompressed data; at most %s is allowed (--max-artifact-uncompressed)",
				sizeString(total), sizeString(maxTotal))
		}
		return nil
	})
	var fe formatError
	if errors.As(err, &fe) {
		return nil, ci.Errorf(ci.KindInvalid, "artifact archive is not a valid zip: %v", fe.err)
	}
	if err != nil {
		return nil, err
	}
	if err := b.checkOverlaps(); err != nil {
		return nil, err
	}
	x, err := b.tree(r, streamed)
	if err != nil {
		return nil, err
	}
	return x, nil
}

// sizeString formats n bytes for a message.
func sizeString(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// builder holds the state of one Build between its passes.
type builder struct {
	dir      string
	mem      int
	byPath   *sorter // path NUL seq(8) record-template(64)
	byOffset *sorter // headerOffset(8) end(8) name
	budget   int
	spools   []*spool
}

func (b *builder) spool() *spool {
	s := newSpool(b.dir, b.mem/16)
	b.spools = append(b.spools, s)
	return s
}

// close releases everything not handed over to an Index.
func (b *builder) close() {
	b.byPath.close()
	b.byOffset.close()
	for _, s := range b.spools {
		s.close()
	}
}

// addRaw validates one central directory record and queues it for both sorts.
func (b *builder) addRaw(raw rawEntry, nameLen int, seq uint64) error {
	// Every record takes part in the overlap check, the root's "./" too.
	// A local header is at least localLen plus the name long; the extra
	// field, unknown without reading it, can only make the range longer.
	var o [16]byte
	binary.BigEndian.PutUint64(o[0:], raw.headerOffset)
	binary.BigEndian.PutUint64(o[8:], satAdd(raw.headerOffset, localLen+uint64(nameLen), raw.compressed))
	if err := b.byOffset.add(append(o[:], raw.name...)); err != nil {
		return err
	}
	p, dir, err := cleanEntryName(raw.name)
	if err != nil {
		return err
	}
	b.budget += impliedBudgetFactor * len(raw.name)
	if p == "" {
		return nil // "./": the root itself
	}
	if raw.size > 1<<62 || raw.compressed > 1<<62 || raw.headerOffset > 1<<62 {
		return ci.Errorf(ci.KindInvalid, "artifact archive is not a valid zip: entry '%s' has impossible sizes", printable(p))
	}
	e := Entry{Path: p, Size: int64(raw.size), CompressedSize: int64(raw.compressed), Method: raw.method,
		Flags: raw.flags, HeaderOffset: int64(raw.headerOffset), Mode: raw.mode,
		Modified: unixUTC(raw.modified), CRC32: raw.crc}
	if dir || e.Mode.IsDir() {
		e.Path += "/"
		e.Mode |= fs.ModeDir
		e.Size, e.CompressedSize = 0, 0
	}
	if len(e.Path) > maxPathLen {
		return ci.Errorf(ci.KindInvalid, "artifact archive entry '%s...' has a path longer than %d bytes", printable(p[:64]), maxPathLen)
	}
	rec := make([]byte, 0, len(e.Path)+9+recordLen)
	rec = append(rec, e.Path...)
	rec = append(rec, 0)
	rec = binary.BigEndian.AppendUint64(rec, seq)
	rec = rec[:len(rec)+recordLen]
	encodeRecord(rec[len(rec)-recordLen:], e, 0)
	return b.byPath.add(rec)
}

func satAdd(a, b, c uint64) uint64 {
	s := a + b
	if s < a {
		return 1<<64 - 1
	}
	if s+c < s {
		return 1<<64 - 1
	}
	return s + c
}

// checkOverlaps walks the records by offset: each must start at or after
// the end of every one before it.
func (b *builder) checkOverlaps() error {
	var end uint64
	var endName []byte
	first := true
	err := b.byOffset.each(func(rec []byte) error {
		off, e := binary.BigEndian.Uint64(rec), binary.BigEndian.Uint64(rec[8:])
		if !first && off < end {
			return ci.Errorf(ci.KindInvalid, "artifact archive has overlapping entries: '%s' and '%s' share bytes at offset %d (refused as a zip bomb)",
				printable(string(endName)), printable(string(rec[16:])), off)
		}
		if first || e > end {
			end, endName, first = e, append(endName[:0], rec[16:]...), false
		}
		return nil
	})
	b.byOffset.close()
	return err
}

// tree walks the entries by path, keeping the last of duplicates, adding
// implied directories and writing the records and strings; then it sorts
// the children and hash sections and checksums the body.
func (b *builder) tree(archive io.ReaderAt, streamed *Digests) (*Index, error) {
	t := &treeWriter{b: b, records: b.spool(), strs: b.spool(), hashes: b.spool(),
		children: newSorter(b.dir, b.mem/2), fileOffsets: newSorter(b.dir, b.mem/4), stack: []frame{{}}}
	defer t.children.close()
	defer t.fileOffsets.close()
	var pending []byte
	emitPending := func() error {
		if pending == nil {
			return nil
		}
		nul := bytes.IndexByte(pending, 0)
		return t.emit(pending[:nul], pending[nul+9:])
	}
	err := b.byPath.each(func(rec []byte) error {
		if pending != nil {
			nul := bytes.IndexByte(rec, 0)
			if !bytes.Equal(rec[:nul+1], pending[:nul+1]) {
				if err := emitPending(); err != nil {
					return err
				}
			}
		}
		pending = append(pending[:0], rec...) // a later duplicate replaces an earlier one
		return nil
	})
	if err == nil {
		err = emitPending()
	}
	if err != nil {
		return nil, err
	}
	for len(t.stack) > 1 {
		if err := t.pop(); err != nil {
			return nil, err
		}
	}
	b.byPath.close()
	x := &Index{count: t.idx, rootChildren: t.stack[0].children, slots: slotsFor(int(t.idx)),
		stringsLen: uint32(t.stringsLen), records: t.records, strs: t.strs}
	if x.children, err = t.childrenSection(); err != nil {
		return nil, err
	}
	if x.hash, err = t.hashSection(x.slots); err != nil {
		return nil, err
	}
	if err := t.fillChildStart(x.rootChildren); err != nil {
		return nil, err
	}
	if x.digests, x.readDigests, err = t.digestSection(archive, streamed); err != nil {
		return nil, err
	}
	crc := crc32.New(castagnoli)
	buf := make([]byte, 64<<10)
	for _, s := range x.sections() {
		if _, err := io.CopyBuffer(crc, io.NewSectionReader(s, 0, s.size()), buf); err != nil {
			return nil, fmt.Errorf("checksumming artifact index: %w", err)
		}
	}
	x.bodyCRC = crc.Sum32()
	for _, s := range b.spools {
		if !slices.Contains(x.sections(), s) {
			s.close()
		}
	}
	b.spools = nil // the rest is x's now
	return x, nil
}

// treeWriter emits records in path order.
type treeWriter struct {
	b                     *builder
	records, strs, hashes *spool
	children              *sorter // parent+1(4) isFile(1) name NUL record(4)
	fileOffsets           *sorter // headerOffset(8) record(4) fileKey
	idx                   uint32  // records written
	stringsLen            uint64
	// stack holds the open directories, each a prefix of the next; stack[0]
	// is the root. cur is the innermost one's path.
	stack []frame
	cur   []byte
	// files are the lengths of the written files that are prefixes of the
	// last path written (increasing); fileTop is the longest of them.
	files   []int
	fileTop []byte
}

type frame struct {
	rec      uint32
	pathLen  int
	children uint32
}

// emit writes the entry at path p (record template rec), preceded by the
// implied directories it needs.
func (t *treeWriter) emit(p, rec []byte) error {
	l := commonPrefix(t.cur, p)
	for len(t.stack) > 1 && t.stack[len(t.stack)-1].pathLen > l {
		if err := t.pop(); err != nil {
			return err
		}
	}
	// Every ancestor of p deeper than the innermost open directory is
	// missing: the entries are sorted, so a directory would have come first.
	last := len(p) - 1 // a directory's own trailing slash is not an ancestor's
	for j := t.stack[len(t.stack)-1].pathLen; j < last; j++ {
		if p[j] != '/' {
			continue
		}
		if t.b.budget -= j + 1; t.b.budget < 0 {
			return ci.Errorf(ci.KindInvalid, "artifact archive has too many deeply nested paths without directory entries")
		}
		var implied [recordLen]byte
		encodeRecord(implied[:], Entry{Mode: fs.ModeDir | 0o755, Modified: unixUTC(time.Time{}.Unix())}, 0)
		if err := t.write(p[:j+1], implied[:]); err != nil {
			return err
		}
	}
	return t.write(p, rec)
}

// write writes one record.
func (t *treeWriter) write(p, rec []byte) error {
	isDir := p[len(p)-1] == '/'
	l := commonPrefix(t.fileTop, p)
	for len(t.files) > 0 && t.files[len(t.files)-1] > l {
		t.files = t.files[:len(t.files)-1]
	}
	if isDir && len(t.files) > 0 && t.files[len(t.files)-1] == len(p)-1 {
		return ci.Errorf(ci.KindInvalid, "artifact archive has both a file and a directory named '%s'", printable(string(p[:len(p)-1])))
	}
	if t.idx >= maxEntries {
		return ci.Errorf(ci.KindTooLarge, "artifact archive has more than %d entries, directories included", maxEntries)
	}
	if t.stringsLen += uint64(len(p)); t.stringsLen > uint32Max {
		return ci.Errorf(ci.KindTooLarge, "artifact archive has more than 4 GiB of paths")
	}
	parent := &t.stack[len(t.stack)-1]
	var r [recordLen]byte
	copy(r[:], rec)
	le.PutUint32(r[0:], uint32(t.stringsLen)-uint32(len(p)))
	le.PutUint16(r[4:], uint16(len(p)))
	t.records.Write(r[:])
	t.strs.Write(p)
	var h [12]byte
	le.PutUint64(h[0:], fnv1a(p))
	le.PutUint32(h[8:], t.idx)
	if _, err := t.hashes.Write(h[:]); err != nil {
		return err
	}
	name := bytes.TrimSuffix(p, []byte("/"))
	name = name[bytes.LastIndexByte(name, '/')+1:]
	c := make([]byte, 0, 10+len(name))
	parentKey := uint32(0)
	if len(t.stack) > 1 {
		parentKey = parent.rec + 1
	}
	c = binary.BigEndian.AppendUint32(c, parentKey)
	c = append(c, boolByte(!isDir))
	c = append(c, name...)
	c = append(c, 0)
	c = binary.BigEndian.AppendUint32(c, t.idx)
	if err := t.children.add(c); err != nil {
		return err
	}
	parent.children++
	if !isDir {
		var k [12 + fileKeyLen]byte
		binary.BigEndian.PutUint64(k[0:], le.Uint64(r[40:]))
		binary.BigEndian.PutUint32(k[8:], t.idx)
		putFileKey(k[12:], r[:])
		if err := t.fileOffsets.add(k[:]); err != nil {
			return err
		}
	}
	if isDir {
		t.stack = append(t.stack, frame{rec: t.idx, pathLen: len(p)})
		t.cur = append(t.cur, p[len(t.cur):]...)
	} else {
		t.files = append(t.files, len(p))
		t.fileTop = append(t.fileTop[:0], p...)
	}
	t.idx++
	return nil
}

// pop closes the innermost open directory: its child count and descendants
// are known now.
func (t *treeWriter) pop() error {
	f := t.stack[len(t.stack)-1]
	t.stack = t.stack[:len(t.stack)-1]
	t.cur = t.cur[:t.stack[len(t.stack)-1].pathLen]
	var b [8]byte
	le.PutUint32(b[0:], f.children)
	le.PutUint32(b[4:], t.idx-f.rec-1)
	return t.records.patch(int64(f.rec)*recordLen+52, b[:])
}

// childrenSection writes the record numbers sorted by parent (the root
// first, then directories in record order), directories before files, then
// by name.
func (t *treeWriter) childrenSection() (*spool, error) {
	out := t.b.spool()
	var u [4]byte
	err := t.children.each(func(rec []byte) error {
		copy(u[:], rec[len(rec)-4:])
		le.PutUint32(u[:], binary.BigEndian.Uint32(u[:]))
		_, err := out.Write(u[:])
		return err
	})
	t.children.close()
	if err == nil && out.size() != int64(t.idx)*4 {
		err = fmt.Errorf("building artifact index: %d children for %d records", out.size()/4, t.idx)
	}
	return out, err
}

// fillChildStart sets each directory's childStart: the root's children come
// first, then each directory's in record order.
func (t *treeWriter) fillChildStart(next uint32) error {
	buf := make([]byte, 1024*recordLen)
	for off := int64(0); off < t.records.size(); off += int64(len(buf)) {
		chunk := buf[:min(int64(len(buf)), t.records.size()-off)]
		if _, err := t.records.ReadAt(chunk, off); err != nil {
			return fmt.Errorf("reading artifact index records: %w", err)
		}
		for r := chunk; len(r) >= recordLen; r = r[recordLen:] {
			if fs.FileMode(le.Uint32(r[8:]))&fs.ModeDir != 0 {
				le.PutUint32(r[48:], next)
				next += le.Uint32(r[52:])
			}
		}
		if err := t.records.patch(off, chunk); err != nil {
			return err
		}
	}
	return nil
}

// hashSection builds the open-addressing table with linear probing without
// holding it: records sorted by home slot are placed left to right, each at
// its home or just after the previous one. The few that run past the last
// slot wrap around to the first ones, which are kept free for them; their
// number is found by repeating the placement until it is stable.
func (t *treeWriter) hashSection(slots uint32) (*spool, error) {
	mask := uint64(slots - 1)
	s := newSorter(t.b.dir, t.b.mem/2)
	defer s.close()
	r := t.hashes.reader(0, 64<<10)
	var h [12]byte
	for {
		if _, err := io.ReadFull(r, h[:]); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading artifact index hashes: %w", err)
		}
		var k [8]byte
		binary.BigEndian.PutUint32(k[0:], uint32(le.Uint64(h[0:])&mask))
		binary.BigEndian.PutUint32(k[4:], le.Uint32(h[8:])+1)
		if err := s.add(k[:]); err != nil {
			return nil, err
		}
	}
	homes := t.b.spool()
	if err := s.each(func(rec []byte) error { _, err := homes.Write(rec); return err }); err != nil {
		return nil, err
	}
	// place calls put with each slot and value, wrapped ones last; it
	// returns how many wrapped.
	place := func(wrapped uint32, put func(slot, v uint32) error) (uint32, error) {
		r := homes.reader(0, 64<<10)
		next, n := uint64(wrapped), uint32(0)
		var k [8]byte
		for {
			if _, err := io.ReadFull(r, k[:]); err == io.EOF {
				return n, nil
			} else if err != nil {
				return 0, fmt.Errorf("reading artifact index hashes: %w", err)
			}
			pos := max(uint64(binary.BigEndian.Uint32(k[0:])), next)
			if pos >= uint64(slots) {
				n++
			}
			if put != nil {
				if err := put(uint32(pos%uint64(slots)), binary.BigEndian.Uint32(k[4:])); err != nil {
					return 0, err
				}
			}
			next = pos + 1
		}
	}
	var wrapped uint32
	for {
		n, err := place(wrapped, nil)
		if err != nil {
			return nil, err
		}
		if n == wrapped {
			break
		}
		wrapped = n
	}
	out := t.b.spool()
	zeros := make([]byte, 64<<10)
	writeZeros := func(n int64) error {
		for n > 0 {
			k := min(n, int64(len(zeros)))
			if _, err := out.Write(zeros[:k]); err != nil {
				return err
			}
			n -= k
		}
		return nil
	}
	if err := writeZeros(int64(wrapped) * 4); err != nil {
		return nil, err
	}
	var front []byte // wrapped values for slots 0, 1, ...
	frontAt := int64(0)
	var u [4]byte
	_, err := place(wrapped, func(slot, v uint32) error {
		le.PutUint32(u[:], v)
		if out.size() > int64(slot)*4 { // a wrapped one: slots 0.. were reserved
			front = append(front, u[:]...)
			if len(front) >= 64<<10 {
				if err := out.patch(frontAt, front); err != nil {
					return err
				}
				frontAt += int64(len(front))
				front = front[:0]
			}
			return nil
		}
		if err := writeZeros(int64(slot)*4 - out.size()); err != nil {
			return err
		}
		_, err := out.Write(u[:])
		return err
	})
	if err == nil && len(front) > 0 {
		err = out.patch(frontAt, front)
	}
	if err == nil {
		err = writeZeros(int64(slots)*4 - out.size())
	}
	return out, err
}

// fileKey is what reading an entry needs from its record: method(2)
// flags(2) crc(4) size(8) compressed(8).
const fileKeyLen = 24

func putFileKey(k, rec []byte) {
	copy(k[0:2], rec[6:8])
	copy(k[2:4], rec[60:62])
	copy(k[4:8], rec[12:16])
	copy(k[8:16], rec[24:32])
	copy(k[16:24], rec[32:40])
}

// digestSection writes the SHA-256 of every file, by record number: the
// files are walked by local header offset, next to the streamed digests
// (also by offset); a file without a matching one is read from archive.
func (t *treeWriter) digestSection(archive io.ReaderAt, streamed *Digests) (*spool, int, error) {
	byRecord := newSorter(t.b.dir, t.b.mem/4) // record(4) sha256(32)
	defer byRecord.close()
	var next [digestRecordLen]byte
	have := false
	var sr *bufio.Reader
	advance := func() {
		_, err := io.ReadFull(sr, next[:])
		have = err == nil
	}
	if streamed != nil {
		sr = streamed.recs.reader(0, 64<<10)
		advance()
	}
	var hr hashReader
	read := 0
	err := t.fileOffsets.each(func(rec []byte) error {
		off, k := binary.BigEndian.Uint64(rec), rec[12:]
		e := Entry{Path: "entry", HeaderOffset: int64(off), Method: le.Uint16(k[0:]), Flags: le.Uint16(k[2:]),
			CRC32: le.Uint32(k[4:]), Size: int64(le.Uint64(k[8:])), CompressedSize: int64(le.Uint64(k[16:]))}
		for have && le.Uint64(next[0:]) < off {
			advance()
		}
		var out [4 + digestLen]byte
		copy(out[:4], rec[8:12])
		if have && le.Uint64(next[0:]) == off && le.Uint64(next[8:]) == uint64(e.Size) &&
			le.Uint32(next[16:]) == e.CRC32 && le.Uint16(next[20:]) == e.Method {
			copy(out[4:], next[22:])
			return byRecord.add(out[:])
		}
		read++
		if !hr.digest(archive, e, out[4:]) {
			return nil // unknown
		}
		return byRecord.add(out[:])
	})
	if err != nil {
		return nil, 0, err
	}
	out := t.b.spool()
	zeros := make([]byte, 32*digestLen)
	writeZeros := func(n uint32) {
		for n > 0 {
			k := min(n, 32)
			out.Write(zeros[:k*digestLen])
			n -= k
		}
	}
	var want uint32
	err = byRecord.each(func(rec []byte) error {
		i := binary.BigEndian.Uint32(rec)
		writeZeros(i - want)
		_, err := out.Write(rec[4:])
		want = i + 1
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	writeZeros(t.idx - want)
	if _, err := out.Write(nil); err != nil {
		return nil, 0, err
	}
	return out, read, nil
}

// hashReader hashes entries read from an archive, reusing its buffer.
type hashReader struct {
	buf []byte
	sha hash.Hash
}

// digest writes the SHA-256 of e's bytes to sum and reports whether the
// entry could be read whole, its size and CRC-32 checked.
func (h *hashReader) digest(archive io.ReaderAt, e Entry, sum []byte) bool {
	rc, err := OpenEntry(archive, e)
	if err != nil {
		return false
	}
	defer rc.Close()
	if h.sha == nil {
		h.sha, h.buf = sha256.New(), make([]byte, 64<<10)
	}
	h.sha.Reset()
	if _, err := io.CopyBuffer(h.sha, rc, h.buf); err != nil {
		return false
	}
	h.sha.Sum(sum[:0])
	return true
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
