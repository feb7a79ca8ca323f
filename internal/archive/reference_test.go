package archive

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// The reference model: the straightforward in-memory build Baton used
// before the index was built in bounded memory. Build must agree with it on
// every archive both accept, tree links and child order included.

type refIndex struct {
	entries      []Entry
	children     []uint32
	rootChildren uint32
}

// referenceBuild indexes z with the reference model (no limits, no overlap check).
func referenceBuild(z []byte) (*refIndex, error) {
	var raws []rawEntry
	err := scanCentralDirectory(bytes.NewReader(z), int64(len(z)), maxEntries, func(e rawEntry, _ int) error {
		raws = append(raws, e)
		return nil
	})
	var fe formatError
	if errors.As(err, &fe) {
		return nil, ci.Errorf(ci.KindInvalid, "artifact archive is not a valid zip: %v", fe.err)
	}
	if err != nil {
		return nil, err
	}
	ref, err := assemble(raws)
	if err != nil {
		return nil, err
	}
	// A file's digest is the SHA-256 of what OpenEntry serves of it, when
	// it serves it whole.
	for i, e := range ref.entries {
		if e.IsDir() {
			continue
		}
		rc, err := OpenEntry(bytes.NewReader(z), e)
		if err != nil {
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, rc); err == nil {
			h.Sum(ref.entries[i].SHA256[:0])
		}
		rc.Close()
	}
	return ref, nil
}

// compareWithReference fails t unless x and ref hold the same entries and
// the same children lists.
func compareWithReference(t testing.TB, x *Index, ref *refIndex) {
	t.Helper()
	r, _ := mustPersist(t, x)
	all, total, err := r.List("", true, ci.Page{})
	if err != nil || total != len(ref.entries) || len(all) != len(ref.entries) {
		t.Fatalf("List = %d entries, %v; reference has %d", total, err, len(ref.entries))
	}
	for i, e := range ref.entries {
		if all[i] != e {
			t.Fatalf("entry %d: got %+v, reference %+v", i, all[i], e)
		}
	}
	check := func(dir string, want []uint32) {
		got, n, err := r.List(dir, false, ci.Page{})
		if err != nil || n != len(want) {
			t.Fatalf("List(%q) = %d, %v; reference has %d children", dir, n, err, len(want))
		}
		for k, c := range want {
			if got[k].Path != ref.entries[c].Path {
				t.Fatalf("List(%q)[%d] = %s; reference %s", dir, k, got[k].Path, ref.entries[c].Path)
			}
		}
	}
	check("", ref.children[:ref.rootChildren])
	for _, e := range ref.entries {
		if e.IsDir() {
			check(e.Path, ref.children[e.childStart:e.childStart+e.childCount])
		}
	}
}

func assemble(raws []rawEntry) (*refIndex, error) {
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
func link(list []Entry) *refIndex {
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
	x := &refIndex{entries: list, children: make([]uint32, 0, len(list))}
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
