// Package archive keeps an index of every uploaded artifact archive (a zip),
// so that tree listings and single-file reads never re-scan the archive.
//
// Build reads the central directory of a zip once and returns an Index, in
// memory that does not grow with the number of entries (sorting spills to
// temporary files). WriteTo persists it as a small blob next to the archive; Open (or a Cache)
// reads it back as a Reader whose lookups cost the same in an index of ten
// entries as in one of a hundred thousand. OpenEntry streams one entry of the
// archive, verifying its size and CRC-32.
//
// Each file's SHA-256 is part of its entry: a Digester computes them from
// the archive's bytes while they are uploaded (BuildStreamed matches them to
// the central directory), and Build reads an entry only when no streamed
// digest matches it. Merge is the union of several archives' indexes (the
// shards of a parallel job), written out by WriteZip as one zip whose
// entries' compressed bytes are copied, not recompressed.
//
// Paths are relative and slash-separated, without a leading slash. Directory
// entries carry a trailing slash in Entry.Path ("coverage/html/"), as GitLab's
// artifact metadata does; Entry.Name never has one. Every parent directory of
// an entry exists in the index even when the zip has no entry for it.
package archive

import (
	"encoding/hex"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// Compression methods OpenEntry can read; entries with other methods are
// indexed but reading them is KindInvalid.
const (
	MethodStore   uint16 = 0
	MethodDeflate uint16 = 8
)

// maxPathLen is the longest path the persisted format can hold. Implied
// directories may add impliedBudgetFactor bytes of path per byte of entry
// names in the central directory, plus impliedBudgetSlack.
const (
	maxPathLen          = 0xffff
	impliedBudgetFactor = 4
	impliedBudgetSlack  = 1 << 20
)

// Entry is one file, directory or symlink of an artifact archive.
type Entry struct {
	Path           string // relative, slash-separated; directories end in "/"
	Size           int64  // uncompressed bytes; 0 for directories
	CompressedSize int64
	Method         uint16 // MethodStore, MethodDeflate or another zip method
	Flags          uint16 // zip general purpose flags (bit 0: encrypted)
	HeaderOffset   int64  // offset of the entry's local file header in the archive
	Mode           fs.FileMode
	Modified       time.Time // UTC, second precision; zero for implied directories
	CRC32          uint32
	// SHA256 is the digest of the uncompressed bytes; all zero when unknown
	// (directories, indexes of format 1, entries Baton cannot read).
	SHA256 [32]byte

	// Tree links, meaningful for directories only.
	childStart, childCount, descendants uint32
}

// IsDir reports whether e is a directory.
func (e Entry) IsDir() bool { return strings.HasSuffix(e.Path, "/") }

// Name is the last segment of e's path, without a trailing slash.
func (e Entry) Name() string {
	p := strings.TrimSuffix(e.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// HasSHA256 reports whether e's digest is known.
func (e Entry) HasSHA256() bool { return e.SHA256 != [32]byte{} }

// SHA256Hex is e's digest in hex, or "" when unknown.
func (e Entry) SHA256Hex() string {
	if !e.HasSHA256() {
		return ""
	}
	return hex.EncodeToString(e.SHA256[:])
}

// Type is "directory" or "file" (symlinks are files), as GitLab's tree API says.
func (e Entry) Type() string {
	if e.IsDir() {
		return "directory"
	}
	return "file"
}

// TreeEntry is one element of GitLab's artifacts tree response
// (GET /projects/:id/jobs/:job_id/artifacts/tree).
type TreeEntry struct {
	Name string `json:"name"`
	Path string `json:"path"` // directories end in "/", as in GitLab's metadata
	Type string `json:"type"` // "file" or "directory"
	Size int64  `json:"size"`
	Mode string `json:"mode"` // permission bits in octal, e.g. "644", as GitLab Workhorse records them
	// SHA256 is the hex digest of a file's bytes (Baton's addition); absent
	// for directories and files whose digest is unknown.
	SHA256 string `json:"sha256,omitempty"`
}

// Tree returns e in the shape of GitLab's artifacts tree API.
func (e Entry) Tree() TreeEntry {
	return TreeEntry{Name: e.Name(), Path: e.Path, Type: e.Type(), Size: e.Size,
		Mode: strconv.FormatUint(uint64(e.Mode.Perm()), 8), SHA256: e.SHA256Hex()}
}

// unixUTC is the one way Modified values are made, so that entries built and
// entries decoded compare equal with ==.
func unixUTC(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
