package archive

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/archive/ziptest"
	"github.com/batonci/baton/internal/ci"
)

// shardsOf builds each archive's index and returns the merge, the archives
// as ReaderAts and the indexes' readers.
func shardsOf(t *testing.T, zips ...[]byte) (*Merged, []io.ReaderAt) {
	t.Helper()
	var readers []*Reader
	var archives []io.ReaderAt
	for _, z := range zips {
		r, _ := mustPersist(t, mustBuild(t, z))
		readers = append(readers, r)
		archives = append(archives, bytes.NewReader(z))
	}
	return Merge(readers...), archives
}

// mergedZip writes the merge and checks its length against ZipSize.
func mergedZip(t *testing.T, m *Merged, archives []io.ReaderAt) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := m.WriteZip(&buf, archives, t.TempDir())
	if err != nil {
		t.Fatalf("WriteZip: %v", err)
	}
	size, err := m.ZipSize()
	if err != nil || n != int64(buf.Len()) || size != n {
		t.Fatalf("WriteZip wrote %d (returned %d); ZipSize %d, %v", buf.Len(), n, size, err)
	}
	return buf.Bytes()
}

func TestMergeZip(t *testing.T) {
	mod := time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC)
	big := strings.Repeat("compressible line\n", 50000)
	noise := make([]byte, 300<<10) // stored and larger than sendfileMin: read sequentially
	rand.NewChaCha8([32]byte{3}).Read(noise)
	shard1 := mustZip(t,
		zipFile{name: "common/lib.so", body: "same bytes", method: zip.Deflate, modified: mod},
		zipFile{name: "reports/1.xml", body: "<one/>", method: zip.Deflate, modified: mod},
		zipFile{name: "bin/", mode: fs.ModeDir | 0o750, modified: mod},
		zipFile{name: "bin/tool", body: "#!/bin/sh\n", mode: 0o755, modified: mod},
		zipFile{name: "empty", body: "", modified: mod},
	)
	shard2 := mustZip(t,
		zipFile{name: "common/lib.so", body: "same bytes", method: zip.Store, modified: mod.Add(time.Hour)}, // same content, other method
		zipFile{name: "reports/2.xml", body: big, method: zip.Deflate, modified: mod},
		zipFile{name: "ünïcode.txt", body: "ü", modified: mod},
		zipFile{name: "bin/link", body: "tool", mode: fs.ModeSymlink | 0o777, modified: mod},
	)
	shard3 := mustZip(t,
		zipFile{name: "reports/3.xml", body: "<three/>", modified: mod},
		zipFile{name: "noise.bin", body: string(noise), modified: mod},
		zipFile{name: "empty", body: "", modified: mod},
	)
	m, archives := shardsOf(t, shard1, shard2, shard3)
	if c, n, err := m.Conflicts(10); err != nil || n != 0 {
		t.Fatalf("Conflicts = %v, %d, %v; want none", c, n, err)
	}
	z := mergedZip(t, m, archives)

	want := map[string]struct {
		body   string
		mode   fs.FileMode
		method uint16
	}{
		"common/lib.so": {"same bytes", 0o666, zip.Deflate}, // the first shard's entry
		"reports/1.xml": {"<one/>", 0o666, zip.Deflate},
		"reports/2.xml": {big, 0o666, zip.Deflate},
		"reports/3.xml": {"<three/>", 0o666, zip.Store},
		"bin/tool":      {"#!/bin/sh\n", 0o755, zip.Store},
		"bin/link":      {"tool", fs.ModeSymlink | 0o777, zip.Store},
		"empty":         {"", 0o666, zip.Store},
		"ünïcode.txt":   {"ü", 0o666, zip.Store},
		"bin/":          {"", fs.ModeDir | 0o750, zip.Store},
		"noise.bin":     {string(noise), 0o666, zip.Store},
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatalf("archive/zip cannot read the merged zip: %v", err)
	}
	if len(zr.File) != len(want) {
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
		}
		t.Fatalf("merged zip has %d entries %v; want %d", len(zr.File), names, len(want))
	}
	for _, f := range zr.File {
		w, ok := want[f.Name]
		if !ok {
			t.Fatalf("unexpected entry %s", f.Name)
		}
		if f.Mode() != w.mode || f.Method != w.method || !f.Modified.Equal(mod) && f.Name != "bin/" {
			t.Errorf("%s: mode %v method %d modified %v; want %v %d %v", f.Name, f.Mode(), f.Method, f.Modified, w.mode, w.method, mod)
		}
		if f.Flags&0x8 != 0 {
			t.Errorf("%s has a data descriptor", f.Name)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc) // archive/zip checks size and CRC-32
		if err != nil || string(b) != w.body {
			t.Errorf("%s: %d bytes, %v; want %d", f.Name, len(b), err, len(w.body))
		}
	}
	// The compressed bytes were copied, not recompressed: the merged entry
	// of reports/2.xml has the source's compressed size.
	src, _ := mustPersist(t, mustBuild(t, shard2))
	e2, _ := src.Lookup("reports/2.xml")
	merged, _ := mustPersist(t, mustBuild(t, z))
	m2, err := merged.Lookup("reports/2.xml")
	if err != nil || m2.CompressedSize != e2.CompressedSize || m2.SHA256 != sha256.Sum256([]byte(big)) {
		t.Fatalf("merged reports/2.xml: %+v, %v; source compressed %d", m2, err, e2.CompressedSize)
	}
	// unzip, the tool people use, extracts it too.
	if unzip, err := lookPath("unzip"); err == nil {
		dir := t.TempDir()
		p := filepath.Join(dir, "m.zip")
		os.WriteFile(p, z, 0o644)
		if out, err := runCmd(unzip, "-t", p); err != nil {
			t.Fatalf("unzip -t: %v\n%s", err, out)
		}
	}
}

func TestMergeConflicts(t *testing.T) {
	tests := []struct {
		name   string
		shards [][]zipFile
		want   []string
	}{
		{"identical duplicates", [][]zipFile{{{name: "a", body: "x"}}, {{name: "a", body: "x", method: zip.Deflate}}}, nil},
		{"same size, other bytes", [][]zipFile{{{name: "a", body: "x"}, {name: "d/b", body: "1"}}, {{name: "a", body: "y"}, {name: "d/b", body: "1"}}}, []string{"a"}},
		{"other size", [][]zipFile{{{name: "a", body: "x"}}, {{name: "b"}}, {{name: "a", body: "xx"}}}, []string{"a"}},
		{"file and directory", [][]zipFile{{{name: "out", body: "file"}}, {{name: "out/x", body: "x"}}}, []string{"out"}},
		{"file and explicit directory", [][]zipFile{{{name: "out/", mode: fs.ModeDir | 0o755}}, {{name: "out", body: "file"}}}, []string{"out"}},
		{"several", [][]zipFile{{{name: "a", body: "1"}, {name: "z/z", body: "1"}, {name: "m", body: "1"}}, {{name: "a", body: "2"}, {name: "z/z", body: "2"}, {name: "m", body: "1"}}}, []string{"a", "z/z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var zips [][]byte
			for _, s := range tt.shards {
				zips = append(zips, mustZip(t, s...))
			}
			m, _ := shardsOf(t, zips...)
			got, n, err := m.Conflicts(10)
			if err != nil || n != len(tt.want) || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("Conflicts = %q, %d, %v; want %q", got, n, err, tt.want)
			}
		})
	}
	// Only limit paths are named, all are counted.
	var a, b []zipFile
	for i := range 30 {
		a = append(a, zipFile{name: fmt.Sprintf("f%02d", i), body: "a"})
		b = append(b, zipFile{name: fmt.Sprintf("f%02d", i), body: "b"})
	}
	m, _ := shardsOf(t, mustZip(t, a...), mustZip(t, b...))
	got, n, err := m.Conflicts(5)
	if err != nil || n != 30 || strings.Join(got, ",") != "f00,f01,f02,f03,f04" {
		t.Fatalf("Conflicts(5) = %q, %d, %v", got, n, err)
	}
}

func TestMergeList(t *testing.T) {
	m, _ := shardsOf(t,
		mustZip(t, zipFile{name: "d/b.txt", body: "b"}, zipFile{name: "d/sub/x", body: "x"}, zipFile{name: "top", body: "t"}),
		mustZip(t, zipFile{name: "d/a.txt", body: "a"}, zipFile{name: "d/b.txt", body: "b"}, zipFile{name: "d/c/", mode: fs.ModeDir | 0o700}),
		mustZip(t, zipFile{name: "e/only", body: "o"}),
	)
	tests := []struct {
		dir       string
		recursive bool
		page      ci.Page
		want      string
		total     int
		kind      ci.Kind
	}{
		{dir: "", want: "d/ e/ top", total: 3},
		{dir: "d", want: "d/c/ d/sub/ d/a.txt d/b.txt", total: 4},
		{dir: "d", page: ci.Page{Page: 2, PerPage: 3}, want: "d/b.txt", total: 4},
		{dir: "", recursive: true, want: "d/ d/a.txt d/b.txt d/c/ d/sub/ d/sub/x e/ e/only top", total: 9},
		{dir: "d", recursive: true, page: ci.Page{Page: 1, PerPage: 2}, want: "d/a.txt d/b.txt", total: 5},
		{dir: "e", want: "e/only", total: 1},
		{dir: "nope", kind: ci.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v/%v", tt.dir, tt.recursive, tt.page), func(t *testing.T) {
			es, total, err := m.List(tt.dir, tt.recursive, tt.page)
			if tt.kind != "" {
				if ci.KindOf(err) != tt.kind {
					t.Fatalf("List = %v; want %s", err, tt.kind)
				}
				return
			}
			if err != nil || paths(es) != tt.want || total != tt.total {
				t.Fatalf("List = %q, %d, %v; want %q, %d", paths(es), total, err, tt.want, tt.total)
			}
		})
	}
	if shard, e, err := m.Lookup("d/a.txt"); err != nil || shard != 1 || e.Path != "d/a.txt" {
		t.Fatalf("Lookup = %d, %+v, %v", shard, e, err)
	}
	if _, _, err := m.Lookup("d/none"); ci.KindOf(err) != ci.KindNotFound {
		t.Fatalf("Lookup(missing) = %v", err)
	}
}

// TestMergeZip64Count: a merge of more than 65,535 entries gets zip64 end
// records that archive/zip and Build read.
func TestMergeZip64Count(t *testing.T) {
	const per = 35000
	var zips [][]byte
	for s := range 2 {
		var buf bytes.Buffer
		if _, err := ziptest.WriteMany(&buf, per, func(i int) string { return fmt.Sprintf("s%d/f%05d", s, i) }, []byte("x")); err != nil {
			t.Fatal(err)
		}
		zips = append(zips, buf.Bytes())
	}
	m, archives := shardsOf(t, zips...)
	z := mergedZip(t, m, archives)
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil || len(zr.File) != 2*per {
		t.Fatalf("archive/zip: %v, %d entries; want %d", err, len(zr.File), 2*per)
	}
	x := mustBuild(t, z)
	defer x.Close()
	if x.Len() != 2*per+2 { // and the two implied directories
		t.Fatalf("Build: %d entries", x.Len())
	}
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }

func runCmd(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

// virtualArchive is a zip whose first entry's data is n zero bytes that
// are never held: head, the zeros, then tail.
type virtualArchive struct {
	head  []byte
	zeros int64
	tail  []byte
}

func (v *virtualArchive) size() int64 { return int64(len(v.head)) + v.zeros + int64(len(v.tail)) }

func (v *virtualArchive) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		o := off + int64(n)
		switch {
		case o < int64(len(v.head)):
			n += copy(p[n:], v.head[o:])
		case o < int64(len(v.head))+v.zeros:
			k := min(int64(len(p)-n), int64(len(v.head))+v.zeros-o)
			clear(p[n : n+int(k)])
			n += int(k)
		case o < v.size():
			n += copy(p[n:], v.tail[o-int64(len(v.head))-v.zeros:])
		default:
			return n, io.EOF
		}
	}
	return n, nil
}

// sparseWriter keeps what is written, long runs of zeros as counts.
type sparseWriter struct {
	segs []virtualArchive // each a head of bytes or a run of zeros
	n    int64
}

var zeroBlock = make([]byte, 256<<10)

func (s *sparseWriter) Write(p []byte) (int, error) {
	s.n += int64(len(p))
	if len(p) >= 4096 && len(p) <= len(zeroBlock) && bytes.Equal(p, zeroBlock[:len(p)]) {
		if l := len(s.segs); l > 0 && s.segs[l-1].head == nil {
			s.segs[l-1].zeros += int64(len(p))
		} else {
			s.segs = append(s.segs, virtualArchive{zeros: int64(len(p))})
		}
		return len(p), nil
	}
	if l := len(s.segs); l > 0 && s.segs[l-1].head != nil {
		s.segs[l-1].head = append(s.segs[l-1].head, p...)
	} else {
		s.segs = append(s.segs, virtualArchive{head: bytes.Clone(p)})
	}
	return len(p), nil
}

func (s *sparseWriter) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for _, seg := range s.segs {
		l := int64(len(seg.head)) + seg.zeros
		if off >= l {
			off -= l
			continue
		}
		k, _ := seg.ReadAt(p[n:min(len(p), n+int(l-off))], off)
		n += k
		off = 0
		if n == len(p) {
			return n, nil
		}
	}
	return n, io.EOF
}

// TestMergeZip64Sizes: an entry of 4 GiB and an entry past 4 GiB of
// output get zip64 sizes and offsets that archive/zip reads.
func TestMergeZip64Sizes(t *testing.T) {
	if testing.Short() {
		t.Skip("copies and hashes 4 GiB")
	}
	const n = 1 << 32
	crc := uint32(0)
	for range n / len(zeroBlock) {
		crc = crc32Update(crc, zeroBlock)
	}
	var head, tail bytes.Buffer
	local := func(w *bytes.Buffer, name string, crc uint32, size uint64, zip64 bool) {
		w.Write(le.AppendUint32(nil, sigLocal))
		w.Write(le.AppendUint16(le.AppendUint16(le.AppendUint16(nil, 45), 0), 0))
		w.Write(le.AppendUint32(le.AppendUint32(nil, 0), crc))
		extra := []byte(nil)
		if zip64 {
			w.Write(le.AppendUint32(le.AppendUint32(nil, uint32Max), uint32Max))
			extra = le.AppendUint64(le.AppendUint64(le.AppendUint16(le.AppendUint16(nil, extraZip64), 16), size), size)
		} else {
			w.Write(le.AppendUint32(le.AppendUint32(nil, uint32(size)), uint32(size)))
		}
		w.Write(le.AppendUint16(le.AppendUint16(nil, uint16(len(name))), uint16(len(extra))))
		w.WriteString(name)
		w.Write(extra)
	}
	local(&head, "big", crc, n, true)
	smallAt := uint64(head.Len()) + n
	local(&tail, "small", crc32.ChecksumIEEE([]byte("hi")), 2, false)
	tail.WriteString("hi")
	cdAt := smallAt + uint64(tail.Len())
	central := func(name string, crc uint32, size, off uint64) {
		var z64 []byte
		csize, usize, o := uint32(size), uint32(size), uint32(off)
		if size >= uint32Max {
			z64 = le.AppendUint64(le.AppendUint64(z64, size), size)
			csize, usize = uint32Max, uint32Max
		}
		if off >= uint32Max {
			z64 = le.AppendUint64(z64, off)
			o = uint32Max
		}
		c := le.AppendUint32(nil, sigCentral)
		c = le.AppendUint16(le.AppendUint16(le.AppendUint16(le.AppendUint16(c, creatorUnix<<8|45), 45), 0), 0)
		c = le.AppendUint32(le.AppendUint32(c, 0), crc)
		c = le.AppendUint32(le.AppendUint32(c, csize), usize)
		c = le.AppendUint16(le.AppendUint16(le.AppendUint16(c, uint16(len(name))), uint16(4+len(z64))), 0)
		c = le.AppendUint32(le.AppendUint16(le.AppendUint16(c, 0), 0), 0o100644<<16)
		c = le.AppendUint32(c, o)
		c = append(c, name...)
		c = append(le.AppendUint16(le.AppendUint16(c, extraZip64), uint16(len(z64))), z64...)
		tail.Write(c)
	}
	central("big", crc, n, 0)
	central("small", crc32.ChecksumIEEE([]byte("hi")), 2, smallAt)
	cdSize := uint64(tail.Len()) - (cdAt - smallAt)
	end64At := cdAt + cdSize
	e := le.AppendUint32(nil, sigEnd64)
	e = le.AppendUint64(e, end64Len-12)
	e = le.AppendUint16(le.AppendUint16(e, 45), 45)
	e = le.AppendUint32(le.AppendUint32(e, 0), 0)
	e = le.AppendUint64(le.AppendUint64(e, 2), 2)
	e = le.AppendUint64(le.AppendUint64(e, cdSize), cdAt)
	e = le.AppendUint64(le.AppendUint32(le.AppendUint32(e, sigEnd64Locator), 0), end64At)
	e = le.AppendUint32(e, 1)
	e = le.AppendUint32(e, sigEnd)
	e = le.AppendUint16(le.AppendUint16(le.AppendUint16(le.AppendUint16(e, 0), 0), 2), 2)
	e = le.AppendUint32(le.AppendUint32(e, uint32Max), uint32Max)
	e = le.AppendUint16(e, 0)
	tail.Write(e)
	v := &virtualArchive{head: head.Bytes(), zeros: n, tail: tail.Bytes()}

	x, err := Build(v, v.size())
	if err != nil {
		t.Fatal(err)
	}
	r1, _ := mustPersist(t, x)
	x.Close()
	if big, err := r1.Lookup("big"); err != nil || big.Size != n || !big.HasSHA256() {
		t.Fatalf("big: %+v, %v", big, err)
	}
	other := mustZip(t, zipFile{name: "other", body: "other"})
	r2, _ := mustPersist(t, mustBuild(t, other))
	m := Merge(r1, r2)
	var out sparseWriter
	written, err := m.WriteZip(&out, []io.ReaderAt{v, bytes.NewReader(other)}, t.TempDir())
	size, serr := m.ZipSize()
	if err != nil || serr != nil || written != out.n || written != size {
		t.Fatalf("WriteZip = %d, %v; wrote %d; ZipSize %d, %v", written, err, out.n, size, serr)
	}
	zr, err := zip.NewReader(&out, out.n)
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	want := map[string]string{"big": "", "other": "other", "small": "hi"}
	for _, f := range zr.File {
		body, ok := want[f.Name]
		if !ok {
			t.Fatalf("unexpected %s", f.Name)
		}
		delete(want, f.Name)
		if f.Name == "big" {
			if f.UncompressedSize64 != n {
				t.Fatalf("big: %d bytes", f.UncompressedSize64)
			}
			if _, err := f.DataOffset(); err != nil {
				t.Fatalf("big: %v", err)
			}
			continue
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil || string(b) != body {
			t.Fatalf("%s: %q, %v", f.Name, b, err)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing %v", want)
	}
}

func crc32Update(crc uint32, p []byte) uint32 { return crc32.Update(crc, crc32.IEEETable, p) }
