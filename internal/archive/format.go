package archive

import (
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
)

// The persisted index ("BTNZIDX", version 2), little-endian:
//
//	header   64 bytes: magic[7] version[1] count u32 rootChildren u32
//	         slots u32 stringsLen u32 totalSize u64 bodyCRC u32 headerCRC u32
//	         (CRC-32C of bytes 0..35) reserved[24]
//	records  count × 64 bytes, sorted by path (see recordLen)
//	children count × u32 record numbers: the root's children, then each
//	         directory's, directories first
//	hash     slots × u32 (power of two): record number + 1, 0 = empty;
//	         FNV-1a of the path, linear probing, load factor ≤ 1/2
//	strings  the paths, concatenated
//	digests  count × 32 bytes: each record's SHA-256 of its uncompressed
//	         bytes, all zero when unknown (directories, methods Baton cannot
//	         read, damaged entries). Version 2 only: version 1, which Open
//	         still reads, ends with the strings and knows no digests.
//
// totalSize lets Open detect truncation from the header alone; bodyCRC
// (CRC-32C of everything after the header) is checked by Verify. A lookup
// reads one hash slot, one record and one path per probe, whatever the count.
const (
	magic         = "BTNZIDX"
	formatVersion = 2
	digestLen     = 32
	headerLen     = 64
	recordLen     = 64
	maxEntries    = 1 << 28
)

// ErrCorruptIndex is wrapped by every error about a persisted index that is
// truncated, damaged or of an unknown version (KindInternal: the index is
// Baton's own file, not client input).
var ErrCorruptIndex = errors.New("corrupt artifact index")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// layout is where the sections of an index of n entries lie.
type layout struct {
	version                                 byte
	count, rootChildren, slots, stringsLen  uint32
	records, children, hash, strings, total int64
	digests                                 int64 // 0: none (version 1)
}

func newLayout(version byte, count, rootChildren, slots, stringsLen uint32) layout {
	l := layout{version: version, count: count, rootChildren: rootChildren, slots: slots, stringsLen: stringsLen}
	l.records = headerLen
	l.children = l.records + int64(count)*recordLen
	l.hash = l.children + int64(count)*4
	l.strings = l.hash + int64(slots)*4
	l.total = l.strings + int64(stringsLen)
	if version >= 2 {
		l.digests = l.total
		l.total += int64(count) * digestLen
	}
	return l
}

func slotsFor(n int) uint32 {
	return 1 << bits.Len32(uint32(max(2*n, 2)-1))
}

// fnv1a hashes a path for the hash section.
func fnv1a[T string | []byte](s T) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// A record: pathOff u32, pathLen u16, method u16, mode u32, crc u32,
// modified i64, size u64, compressed u64, headerOffset u64, childStart u32,
// childCount u32, descendants u32, flags u16, reserved u16.
func encodeRecord(b []byte, e Entry, pathOff uint32) {
	le.PutUint32(b[0:], pathOff)
	le.PutUint16(b[4:], uint16(len(e.Path)))
	le.PutUint16(b[6:], e.Method)
	le.PutUint32(b[8:], uint32(e.Mode))
	le.PutUint32(b[12:], e.CRC32)
	le.PutUint64(b[16:], uint64(e.Modified.Unix()))
	le.PutUint64(b[24:], uint64(e.Size))
	le.PutUint64(b[32:], uint64(e.CompressedSize))
	le.PutUint64(b[40:], uint64(e.HeaderOffset))
	le.PutUint32(b[48:], e.childStart)
	le.PutUint32(b[52:], e.childCount)
	le.PutUint32(b[56:], e.descendants)
	le.PutUint16(b[60:], e.Flags)
	le.PutUint16(b[62:], 0)
}

// decodeHeader checks the header of an index of size bytes.
func decodeHeader(hdr []byte, size int64) (layout, uint32, error) {
	if len(hdr) < headerLen || string(hdr[:7]) != magic {
		return layout{}, 0, fmt.Errorf("%w: not an artifact index", ErrCorruptIndex)
	}
	if hdr[7] < 1 || hdr[7] > formatVersion {
		return layout{}, 0, fmt.Errorf("%w: format version %d, this Baton reads 1 to %d", ErrCorruptIndex, hdr[7], formatVersion)
	}
	if crc32.Checksum(hdr[:36], castagnoli) != le.Uint32(hdr[36:]) {
		return layout{}, 0, fmt.Errorf("%w: header checksum mismatch", ErrCorruptIndex)
	}
	count, root, slots := le.Uint32(hdr[8:]), le.Uint32(hdr[12:]), le.Uint32(hdr[16:])
	if count > maxEntries || root > count || slots == 0 || slots&(slots-1) != 0 || uint64(slots) < 2*uint64(count) || slots > 4*maxEntries {
		return layout{}, 0, fmt.Errorf("%w: impossible header counts", ErrCorruptIndex)
	}
	l := newLayout(hdr[7], count, root, slots, le.Uint32(hdr[20:]))
	if total := int64(le.Uint64(hdr[24:])); total != l.total || size != l.total {
		return layout{}, 0, fmt.Errorf("%w: %d bytes, header says %d (truncated?)", ErrCorruptIndex, size, l.total)
	}
	return l, le.Uint32(hdr[32:]), nil
}
