package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/batonci/baton/internal/ci"
)

// Merged is the union of the indexes of several archives (the shards of a
// parallel job): every path of any shard, once. Where several shards hold a
// path, the first one's entry stands for all; Conflicts finds the paths
// where they differ. It reads only the indexes.
type Merged struct {
	shards []*Reader
}

// Merge returns the union of shards, in their order.
func Merge(shards ...*Reader) *Merged { return &Merged{shards: shards} }

// mergeCursor walks one shard's listing of a directory.
type mergeCursor struct {
	shard      int
	x          *Reader
	k, end     uint32
	recursive  bool
	cur        Entry
	key        []byte
	exhausted  bool
	keyOfEntry func(Entry, []byte) []byte
}

func (c *mergeCursor) advance() error {
	if c.k >= c.end {
		c.exhausted = true
		return nil
	}
	e, err := c.x.at(c.k, c.recursive)
	if err != nil {
		return err
	}
	c.k++
	c.cur, c.key = e, c.keyOfEntry(e, c.key[:0])
	return nil
}

// pathKey orders a recursive listing: by path.
func pathKey(e Entry, b []byte) []byte { return append(b, e.Path...) }

// childKey orders a directory's children: directories first, then files,
// each by name.
func childKey(e Entry, b []byte) []byte {
	return append(append(b, boolByte(!e.IsDir())), e.Name()...)
}

// group calls fn with each distinct entry of the listing of dir in the
// union, in order, with the entries of the same key in every shard holding
// it (at least one; in shard order). A dir missing in every shard is
// KindNotFound; one missing in some is skipped there.
func (m *Merged) group(dir string, recursive bool, fn func(same []shardEntry) error) error {
	var cursors []*mergeCursor
	found := false
	for i, x := range m.shards {
		start, total, err := x.span(dir, recursive)
		if ci.KindOf(err) == ci.KindNotFound {
			continue
		}
		if err != nil {
			return err
		}
		found = true
		c := &mergeCursor{shard: i, x: x, k: start, end: start + total, recursive: recursive, keyOfEntry: childKey}
		if recursive {
			c.keyOfEntry = pathKey
		}
		if err := c.advance(); err != nil {
			return err
		}
		cursors = append(cursors, c)
	}
	if !found {
		clean, _ := CleanPath(dir)
		return ci.Errorf(ci.KindNotFound, "directory '%s' not found in artifacts archive", clean)
	}
	var same []shardEntry
	var least []byte
	for {
		least = least[:0]
		have := false
		for _, c := range cursors {
			if !c.exhausted && (!have || bytes.Compare(c.key, least) < 0) {
				least, have = append(least[:0], c.key...), true
			}
		}
		if !have {
			return nil
		}
		same = same[:0]
		for _, c := range cursors {
			if !c.exhausted && bytes.Equal(c.key, least) {
				same = append(same, shardEntry{c.shard, c.cur})
				if err := c.advance(); err != nil {
					return err
				}
			}
		}
		if err := fn(same); err != nil {
			return err
		}
	}
}

// shardEntry is an entry and the shard it is in.
type shardEntry struct {
	shard int
	e     Entry
}

// implied reports whether e is a directory the archive has no entry for.
func (e Entry) implied() bool { return e.IsDir() && e.Modified.Year() == 1 }

// pick chooses the entry that stands for a group: the first explicit one.
func pick(same []shardEntry) shardEntry {
	for _, s := range same {
		if !s.e.implied() {
			return s
		}
	}
	return same[0]
}

// sameContent reports whether two files have the same bytes, by digest when
// both are known, else by size and CRC-32.
func sameContent(a, b Entry) bool {
	if a.HasSHA256() && b.HasSHA256() {
		return a.SHA256 == b.SHA256 && a.Size == b.Size
	}
	return a.Size == b.Size && a.CRC32 == b.CRC32
}

// Conflicts returns the paths that differ between shards, sorted, at most
// limit of them, and how many there are: files of the same path with other
// contents, or a path that is a file in one shard and a directory in another.
func (m *Merged) Conflicts(limit int) ([]string, int, error) {
	var out []string
	n := 0
	add := func(p string) {
		n++
		if len(out) < limit {
			out = append(out, p)
		}
	}
	err := m.group("", true, func(same []shardEntry) error {
		first := same[0].e
		if first.IsDir() {
			// A directory here and a file of its name elsewhere: look the
			// file up (directories are few next to files).
			name := strings.TrimSuffix(first.Path, "/")
			for _, x := range m.shards {
				if _, ok, err := x.find(name); err != nil {
					return err
				} else if ok {
					add(name)
					break
				}
			}
			return nil
		}
		for _, s := range same[1:] {
			if !sameContent(first, s.e) {
				add(first.Path)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	// Directory clashes were found at the directory, after its file's path.
	slices.Sort(out)
	return out, n, nil
}

// Lookup returns the file at path p in the first shard holding it, and
// that shard's number. Errors are those of Reader.Lookup.
func (m *Merged) Lookup(p string) (int, Entry, error) {
	var firstErr error
	for i, x := range m.shards {
		e, err := x.Lookup(p)
		if err == nil {
			return i, e, nil
		}
		if ci.KindOf(err) != ci.KindNotFound {
			return 0, Entry{}, err
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = ci.Errorf(ci.KindNotFound, "file '%s' not found in artifacts archive", p)
	}
	return 0, Entry{}, firstErr
}

// List is Reader.List over the union: each path once, in the same order.
func (m *Merged) List(dir string, recursive bool, page ci.Page) ([]Entry, int, error) {
	var out []Entry
	total := uint32(0)
	from, to := uint32(0), uint32(math.MaxUint32)
	if page.PerPage > 0 {
		from = uint32(min(int64(max(page.Page-1, 0))*int64(page.PerPage), math.MaxUint32))
		to = uint32(min(int64(from)+int64(page.PerPage), math.MaxUint32))
	}
	err := m.group(dir, recursive, func(same []shardEntry) error {
		if total >= from && total < to {
			out = append(out, pick(same).e)
		}
		total++
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return out, int(total), nil
}

// Walk calls fn with every entry of the union in path order and the shard
// it is taken from.
func (m *Merged) Walk(fn func(shard int, e Entry) error) error {
	return m.group("", true, func(same []shardEntry) error {
		s := pick(same)
		return fn(s.shard, s.e)
	})
}

// The merged zip: every file and explicit directory of the union, its
// compressed bytes copied as they are from its shard, with new local
// headers (sizes and CRC-32 in them, no data descriptor), a central
// directory, and zip64 records where sizes, offsets or the count need them.

// ZipSize is the exact length of what WriteZip writes.
func (m *Merged) ZipSize() (int64, error) {
	var size, cd, count uint64
	err := m.Walk(func(_ int, e Entry) error {
		if e.implied() {
			return nil
		}
		l, c := zipLens(e, size)
		size += l
		cd += c
		count++
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int64(size + cd + endLens(count, size, cd)), nil
}

// zipLens are the bytes an entry takes in the merged zip at offset off:
// local header, data and descriptor; central directory record.
func zipLens(e Entry, off uint64) (local, central uint64) {
	lx, cx := extraLens(e, off)
	local = localLen + uint64(len(e.Path)) + lx + uint64(e.CompressedSize)
	if descriptorKept(e) {
		local += 16
		if needsZip64(e) {
			local += 8
		}
	}
	return local, centralLen + uint64(len(e.Path)) + cx
}

func needsZip64(e Entry) bool {
	return uint64(e.Size) >= uint32Max || uint64(e.CompressedSize) >= uint32Max
}

// descriptorKept: an encrypted entry written with a data descriptor keeps it
// (its encryption header was made for that), others lose it.
func descriptorKept(e Entry) bool { return e.Flags&flagEncrypted != 0 && e.Flags&0x8 != 0 }

func hasTimestamp(e Entry) bool {
	u := e.Modified.Unix()
	return !e.implied() && u >= math.MinInt32 && u <= math.MaxInt32
}

func extraLens(e Entry, off uint64) (local, central uint64) {
	if needsZip64(e) {
		local += 4 + 16
	}
	n := uint64(0)
	if uint64(e.Size) >= uint32Max {
		n += 8
	}
	if uint64(e.CompressedSize) >= uint32Max {
		n += 8
	}
	if off >= uint32Max {
		n += 8
	}
	if n > 0 {
		central += 4 + n
	}
	if hasTimestamp(e) {
		local += 9
		central += 9
	}
	return local, central
}

func endLens(count, cdOffset, cdSize uint64) uint64 {
	n := uint64(endLen)
	if count >= 0xffff || cdOffset >= uint32Max || cdSize >= uint32Max {
		n += end64Len + end64LocatorLen
	}
	return n
}

// WriteZip writes the merged zip to w, reading each entry's bytes from
// archives[shard] (the archive of shard's index). An archive with a method
// File() (*os.File, error) has its large entries copied from the file's position, so
// that an http.ResponseWriter can use sendfile. The central directory is
// kept in memory up to 1 MiB and in an unlinked file in tempDir beyond.
// It returns the bytes written; an archive that does not match its index is
// an error (the response is then cut short).
func (m *Merged) WriteZip(w io.Writer, archives []io.ReaderAt, tempDir string) (int64, error) {
	if len(archives) != len(m.shards) {
		return 0, errors.New("merging archives: one archive per index is needed")
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 256<<10)
	cd := newSpool(tempDir, 1<<20)
	defer cd.close()
	var count uint64
	var hdr [localLen]byte
	buf := make([]byte, 256<<10)
	written := func() uint64 { return uint64(cw.n) + uint64(bw.Buffered()) }
	err := m.Walk(func(shard int, e Entry) error {
		if e.implied() {
			return nil
		}
		off := written()
		dosTime, dosDate := dosDateTime(e.Modified)
		var dataStart int64
		if !e.IsDir() {
			src := archives[shard]
			if n, err := src.ReadAt(hdr[:], e.HeaderOffset); n < localLen {
				return fmt.Errorf("reading local header of '%s': %w", e.Path, err)
			}
			if le.Uint32(hdr[:]) != sigLocal {
				return fmt.Errorf("reading local header of '%s': bad signature at offset %d", e.Path, e.HeaderOffset)
			}
			dosTime, dosDate = le.Uint16(hdr[10:]), le.Uint16(hdr[12:])
			dataStart = e.HeaderOffset + localLen + int64(le.Uint16(hdr[26:])) + int64(le.Uint16(hdr[28:]))
		}
		flags := e.Flags & 0x7
		if descriptorKept(e) {
			flags |= 0x8
		}
		if !isASCII(e.Path) {
			flags |= flagUTF8
		}
		version := uint16(20)
		if needsZip64(e) || off >= uint32Max {
			version = 45
		}
		method := e.Method
		if e.IsDir() {
			method = MethodStore
		}
		// Local header.
		lh := make([]byte, 0, localLen+len(e.Path)+32)
		lh = le.AppendUint32(lh, sigLocal)
		lh = le.AppendUint16(lh, version)
		lh = le.AppendUint16(lh, flags)
		lh = le.AppendUint16(lh, method)
		lh = le.AppendUint16(lh, dosTime)
		lh = le.AppendUint16(lh, dosDate)
		lh = le.AppendUint32(lh, e.CRC32)
		if needsZip64(e) {
			lh = le.AppendUint32(lh, uint32Max)
			lh = le.AppendUint32(lh, uint32Max)
		} else {
			lh = le.AppendUint32(lh, uint32(e.CompressedSize))
			lh = le.AppendUint32(lh, uint32(e.Size))
		}
		lx, _ := extraLens(e, off)
		lh = le.AppendUint16(lh, uint16(len(e.Path)))
		lh = le.AppendUint16(lh, uint16(lx))
		lh = append(lh, e.Path...)
		if needsZip64(e) {
			lh = le.AppendUint16(lh, extraZip64)
			lh = le.AppendUint16(lh, 16)
			lh = le.AppendUint64(lh, uint64(e.Size))
			lh = le.AppendUint64(lh, uint64(e.CompressedSize))
		}
		lh = appendTimestamp(lh, e)
		if _, err := bw.Write(lh); err != nil {
			return err
		}
		if e.CompressedSize > 0 {
			if err := copyData(bw, archives[shard], dataStart, e.CompressedSize, buf); err != nil {
				return fmt.Errorf("copying '%s': %w", e.Path, err)
			}
		}
		if descriptorKept(e) {
			d := le.AppendUint32(nil, 0x08074b50)
			d = le.AppendUint32(d, e.CRC32)
			if needsZip64(e) {
				d = le.AppendUint64(d, uint64(e.CompressedSize))
				d = le.AppendUint64(d, uint64(e.Size))
			} else {
				d = le.AppendUint32(d, uint32(e.CompressedSize))
				d = le.AppendUint32(d, uint32(e.Size))
			}
			if _, err := bw.Write(d); err != nil {
				return err
			}
		}
		// Central directory record.
		_, cx := extraLens(e, off)
		c := make([]byte, 0, centralLen+len(e.Path)+48)
		c = le.AppendUint32(c, sigCentral)
		c = le.AppendUint16(c, creatorUnix<<8|45)
		c = le.AppendUint16(c, version)
		c = le.AppendUint16(c, flags)
		c = le.AppendUint16(c, method)
		c = le.AppendUint16(c, dosTime)
		c = le.AppendUint16(c, dosDate)
		c = le.AppendUint32(c, e.CRC32)
		c = le.AppendUint32(c, uint32(min(uint64(e.CompressedSize), uint32Max)))
		c = le.AppendUint32(c, uint32(min(uint64(e.Size), uint32Max)))
		c = le.AppendUint16(c, uint16(len(e.Path)))
		c = le.AppendUint16(c, uint16(cx))
		c = le.AppendUint16(c, 0) // comment
		c = le.AppendUint16(c, 0) // disk
		c = le.AppendUint16(c, 0) // internal attributes
		c = le.AppendUint32(c, unixModeBits(e.Mode)<<16)
		c = le.AppendUint32(c, uint32(min(off, uint32Max)))
		c = append(c, e.Path...)
		var z64 []byte
		if uint64(e.Size) >= uint32Max {
			z64 = le.AppendUint64(z64, uint64(e.Size))
		}
		if uint64(e.CompressedSize) >= uint32Max {
			z64 = le.AppendUint64(z64, uint64(e.CompressedSize))
		}
		if off >= uint32Max {
			z64 = le.AppendUint64(z64, off)
		}
		if len(z64) > 0 {
			c = le.AppendUint16(c, extraZip64)
			c = le.AppendUint16(c, uint16(len(z64)))
			c = append(c, z64...)
		}
		c = appendTimestamp(c, e)
		count++
		_, err := cd.Write(c)
		return err
	})
	if err != nil {
		return cw.n, err
	}
	cdOffset := written()
	if _, err := io.CopyBuffer(bw, io.NewSectionReader(cd, 0, cd.size()), buf); err != nil {
		return cw.n, fmt.Errorf("writing central directory: %w", err)
	}
	cdSize := uint64(cd.size())
	end := make([]byte, 0, end64Len+end64LocatorLen+endLen)
	if endLens(count, cdOffset, cdSize) > endLen {
		end64At := written()
		end = le.AppendUint32(end, sigEnd64)
		end = le.AppendUint64(end, end64Len-12)
		end = le.AppendUint16(end, creatorUnix<<8|45)
		end = le.AppendUint16(end, 45)
		end = le.AppendUint32(end, 0)
		end = le.AppendUint32(end, 0)
		end = le.AppendUint64(end, count)
		end = le.AppendUint64(end, count)
		end = le.AppendUint64(end, cdSize)
		end = le.AppendUint64(end, cdOffset)
		end = le.AppendUint32(end, sigEnd64Locator)
		end = le.AppendUint32(end, 0)
		end = le.AppendUint64(end, end64At)
		end = le.AppendUint32(end, 1)
	}
	end = le.AppendUint32(end, sigEnd)
	end = le.AppendUint16(end, 0)
	end = le.AppendUint16(end, 0)
	end = le.AppendUint16(end, uint16(min(count, 0xffff)))
	end = le.AppendUint16(end, uint16(min(count, 0xffff)))
	end = le.AppendUint32(end, uint32(min(cdSize, uint32Max)))
	end = le.AppendUint32(end, uint32(min(cdOffset, uint32Max)))
	end = le.AppendUint16(end, 0)
	if _, err := bw.Write(end); err != nil {
		return cw.n, err
	}
	err = bw.Flush()
	return cw.n, err
}

// sendfileMin is the size from which an entry of a file-backed archive is
// copied with the file's position (sendfile) rather than through buf.
const sendfileMin = 256 << 10

// copyData copies n bytes at off of src to bw. A large entry of a file is
// copied from the file's position with bw empty, so that bw.ReadFrom hands
// the file to its writer's ReadFrom (sendfile on a connection); a large
// entry of another seekable source is read sequentially from its position.
func copyData(bw *bufio.Writer, src io.ReaderAt, off, n int64, buf []byte) error {
	if f, ok := src.(interface{ File() (*os.File, error) }); ok && n >= sendfileMin {
		if err := bw.Flush(); err != nil {
			return err
		}
		file, err := f.File()
		if err != nil {
			return err
		}
		if _, err := file.Seek(off, io.SeekStart); err != nil {
			return err
		}
		got, err := io.Copy(bw, io.LimitReader(file, n))
		if err == nil && got < n {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if rs, ok := src.(io.ReadSeeker); ok && n >= sendfileMin {
		// One sequential read (on S3: one GET) rather than a ranged read
		// per buffer.
		if _, err := rs.Seek(off, io.SeekStart); err != nil {
			return err
		}
		got, err := io.CopyBuffer(bw, io.LimitReader(rs, n), buf)
		if err == nil && got < n {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	got, err := io.CopyBuffer(bw, io.NewSectionReader(src, off, n), buf)
	if err == nil && got < n {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// countingWriter counts what passes to w; it forwards ReadFrom so that a
// copy from a file reaches w's (sendfile on a connection).
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) ReadFrom(r io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := c.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(struct{ io.Writer }{c.w}, r)
	}
	c.n += n
	return n, err
}

func appendTimestamp(b []byte, e Entry) []byte {
	if !hasTimestamp(e) {
		return b
	}
	b = le.AppendUint16(b, extraTimestamp)
	b = le.AppendUint16(b, 5)
	b = append(b, 1)
	return le.AppendUint32(b, uint32(int32(e.Modified.Unix())))
}

// dosDateTime is t as MS-DOS time and date (2-second precision, 1980-2107).
func dosDateTime(t time.Time) (uint16, uint16) {
	t = t.UTC()
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if t.Year() > 2107 {
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	return uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()>>1),
		uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
}

// unixModeBits is mode in the st_mode form the central directory's external
// attributes carry for a Unix creator.
func unixModeBits(mode fs.FileMode) uint32 {
	m := uint32(mode.Perm())
	switch {
	case mode&fs.ModeDir != 0:
		m |= unixTypeDir
	case mode&fs.ModeSymlink != 0:
		m |= unixTypeSymlink
	case mode&fs.ModeNamedPipe != 0:
		m |= unixTypeFIFO
	case mode&fs.ModeSocket != 0:
		m |= unixTypeSocket
	case mode&fs.ModeCharDevice != 0:
		m |= unixTypeChar
	case mode&fs.ModeDevice != 0:
		m |= unixTypeBlock
	default:
		m |= unixTypeRegular
	}
	if mode&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if mode&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if mode&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
