package archive

import (
	"archive/zip"
	"bytes"
	"hash/crc32"
	"io"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func fuzzSeeds(f *testing.F) [][]byte {
	seeds := [][]byte{
		mustZip(f, treeFiles()...),
		mustZip(f, zipFile{name: "a", body: "x", method: zip.Deflate}),
		mustZip(f),
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.CreateRaw(&zip.FileHeader{Name: "z64", CompressedSize64: 5 << 30, UncompressedSize64: 5 << 30})
	zw.Close()
	return append(seeds, buf.Bytes())
}

// FuzzBuild: Build never panics, and an index that builds persists and
// reopens to the same entries; reading any entry never panics either.
func FuzzBuild(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := Build(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if ci.KindOf(err) != ci.KindInvalid {
				t.Fatalf("Build error of kind %s: %v", ci.KindOf(err), err)
			}
			return
		}
		r, _ := mustPersist(t, x)
		all, total, err := r.List("", true, ci.Page{})
		if err != nil || total != x.Len() {
			t.Fatalf("List = %d, %v; want %d", total, err, x.Len())
		}
		for i, e := range x.Entries() {
			if all[i] != e {
				t.Fatalf("entry %d: got %+v, want %+v", i, all[i], e)
			}
			if e.IsDir() {
				if _, _, err := r.List(e.Path, false, ci.Page{}); err != nil {
					t.Fatalf("List(%s): %v", e.Path, err)
				}
				continue
			}
			if got, err := r.Lookup(e.Path); err != nil || got != e {
				t.Fatalf("Lookup(%s) = %+v, %v", e.Path, got, err)
			}
			if rc, err := OpenEntry(bytes.NewReader(data), e); err == nil {
				io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
				rc.Close()
			}
		}
	})
}

// FuzzOpenIndex: opening arbitrary bytes as an index, and querying it, never
// panics. Each input is also tried with its header checksum and size fixed
// up, so mutations reach the records, tables and strings.
func FuzzOpenIndex(f *testing.F) {
	for _, s := range fuzzSeeds(f)[:3] {
		_, raw := mustPersist(f, mustBuild(f, s))
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fixed := bytes.Clone(data)
		if len(fixed) >= headerLen {
			le.PutUint64(fixed[24:], uint64(len(fixed)))
			le.PutUint32(fixed[36:], crc32.Checksum(fixed[:36], castagnoli))
		}
		for _, b := range [][]byte{data, fixed} {
			for _, open := range []func() (*Reader, error){
				func() (*Reader, error) { return Open(bytes.NewReader(b), int64(len(b))) },
				func() (*Reader, error) { return OpenBytes(b) },
			} {
				r, err := open()
				if err != nil {
					continue
				}
				r.Verify()
				r.Lookup("a")
				r.Lookup("dir/z.txt")
				all, _, _ := r.List("", true, ci.Page{Page: 1, PerPage: 100})
				r.List("", false, ci.Page{})
				for _, e := range all {
					if e.IsDir() {
						r.List(e.Path, false, ci.Page{Page: 1, PerPage: 100})
						r.List(e.Path, true, ci.Page{Page: 1, PerPage: 100})
					}
				}
			}
		}
	})
}
