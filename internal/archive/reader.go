package archive

import (
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"

	"github.com/batonci/baton/internal/ci"
)

// Page sizes of a Reader over a stored index: 64 KiB keeps ranged reads on
// S3 few and large; 256 pages bound one Reader's memory at 16 MiB.
const (
	defaultPageSize = 64 << 10
	defaultMaxPages = 256
)

// Reader answers queries from a persisted index without decoding it whole:
// a Lookup reads a hash slot, a record and a path; a List reads a contiguous
// run of records. It is safe for concurrent use.
type Reader struct {
	src     source
	l       layout
	bodyCRC uint32
}

// Open opens the persisted index in r (size bytes, as written by
// (*Index).WriteTo). It reads only the first page (the header and, for small
// indexes, everything), so its cost does not depend on the index's size.
// Truncation, an unknown version or a damaged header wrap ErrCorruptIndex;
// call Verify to check the whole body. The Reader reads from r until dropped.
func Open(r io.ReaderAt, size int64) (*Reader, error) {
	src := newPagedSource(r, size, defaultPageSize, defaultMaxPages)
	if size < headerLen {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorruptIndex, size)
	}
	hdr, err := src.slice(0, headerLen)
	if err != nil {
		return nil, err
	}
	return newReader(src, hdr, size)
}

// OpenBytes opens a persisted index held in memory, checking the header like
// Open. b must not be modified afterwards.
func OpenBytes(b []byte) (*Reader, error) {
	if len(b) < headerLen {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrCorruptIndex, len(b))
	}
	return newReader(memSource(b), b[:headerLen], int64(len(b)))
}

func newReader(src source, hdr []byte, size int64) (*Reader, error) {
	l, crc, err := decodeHeader(hdr, size)
	if err != nil {
		return nil, err
	}
	return &Reader{src: src, l: l, bodyCRC: crc}, nil
}

// Len is the number of entries, implied directories included.
func (x *Reader) Len() int { return int(x.l.count) }

// Verify reads the whole index and checks its body checksum; a mismatch
// wraps ErrCorruptIndex.
func (x *Reader) Verify() error {
	crc := crc32.New(castagnoli)
	buf := make([]byte, 64<<10)
	if _, err := io.CopyBuffer(crc, io.NewSectionReader(x.src, headerLen, x.l.total-headerLen), buf); err != nil {
		return fmt.Errorf("verifying artifact index: %w", err)
	}
	if crc.Sum32() != x.bodyCRC {
		return fmt.Errorf("%w: body checksum mismatch", ErrCorruptIndex)
	}
	return nil
}

// Lookup returns the file (or symlink) at path p, which is cleaned with
// CleanPath first (KindInvalid if unsafe). A missing path, or one that names
// a directory, is KindNotFound "file 'p' not found in artifacts archive".
func (x *Reader) Lookup(p string) (Entry, error) {
	clean, err := CleanPath(p)
	if err != nil {
		return Entry{}, err
	}
	i, ok, err := x.find(clean)
	if err != nil {
		return Entry{}, err
	}
	if !ok || clean == "" {
		return Entry{}, ci.Errorf(ci.KindNotFound, "file '%s' not found in artifacts archive", clean)
	}
	return x.record(i)
}

// List returns the entries under directory dir ("" for the root; cleaned
// with CleanPath) and how many there are in total, for GitLab's tree API.
// Non-recursive: the direct children, directories first, then files, each
// sorted by name bytewise. Recursive: all descendants sorted by path bytewise,
// each directory followed by its contents. page selects a window (PerPage 0:
// everything). A dir that does not exist or is a file is KindNotFound.
func (x *Reader) List(dir string, recursive bool, page ci.Page) ([]Entry, int, error) {
	start, total, err := x.span(dir, recursive)
	if err != nil {
		return nil, 0, err
	}
	from, to := pageWindow(page, total)
	out := make([]Entry, 0, to-from)
	for k := from; k < to; k++ {
		e, err := x.at(start+k, recursive)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, int(total), nil
}

// pageWindow is the range [from, to) of a list of total entries that page selects.
func pageWindow(page ci.Page, total uint32) (from, to uint32) {
	from, to = 0, total
	if page.PerPage > 0 {
		from = uint32(min(int64(max(page.Page-1, 0))*int64(page.PerPage), int64(total)))
		to = uint32(min(int64(from)+int64(page.PerPage), int64(total)))
	}
	return from, to
}

// span locates the listing of dir: the entries at(start), ...,
// at(start+total-1). A dir that does not exist or is a file is KindNotFound.
func (x *Reader) span(dir string, recursive bool) (start, total uint32, err error) {
	clean, err := CleanPath(dir)
	if err != nil {
		return 0, 0, err
	}
	switch {
	case clean == "" && recursive:
		total = x.l.count
	case clean == "":
		total = x.l.rootChildren
	default:
		i, ok, err := x.find(clean + "/")
		if err != nil {
			return 0, 0, err
		}
		if !ok {
			return 0, 0, ci.Errorf(ci.KindNotFound, "directory '%s' not found in artifacts archive", clean)
		}
		d, err := x.record(i)
		if err != nil {
			return 0, 0, err
		}
		if recursive {
			start, total = i+1, d.descendants
		} else {
			start, total = d.childStart, d.childCount
		}
	}
	if uint64(start)+uint64(total) > uint64(x.l.count) {
		return 0, 0, fmt.Errorf("%w: directory range outside the index", ErrCorruptIndex)
	}
	return start, total, nil
}

// at is entry k of a span: record k when recursive, else the record that
// child k names.
func (x *Reader) at(k uint32, recursive bool) (Entry, error) {
	i := k
	if !recursive {
		b, err := x.src.slice(x.l.children+int64(k)*4, 4)
		if err != nil {
			return Entry{}, err
		}
		i = le.Uint32(b)
	}
	return x.record(i)
}

// find looks path up in the hash section.
func (x *Reader) find(path string) (uint32, bool, error) {
	mask := uint64(x.l.slots - 1)
	h := fnv1a(path)
	for probe := uint64(0); probe < uint64(x.l.slots); probe++ {
		b, err := x.src.slice(x.l.hash+int64((h+probe)&mask)*4, 4)
		if err != nil {
			return 0, false, err
		}
		v := le.Uint32(b)
		if v == 0 {
			return 0, false, nil
		}
		p, err := x.path(v - 1)
		if err != nil {
			return 0, false, err
		}
		if string(p) == path {
			return v - 1, true, nil
		}
	}
	return 0, false, nil
}

// path returns the path bytes of record i, valid until the next source read.
func (x *Reader) path(i uint32) ([]byte, error) {
	if i >= x.l.count {
		return nil, fmt.Errorf("%w: record %d of %d", ErrCorruptIndex, i, x.l.count)
	}
	rec, err := x.src.slice(x.l.records+int64(i)*recordLen, 8)
	if err != nil {
		return nil, err
	}
	off, n := le.Uint32(rec), le.Uint16(rec[4:])
	if uint64(off)+uint64(n) > uint64(x.l.stringsLen) {
		return nil, fmt.Errorf("%w: path of record %d outside the string table", ErrCorruptIndex, i)
	}
	return x.src.slice(x.l.strings+int64(off), int(n))
}

// record decodes record i.
func (x *Reader) record(i uint32) (Entry, error) {
	p, err := x.path(i)
	if err != nil {
		return Entry{}, err
	}
	path := string(p)
	b, err := x.src.slice(x.l.records+int64(i)*recordLen, recordLen)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{
		Path:           path,
		Method:         le.Uint16(b[6:]),
		Mode:           fs.FileMode(le.Uint32(b[8:])),
		CRC32:          le.Uint32(b[12:]),
		Modified:       unixUTC(int64(le.Uint64(b[16:]))),
		Size:           int64(le.Uint64(b[24:])),
		CompressedSize: int64(le.Uint64(b[32:])),
		HeaderOffset:   int64(le.Uint64(b[40:])),
		childStart:     le.Uint32(b[48:]),
		childCount:     le.Uint32(b[52:]),
		descendants:    le.Uint32(b[56:]),
		Flags:          le.Uint16(b[60:]),
	}
	if x.l.digests != 0 && !e.IsDir() {
		d, err := x.src.slice(x.l.digests+int64(i)*digestLen, digestLen)
		if err != nil {
			return Entry{}, err
		}
		copy(e.SHA256[:], d)
	}
	return e, nil
}

// Walk calls fn with every entry in path order (each directory before its
// contents), reading the index sequentially; it stops at fn's first error.
func (x *Reader) Walk(fn func(Entry) error) error {
	for i := uint32(0); i < x.l.count; i++ {
		e, err := x.record(i)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// HasDigests reports whether the index records digests (format 2).
func (x *Reader) HasDigests() bool { return x.l.digests != 0 }
