package archive

import (
	"archive/zip"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
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

// FuzzBuild: Build never panics; an index that builds agrees with the
// reference model (whatever the memory budget, with digests streamed or
// read, each file's SHA-256 included), persists and reopens to the
// same entries; reading any entry never panics either.
func FuzzBuild(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := Build(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if k := ci.KindOf(err); k != ci.KindInvalid && k != ci.KindTooLarge {
				t.Fatalf("Build error of kind %s: %v", ci.KindOf(err), err)
			}
			return
		}
		defer x.Close()
		// The bounded-memory build agrees with the in-memory reference model,
		// also when a tiny budget sends every sort to disk.
		ref, err := referenceBuild(data)
		if err != nil {
			t.Fatalf("Build accepted what the reference refuses: %v", err)
		}
		compareWithReference(t, x, ref)
		small, err := BuildLimited(bytes.NewReader(data), int64(len(data)), Limits{memory: 512, TempDir: t.TempDir()})
		if err != nil {
			t.Fatalf("Build with a small budget: %v", err)
		}
		compareWithReference(t, small, ref)
		small.Close()
		// Digests streamed by a Digester (in writes of any size) agree with
		// the reference too: a streamed digest is used only when it is the
		// entry's, else the entry is read.
		streamed, err := buildStreamed(t, data, Limits{memory: 512, TempDir: t.TempDir()})
		if err != nil {
			t.Fatalf("Build with streamed digests: %v", err)
		}
		compareWithReference(t, streamed, ref)
		streamed.Close()
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
				// Whatever the bytes, a read that ends without an error
				// delivered exactly the indexed size (else ErrSize/ErrChecksum).
				n, err := io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
				rc.Close()
				if err == nil && e.Size <= 1<<20 && n != e.Size {
					t.Fatalf("read %d bytes of %s without an error; the index says %d", n, e.Path, e.Size)
				}
			} else if k := ci.KindOf(err); k != ci.KindInvalid && k != ci.KindInternal {
				t.Fatalf("OpenEntry(%s): error of kind %q: %v", e.Path, k, err)
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
			// The paged reader (as over S3) and the in-memory one must agree
			// on everything, broken indexes included.
			var answers [2]string
			for i, open := range []func() (*Reader, error){
				func() (*Reader, error) { return Open(bytes.NewReader(b), int64(len(b))) },
				func() (*Reader, error) { return OpenBytes(b) },
			} {
				r, err := open()
				if err != nil {
					answers[i] = "open failed"
					continue
				}
				var out strings.Builder
				fmt.Fprintln(&out, r.Len(), r.Verify() == nil)
				for _, p := range []string{"a", "dir/z.txt"} {
					e, err := r.Lookup(p)
					fmt.Fprintln(&out, e.Path, e.Size, err == nil)
				}
				all, total, err := r.List("", true, ci.Page{Page: 1, PerPage: 100})
				fmt.Fprintln(&out, len(all), total, err == nil)
				_, total, err = r.List("", false, ci.Page{})
				fmt.Fprintln(&out, total, err == nil)
				for _, e := range all {
					fmt.Fprintln(&out, e.Path, e.Size, e.Mode)
					if e.IsDir() {
						_, n1, err1 := r.List(e.Path, false, ci.Page{Page: 1, PerPage: 100})
						_, n2, err2 := r.List(e.Path, true, ci.Page{Page: 1, PerPage: 100})
						fmt.Fprintln(&out, n1, err1 == nil, n2, err2 == nil)
					}
				}
				answers[i] = out.String()
			}
			// OpenBytes checks only the header, like Open: when both open, they answer alike.
			if answers[0] != "open failed" && answers[1] != "open failed" && answers[0] != answers[1] {
				t.Fatalf("Open and OpenBytes disagree:\n%s\n---\n%s", answers[0], answers[1])
			}
		}
	})
}
