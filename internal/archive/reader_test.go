package archive

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func treeFiles() []zipFile {
	return []zipFile{
		{name: "b.txt", body: "b"},
		{name: "a.txt", body: "aa"},
		{name: "dir/z.txt", body: "z"},
		{name: "dir/sub/y.txt", body: "yy"},
		{name: "dir-x/w.txt", body: "w"},
		{name: "empty/"},
		{name: "dir/link", body: "z.txt", mode: fs.ModeSymlink | 0o777},
	}
}

func paths(es []Entry) string {
	var s []string
	for _, e := range es {
		s = append(s, e.Path)
	}
	return strings.Join(s, " ")
}

func TestLookup(t *testing.T) {
	r, _ := mustReader(t, treeFiles()...)
	tests := []struct {
		name, path, want string
		kind             ci.Kind
	}{
		{name: "file", path: "a.txt", want: "a.txt"},
		{name: "nested", path: "dir/sub/y.txt", want: "dir/sub/y.txt"},
		{name: "leading dot slash", path: "./dir//z.txt", want: "dir/z.txt"},
		{name: "symlink", path: "dir/link", want: "dir/link"},
		{name: "missing", path: "nope.txt", kind: ci.KindNotFound},
		{name: "directory is not a file", path: "dir", kind: ci.KindNotFound},
		{name: "directory with slash", path: "dir/", kind: ci.KindNotFound},
		{name: "root", path: "", kind: ci.KindNotFound},
		{name: "escape", path: "../a.txt", kind: ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := r.Lookup(tt.path)
			if tt.kind != "" {
				if ci.KindOf(err) != tt.kind {
					t.Fatalf("Lookup(%q) = %+v, %v; want %s", tt.path, e, err, tt.kind)
				}
				return
			}
			if err != nil || e.Path != tt.want {
				t.Fatalf("Lookup(%q) = %+v, %v; want %s", tt.path, e, err, tt.want)
			}
		})
	}
	_, err := r.Lookup("missing/file.txt")
	if got := ci.MessageOf(err); got != "file 'missing/file.txt' not found in artifacts archive" {
		t.Fatalf("message %q", got)
	}
}

func TestList(t *testing.T) {
	r, _ := mustReader(t, treeFiles()...)
	tests := []struct {
		name      string
		dir       string
		recursive bool
		page      ci.Page
		want      string
		total     int
		kind      ci.Kind
	}{
		{name: "root", want: "dir/ dir-x/ empty/ a.txt b.txt", total: 5},
		{name: "root recursive", recursive: true,
			want: "a.txt b.txt dir-x/ dir-x/w.txt dir/ dir/link dir/sub/ dir/sub/y.txt dir/z.txt empty/", total: 10},
		{name: "subdir", dir: "dir", want: "dir/sub/ dir/link dir/z.txt", total: 3},
		{name: "subdir trailing slash", dir: "dir/", want: "dir/sub/ dir/link dir/z.txt", total: 3},
		{name: "subdir recursive", dir: "dir", recursive: true, want: "dir/link dir/sub/ dir/sub/y.txt dir/z.txt", total: 4},
		{name: "implied dir", dir: "dir/sub", want: "dir/sub/y.txt", total: 1},
		{name: "empty dir", dir: "empty", want: "", total: 0},
		{name: "page 1", page: ci.Page{Page: 1, PerPage: 2}, want: "dir/ dir-x/", total: 5},
		{name: "page 3", page: ci.Page{Page: 3, PerPage: 2}, want: "b.txt", total: 5},
		{name: "page past end", page: ci.Page{Page: 9, PerPage: 2}, want: "", total: 5},
		{name: "recursive page", recursive: true, page: ci.Page{Page: 2, PerPage: 3}, want: "dir-x/w.txt dir/ dir/link", total: 10},
		{name: "missing", dir: "nope", kind: ci.KindNotFound},
		{name: "file is not a dir", dir: "a.txt", kind: ci.KindNotFound},
		{name: "escape", dir: "..", kind: ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, total, err := r.List(tt.dir, tt.recursive, tt.page)
			if tt.kind != "" {
				if ci.KindOf(err) != tt.kind {
					t.Fatalf("List = %v, %v; want %s", paths(es), err, tt.kind)
				}
				return
			}
			if err != nil || paths(es) != tt.want || total != tt.total {
				t.Fatalf("List = %q, %d, %v; want %q, %d", paths(es), total, err, tt.want, tt.total)
			}
		})
	}
	es, _, _ := r.List("dir", false, ci.Page{})
	if got := fmt.Sprintf("%+v", es[0].Tree()); got != "{Name:sub Path:dir/sub/ Type:directory Size:0 Mode:755 SHA256:}" {
		t.Fatalf("tree entry %s", got)
	}
	// A file's tree entry carries the SHA-256 of its bytes (here "z").
	if got := fmt.Sprintf("%+v", es[2].Tree()); got != fmt.Sprintf("{Name:z.txt Path:dir/z.txt Type:file Size:1 Mode:666 SHA256:%x}", sha256.Sum256([]byte("z"))) {
		t.Fatalf("tree entry %s", got)
	}
}

// TestRoundTrip checks that every entry survives WriteTo and Open unchanged,
// through both the paged and the in-memory reader.
func TestRoundTrip(t *testing.T) {
	var files []zipFile
	for i := range 3000 {
		files = append(files, zipFile{name: fmt.Sprintf("d%d/e%d/f%d.txt", i%7, i%13, i), body: strings.Repeat("x", i%50), method: uint16(8 * (i % 2))})
	}
	x := mustBuild(t, mustZip(t, files...))
	paged, raw := mustPersist(t, x)
	mem, err := OpenBytes(raw)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*Reader{"paged": paged, "memory": mem} {
		t.Run(name, func(t *testing.T) {
			all, total, err := r.List("", true, ci.Page{})
			if err != nil || total != x.Len() {
				t.Fatalf("List = %d, %v; want %d", total, err, x.Len())
			}
			for i, e := range x.Entries() {
				if all[i] != e {
					t.Fatalf("entry %d: got %+v, want %+v", i, all[i], e)
				}
				if !e.IsDir() {
					if got, err := r.Lookup(e.Path); err != nil || got != e {
						t.Fatalf("Lookup(%s) = %+v, %v", e.Path, got, err)
					}
				}
			}
		})
	}
}

func TestOpenCorruptIndex(t *testing.T) {
	_, raw := mustPersist(t, mustBuild(t, mustZip(t, treeFiles()...)))
	flipped := bytes.Clone(raw)
	flipped[len(flipped)-3] ^= 0x40
	badVersion := bytes.Clone(raw)
	badVersion[7] = 99
	tests := []struct {
		name       string
		data       []byte
		openFails  bool
		verifyFail bool
	}{
		{name: "empty", data: nil, openFails: true},
		{name: "garbage", data: bytes.Repeat([]byte{7}, 500), openFails: true},
		{name: "truncated", data: raw[:len(raw)-1], openFails: true},
		{name: "header only", data: raw[:headerLen], openFails: true},
		{name: "extended", data: append(bytes.Clone(raw), 0), openFails: true},
		{name: "unknown version", data: badVersion, openFails: true},
		{name: "body bit flip", data: flipped, verifyFail: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(tt.data), int64(len(tt.data)))
			if tt.openFails {
				if !errors.Is(err, ErrCorruptIndex) {
					t.Fatalf("Open = %v; want ErrCorruptIndex", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if err := r.Verify(); !errors.Is(err, ErrCorruptIndex) {
				t.Fatalf("Verify = %v; want ErrCorruptIndex", err)
			}
		})
	}
}

func TestCache(t *testing.T) {
	_, raw := mustPersist(t, mustBuild(t, mustZip(t, treeFiles()...)))
	c := NewCache(int64(len(raw)) * 8) // holds exactly eight indexes of this size
	steps := []struct {
		key   string
		calls int // ReadAt calls on the stored index
	}{
		{"k0", 1}, {"k1", 1}, {"k2", 1}, {"k3", 1}, {"k4", 1}, {"k5", 1}, {"k6", 1}, {"k7", 1},
		{"k0", 0},            // hit, and now most recently used
		{"k8", 1},            // evicts k1, the least recently used
		{"k1", 1}, {"k0", 0}, // k1 reloaded; k0 still cached
	}
	for i, st := range steps {
		src := &countingReaderAt{r: bytes.NewReader(raw)}
		r, err := c.Open(st.key, src, int64(len(raw)))
		if err != nil {
			t.Fatalf("step %d Open(%s): %v", i, st.key, err)
		}
		if _, err := r.Lookup("dir/z.txt"); err != nil {
			t.Fatalf("step %d Lookup: %v", i, err)
		}
		if src.calls != st.calls {
			t.Fatalf("step %d (%s): %d ReadAt calls, want %d", i, st.key, src.calls, st.calls)
		}
	}
	if c.Len() != 8 {
		t.Fatalf("cache holds %d indexes, want 8", c.Len())
	}
	// Cached answers without a source: k0 is in, k2 was evicted by k8 and k1.
	if r, ok := c.Cached("k0"); !ok || r == nil {
		t.Fatalf("Cached(k0) = %v, %v; want the cached index", r, ok)
	}
	if _, ok := c.Cached("k2"); ok {
		t.Fatal("Cached(k2) found an evicted index")
	}
	t.Run("too large to cache", func(t *testing.T) {
		small := NewCache(int64(len(raw)))
		r, err := small.Open("big", bytes.NewReader(raw), int64(len(raw)))
		if err != nil || small.Len() != 0 {
			t.Fatalf("Open = %v, cached %d", err, small.Len())
		}
		if _, err := r.Lookup("a.txt"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		if _, err := c.Open("bad", bytes.NewReader(raw[:100]), 100); !errors.Is(err, ErrCorruptIndex) {
			t.Fatalf("Open of a truncated index = %v", err)
		}
		flipped := bytes.Clone(raw)
		flipped[len(flipped)-1] ^= 1
		if _, err := c.Open("flipped", bytes.NewReader(flipped), int64(len(flipped))); !errors.Is(err, ErrCorruptIndex) {
			t.Fatalf("Open of a damaged index = %v", err)
		}
	})
}
