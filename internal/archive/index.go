// Package archive keeps an index of every uploaded artifact archive (a zip),
// so that tree listings and single-file reads never re-scan the archive.
//
// Build reads the central directory of a zip once and returns an Index.
// WriteTo persists it as a small blob next to the archive; Open (or a Cache)
// reads it back as a Reader whose lookups cost the same in an index of ten
// entries as in one of a hundred thousand. OpenEntry streams one entry of the
// archive, verifying its size and CRC-32.
//
// Paths are relative and slash-separated, without a leading slash. Directory
// entries carry a trailing slash in Entry.Path ("coverage/html/"), as GitLab's
// artifact metadata does; Entry.Name never has one. Every parent directory of
// an entry exists in the index even when the zip has no entry for it.
package archive

import (
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
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
}

// Tree returns e in the shape of GitLab's artifacts tree API.
func (e Entry) Tree() TreeEntry {
	return TreeEntry{Name: e.Name(), Path: e.Path, Type: e.Type(), Size: e.Size,
		Mode: strconv.FormatUint(uint64(e.Mode.Perm()), 8)}
}

// Index is the complete entry list of one archive, sorted by path, with the
// directory tree resolved. Build creates it; WriteTo persists it.
type Index struct {
	entries      []Entry
	children     []uint32 // the root's children first, then each directory's
	rootChildren uint32
}

// Len is the number of entries, implied directories included.
func (x *Index) Len() int { return len(x.entries) }

// Entries returns all entries sorted by path (bytewise), so that every
// directory is directly followed by its descendants.
func (x *Index) Entries() []Entry { return x.entries }

// Build reads the central directory of the zip archive in r (size bytes)
// once and indexes its entries. Input that is not a readable zip is
// KindInvalid ("artifact archive is not a valid zip: ..."); an entry whose name
// could escape the extraction directory (absolute, "..", backslash, NUL,
// drive letter), or a path that is both a file and a directory, is KindInvalid
// naming the entry. Of duplicate file entries the last one wins, as when
// extracting. Reading r fails only with r's own errors, which are returned
// wrapped.
func Build(r io.ReaderAt, size int64) (*Index, error) {
	raws, err := readCentralDirectory(r, size)
	if err != nil {
		return nil, ci.Errorf(ci.KindInvalid, "artifact archive is not a valid zip: %v", err)
	}
	return assemble(raws)
}

// assemble validates names, adds implied directories, sorts and links the tree.
func assemble(raws []rawEntry) (*Index, error) {
	pos := make(map[string]int, len(raws))
	var list []Entry
	put := func(e Entry, explicit bool) {
		if i, ok := pos[e.Path]; ok {
			if explicit {
				list[i] = e
			}
			return
		}
		pos[e.Path] = len(list)
		list = append(list, e)
	}
	for _, raw := range raws {
		p, dir, err := cleanEntryName(raw.name)
		if err != nil {
			return nil, err
		}
		if p == "" {
			continue // "./": the root itself
		}
		e := Entry{Path: p, Size: int64(raw.size), CompressedSize: int64(raw.compressed), Method: raw.method,
			Flags: raw.flags, HeaderOffset: int64(raw.headerOffset), Mode: raw.mode,
			Modified: unixUTC(raw.modified), CRC32: raw.crc}
		if raw.size > 1<<62 || raw.compressed > 1<<62 || raw.headerOffset > 1<<62 {
			return nil, ci.Errorf(ci.KindInvalid, "artifact archive is not a valid zip: entry '%s' has impossible sizes", printable(p))
		}
		if dir || e.Mode.IsDir() {
			e.Path += "/"
			e.Mode |= fs.ModeDir
			e.Size, e.CompressedSize = 0, 0
		}
		if len(e.Path) > maxPathLen {
			return nil, ci.Errorf(ci.KindInvalid, "artifact archive entry '%s...' has a path longer than %d bytes", printable(p[:64]), maxPathLen)
		}
		put(e, true)
	}
	// Implied directories cost the sum of their path lengths, which grows with
	// the square of a path's depth: a budget keeps a small hostile central
	// directory from making a huge index.
	budget := impliedBudgetSlack
	for _, raw := range raws {
		budget += impliedBudgetFactor * len(raw.name)
	}
	for i := 0; i < len(list); i++ { // list grows while we walk it; parents come later
		p := strings.TrimSuffix(list[i].Path, "/")
		if j := strings.LastIndexByte(p, '/'); j >= 0 {
			if _, ok := pos[p[:j+1]]; !ok {
				if budget -= j + 1; budget < 0 {
					return nil, ci.Errorf(ci.KindInvalid, "artifact archive has too many deeply nested paths without directory entries")
				}
			}
			put(Entry{Path: p[:j+1], Mode: fs.ModeDir | 0o755, Modified: unixUTC(time.Time{}.Unix())}, false)
		}
	}
	if len(list) > maxEntries {
		return nil, ci.Errorf(ci.KindTooLarge, "artifact archive has %d entries; at most %d are supported", len(list), maxEntries)
	}
	for _, e := range list {
		if e.IsDir() {
			if _, ok := pos[strings.TrimSuffix(e.Path, "/")]; ok {
				return nil, ci.Errorf(ci.KindInvalid,
					"artifact archive has both a file and a directory named '%s'", printable(strings.TrimSuffix(e.Path, "/")))
			}
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	return link(list), nil
}

// link fills the children table and each directory's child and descendant counts.
func link(list []Entry) *Index {
	at := make(map[string]int, len(list))
	for i, e := range list {
		if e.IsDir() {
			at[e.Path] = i
		}
	}
	groups := make(map[int][]uint32) // parent index (-1: root) -> children
	for i, e := range list {
		parent := -1
		p := strings.TrimSuffix(e.Path, "/")
		if j := strings.LastIndexByte(p, '/'); j >= 0 {
			parent = at[p[:j+1]]
		}
		groups[parent] = append(groups[parent], uint32(i))
	}
	x := &Index{entries: list, children: make([]uint32, 0, len(list))}
	appendGroup := func(g []uint32) {
		sort.SliceStable(g, func(a, b int) bool { return list[g[a]].Name() < list[g[b]].Name() })
		for _, c := range g { // directories first, then files, each by path
			if list[c].IsDir() {
				x.children = append(x.children, c)
			}
		}
		for _, c := range g {
			if !list[c].IsDir() {
				x.children = append(x.children, c)
			}
		}
	}
	appendGroup(groups[-1])
	x.rootChildren = uint32(len(groups[-1]))
	for i := range list {
		if !list[i].IsDir() {
			continue
		}
		g := groups[i]
		list[i].childStart, list[i].childCount = uint32(len(x.children)), uint32(len(g))
		appendGroup(g)
		prefix := list[i].Path
		end := i + 1 + sort.Search(len(list)-i-1, func(k int) bool {
			return !strings.HasPrefix(list[i+1+k].Path, prefix)
		})
		list[i].descendants = uint32(end - i - 1)
	}
	return x
}

// unixUTC is the one way Modified values are made, so that entries built and
// entries decoded compare equal with ==.
func unixUTC(sec int64) time.Time { return time.Unix(sec, 0).UTC() }
