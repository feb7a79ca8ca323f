package archive

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Zip record signatures and fixed lengths (APPNOTE.TXT 4.3).
const (
	sigLocal        = 0x04034b50
	sigCentral      = 0x02014b50
	sigEnd          = 0x06054b50
	sigEnd64        = 0x06064b50
	sigEnd64Locator = 0x07064b50
	localLen        = 30
	centralLen      = 46
	endLen          = 22
	end64Len        = 56
	end64LocatorLen = 20
	maxCommentLen   = 65535
	flagEncrypted   = 0x1
	flagUTF8        = 0x800
	extraZip64      = 0x0001
	extraTimestamp  = 0x5455
	dirBufferSize   = 1 << 20
	uint32Max       = 0xffffffff
	creatorFAT      = 0
	creatorUnix     = 3
	creatorNTFS     = 11
	creatorVFAT     = 14
	creatorMacOSX   = 19
	unixTypeMask    = 0xf000
	unixTypeFIFO    = 0x1000
	unixTypeChar    = 0x2000
	unixTypeDir     = 0x4000
	unixTypeBlock   = 0x6000
	unixTypeRegular = 0x8000
	unixTypeSymlink = 0xa000
	unixTypeSocket  = 0xc000
	msdosDir        = 0x10
	msdosReadOnly   = 0x01
)

// rawEntry is one central directory record, decoded but not yet validated.
type rawEntry struct {
	name         string
	flags        uint16
	method       uint16
	crc          uint32
	compressed   uint64
	size         uint64
	headerOffset uint64
	mode         fs.FileMode
	modified     int64 // Unix seconds
}

// directoryEnd is what the end of central directory records say.
type directoryEnd struct {
	count, dirSize, dirOffset uint64
}

var le = binary.LittleEndian

// formatError is a central directory that cannot be read as a zip's.
type formatError struct{ err error }

func (e formatError) Error() string { return e.err.Error() }

// scanCentralDirectory reads the end records with one ReadAt, the zip64 end
// record with at most one more, and the central directory sequentially in
// reads of up to 1 MiB, calling fn with each record in order and the length
// of its raw name. Nothing is kept between records. An archive declaring
// more than maxEntries records is refused before any is read (KindTooLarge).
// Errors about the zip's structure are formatError; fn's are returned as
// they are. Local headers are not touched.
func scanCentralDirectory(r io.ReaderAt, size int64, maxEntries uint64, fn func(e rawEntry, nameLen int) error) error {
	fail := func(format string, args ...any) error { return formatError{fmt.Errorf(format, args...)} }
	end, endOffset, err := findDirectoryEnd(r, size)
	if err != nil {
		return formatError{err}
	}
	if end.dirOffset > uint64(endOffset) || end.dirSize > uint64(endOffset)-end.dirOffset {
		return fail("central directory lies outside the file")
	}
	if end.count > end.dirSize/centralLen {
		return fail("central directory of %d bytes cannot hold %d entries", end.dirSize, end.count)
	}
	if end.count > maxEntries {
		return ci.Errorf(ci.KindTooLarge, "artifact archive has %d entries; at most %d are allowed (--max-artifact-entries)", end.count, maxEntries)
	}
	sr := io.NewSectionReader(r, int64(end.dirOffset), int64(end.dirSize))
	br := bufio.NewReaderSize(sr, int(min(max(end.dirSize, 16), dirBufferSize)))
	var hdr [centralLen]byte
	var variable []byte
	for i := uint64(0); i < end.count; i++ {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return fail("reading central directory entry %d: %w", i, truncated(err))
		}
		if le.Uint32(hdr[0:]) != sigCentral {
			return fail("central directory entry %d has a bad signature", i)
		}
		nameLen, extraLen, commentLen := int(le.Uint16(hdr[28:])), int(le.Uint16(hdr[30:])), int(le.Uint16(hdr[32:]))
		need := nameLen + extraLen + commentLen
		if cap(variable) < need {
			variable = make([]byte, need)
		}
		variable = variable[:need]
		if _, err := io.ReadFull(br, variable); err != nil {
			return fail("reading central directory entry %d: %w", i, truncated(err))
		}
		e, err := decodeCentral(hdr[:], variable[:nameLen], variable[nameLen:nameLen+extraLen])
		if err != nil {
			return fail("central directory entry %d: %w", i, err)
		}
		if err := fn(e, nameLen); err != nil {
			return err
		}
	}
	return nil
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("central directory is truncated")
	}
	return err
}

// findDirectoryEnd locates the end of central directory record (and the
// zip64 one when a locator precedes it) and returns its offset.
func findDirectoryEnd(r io.ReaderAt, size int64) (directoryEnd, int64, error) {
	if size < endLen {
		return directoryEnd{}, 0, errors.New("file is too small")
	}
	tailLen := min(size, endLen+maxCommentLen+end64LocatorLen)
	tail := make([]byte, tailLen)
	if n, err := r.ReadAt(tail, size-tailLen); n < len(tail) {
		return directoryEnd{}, 0, fmt.Errorf("reading end of archive: %w", err)
	}
	i := len(tail) - endLen
	for ; i >= 0; i-- {
		if le.Uint32(tail[i:]) == sigEnd && int(le.Uint16(tail[i+20:])) <= len(tail)-i-endLen {
			break
		}
	}
	if i < 0 {
		return directoryEnd{}, 0, errors.New("no end of central directory record")
	}
	endOffset := size - tailLen + int64(i)
	rec := tail[i:]
	end := directoryEnd{
		count:     uint64(le.Uint16(rec[10:])),
		dirSize:   uint64(le.Uint32(rec[12:])),
		dirOffset: uint64(le.Uint32(rec[16:])),
	}
	if i < end64LocatorLen || le.Uint32(tail[i-end64LocatorLen:]) != sigEnd64Locator {
		return end, endOffset, nil
	}
	off64 := le.Uint64(tail[i-end64LocatorLen+8:])
	locatorOffset := endOffset - end64LocatorLen
	if off64 > uint64(locatorOffset) || uint64(locatorOffset)-off64 < end64Len {
		return directoryEnd{}, 0, errors.New("zip64 end record lies outside the file")
	}
	var rec64 [end64Len]byte
	if n, err := r.ReadAt(rec64[:], int64(off64)); n < len(rec64) {
		return directoryEnd{}, 0, fmt.Errorf("reading zip64 end record: %w", err)
	}
	if le.Uint32(rec64[0:]) != sigEnd64 {
		return directoryEnd{}, 0, errors.New("zip64 end record has a bad signature")
	}
	end = directoryEnd{
		count:     le.Uint64(rec64[32:]),
		dirSize:   le.Uint64(rec64[40:]),
		dirOffset: le.Uint64(rec64[48:]),
	}
	return end, int64(off64), nil
}

// decodeCentral decodes one central directory header with its name and extra.
func decodeCentral(hdr, name, extra []byte) (rawEntry, error) {
	e := rawEntry{
		flags:        le.Uint16(hdr[8:]),
		method:       le.Uint16(hdr[10:]),
		crc:          le.Uint32(hdr[16:]),
		compressed:   uint64(le.Uint32(hdr[20:])),
		size:         uint64(le.Uint32(hdr[24:])),
		headerOffset: uint64(le.Uint32(hdr[42:])),
	}
	decoded, ok := decodeName(name, e.flags&flagUTF8 != 0)
	if !ok {
		return rawEntry{}, fmt.Errorf("name %q is flagged UTF-8 but is not", name)
	}
	e.name = decoded
	e.modified = dosTime(le.Uint16(hdr[14:]), le.Uint16(hdr[12:]))
	if err := e.applyExtra(extra); err != nil {
		return rawEntry{}, fmt.Errorf("entry '%s': %w", printable(e.name), err)
	}
	e.mode = fileMode(le.Uint16(hdr[4:])>>8, le.Uint32(hdr[38:]), e.name)
	return e, nil
}

// applyExtra reads the zip64 sizes and the Unix modification time from the
// extra field; unknown fields are skipped.
func (e *rawEntry) applyExtra(extra []byte) error {
	needSize, needCompressed, needOffset := e.size == uint32Max, e.compressed == uint32Max, e.headerOffset == uint32Max
	for len(extra) >= 4 {
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if n > len(extra)-4 {
			break
		}
		field := extra[4 : 4+n]
		extra = extra[4+n:]
		switch id {
		case extraZip64:
			for _, f := range []struct {
				need bool
				dst  *uint64
			}{{needSize, &e.size}, {needCompressed, &e.compressed}, {needOffset, &e.headerOffset}} {
				if !f.need {
					continue
				}
				if len(field) < 8 {
					return errors.New("zip64 extra field is too short")
				}
				*f.dst = le.Uint64(field)
				field = field[8:]
			}
			needSize, needCompressed, needOffset = false, false, false
		case extraTimestamp:
			if len(field) >= 5 && field[0]&1 != 0 {
				e.modified = int64(int32(le.Uint32(field[1:])))
			}
		}
	}
	if needSize || needCompressed || needOffset {
		return errors.New("zip64 extra field is missing")
	}
	return nil
}

// dosTime converts an MS-DOS date and time (no time zone; taken as UTC, as
// archive/zip does) to Unix seconds.
func dosTime(date, tod uint16) int64 {
	return time.Date(1980+int(date>>9), time.Month(date>>5&0xf), int(date&0x1f),
		int(tod>>11), int(tod>>5&0x3f), int(tod&0x1f)*2, 0, time.UTC).Unix()
}

// fileMode derives the mode from the external attributes the way archive/zip
// does: Unix mode bits for Unix and macOS creators, MS-DOS attributes for
// FAT, NTFS and VFAT, nothing otherwise; a trailing slash marks a directory.
func fileMode(creator uint16, external uint32, name string) fs.FileMode {
	var mode fs.FileMode
	switch creator {
	case creatorUnix, creatorMacOSX:
		mode = unixMode(external >> 16)
	case creatorFAT, creatorNTFS, creatorVFAT:
		mode = 0o666
		if external&msdosDir != 0 {
			mode = fs.ModeDir | 0o777
		}
		if external&msdosReadOnly != 0 {
			mode &^= 0o222
		}
	}
	if len(name) > 0 && name[len(name)-1] == '/' {
		mode |= fs.ModeDir
	}
	return mode
}

func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unixTypeMask {
	case unixTypeBlock:
		mode |= fs.ModeDevice
	case unixTypeChar:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case unixTypeDir:
		mode |= fs.ModeDir
	case unixTypeFIFO:
		mode |= fs.ModeNamedPipe
	case unixTypeSymlink:
		mode |= fs.ModeSymlink
	case unixTypeSocket:
		mode |= fs.ModeSocket
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
