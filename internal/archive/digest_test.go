package archive

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

// rawFile is one entry of a zip written byte by byte by rawZipOf, in the
// shapes real writers produce: data descriptors with or without signature,
// 4- or 8-byte sizes, zip64 local headers, other methods, damage.
type rawFile struct {
	name      string
	data      []byte // uncompressed
	method    uint16 // 0 store, 8 deflate, else written as stored bytes under that method
	desc      string // "": sizes in the local header; "sig", "nosig", "sig64": a data descriptor
	zip64     bool   // zip64 extra field in the local header (sizes 0xffffffff)
	encrypted bool
	badCRC    bool // the headers record a wrong CRC-32
	dir       bool
}

// rawZipOf writes files after prefix (junk before the first local header,
// as in a self-extracting archive; central directory offsets include it).
func rawZipOf(t *testing.T, prefix []byte, files ...rawFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.Write(prefix)
	type cd struct {
		f                 rawFile
		off, csize, usize uint64
		crc               uint32
		flags             uint16
	}
	var dir []cd
	le := binary.LittleEndian
	for _, f := range files {
		comp := f.data
		if f.method == MethodDeflate {
			comp = deflate(t, f.data)
		}
		crc := crc32.ChecksumIEEE(f.data)
		if f.badCRC {
			crc ^= 1
		}
		var flags uint16
		if f.desc != "" {
			flags |= 0x8
		}
		if f.encrypted {
			flags |= flagEncrypted
		}
		c := cd{f: f, off: uint64(buf.Len()), csize: uint64(len(comp)), usize: uint64(len(f.data)), crc: crc, flags: flags}
		var h [30]byte
		le.PutUint32(h[0:], sigLocal)
		le.PutUint16(h[4:], 45)
		le.PutUint16(h[6:], flags)
		le.PutUint16(h[8:], f.method)
		var extra []byte
		if f.desc == "" {
			le.PutUint32(h[14:], crc)
			le.PutUint32(h[18:], uint32(c.csize))
			le.PutUint32(h[22:], uint32(c.usize))
		}
		if f.zip64 {
			le.PutUint32(h[18:], uint32Max)
			le.PutUint32(h[22:], uint32Max)
			extra = make([]byte, 20)
			le.PutUint16(extra[0:], extraZip64)
			le.PutUint16(extra[2:], 16)
			if f.desc == "" {
				le.PutUint64(extra[4:], c.usize)
				le.PutUint64(extra[12:], c.csize)
			}
		}
		le.PutUint16(h[26:], uint16(len(f.name)))
		le.PutUint16(h[28:], uint16(len(extra)))
		buf.Write(h[:])
		buf.WriteString(f.name)
		buf.Write(extra)
		buf.Write(comp)
		switch f.desc {
		case "sig", "nosig":
			if f.desc == "sig" {
				buf.Write(descriptorSig)
			}
			var d [12]byte
			le.PutUint32(d[0:], crc)
			le.PutUint32(d[4:], uint32(c.csize))
			le.PutUint32(d[8:], uint32(c.usize))
			buf.Write(d[:])
		case "sig64":
			buf.Write(descriptorSig)
			var d [20]byte
			le.PutUint32(d[0:], crc)
			le.PutUint64(d[4:], c.csize)
			le.PutUint64(d[12:], c.usize)
			buf.Write(d[:])
		}
		dir = append(dir, c)
	}
	dirStart := buf.Len()
	for _, c := range dir {
		var h [46]byte
		le.PutUint32(h[0:], sigCentral)
		le.PutUint16(h[4:], creatorUnix<<8|45)
		le.PutUint16(h[6:], 45)
		le.PutUint16(h[8:], c.flags)
		le.PutUint16(h[10:], c.f.method)
		le.PutUint32(h[16:], c.crc)
		le.PutUint32(h[20:], uint32Max)
		le.PutUint32(h[24:], uint32Max)
		le.PutUint32(h[42:], uint32Max)
		extra := make([]byte, 28)
		le.PutUint16(extra[0:], extraZip64)
		le.PutUint16(extra[2:], 24)
		le.PutUint64(extra[4:], c.usize)
		le.PutUint64(extra[12:], c.csize)
		le.PutUint64(extra[20:], c.off)
		mode := uint32(0o100644)
		if c.f.dir {
			mode = 0o40755
		}
		le.PutUint32(h[38:], mode<<16)
		le.PutUint16(h[28:], uint16(len(c.f.name)))
		le.PutUint16(h[30:], uint16(len(extra)))
		buf.Write(h[:])
		buf.WriteString(c.f.name)
		buf.Write(extra)
	}
	var end [22]byte
	le.PutUint32(end[0:], sigEnd)
	le.PutUint16(end[8:], uint16(len(dir)))
	le.PutUint16(end[10:], uint16(len(dir)))
	le.PutUint32(end[12:], uint32(buf.Len()-dirStart))
	le.PutUint32(end[16:], uint32(dirStart))
	buf.Write(end[:])
	return buf.Bytes()
}

// streamDigests feeds z to a Digester in writes of the sizes sizes returns.
func streamDigests(z []byte, lim Limits, sizes func() int) *Digests {
	d := lim.NewDigester()
	for rest := z; len(rest) > 0; {
		n := min(max(sizes(), 1), len(rest))
		d.Write(rest[:n])
		rest = rest[n:]
	}
	return d.Close()
}

// buildStreamed indexes z with the digests streamed in writes of up to 4 KiB.
func buildStreamed(t *testing.T, z []byte, lim Limits) (*Index, error) {
	rng := rand.New(rand.NewPCG(uint64(len(z)), 1))
	g := streamDigests(z, lim, func() int { return 1 + rng.IntN(4096) })
	defer g.Close()
	return BuildStreamed(bytes.NewReader(z), int64(len(z)), lim, g)
}

func sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// TestDigestsStreamed: each file's digest is the SHA-256 of its bytes,
// whatever shape its entry has, and the entries the Digester can follow are
// not read again (readDigests counts those that are).
func TestDigestsStreamed(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 40000) // 640 KiB: spans chunks and windows
	// Stored data holding a descriptor signature, once with a CRC-32 and size
	// that do not match the bytes before it, so the scan must go on.
	fakeSig := "head" + string(descriptorSig) + "\x01\x02\x03\x04\x05\x00\x00\x00\x05\x00\x00\x00tail"
	// Stored data holding a descriptor that does match the bytes before it:
	// the Digester ends the entry early, so its digest (of a prefix) must
	// not be used; the entry is read instead.
	prefix := "abc"
	var trap bytes.Buffer
	trap.WriteString(prefix)
	trap.Write(descriptorSig)
	binary.Write(&trap, binary.LittleEndian, [3]uint32{crc32.ChecksumIEEE([]byte(prefix)), 3, 3})
	trap.WriteString("rest")
	tests := []struct {
		name    string
		prefix  []byte
		files   []rawFile
		read    int               // entries hashed by reading
		unknown map[string]bool   // files without digest
		want    map[string]string // path -> content (defaults to the file's data)
	}{
		{name: "stored and deflate, sizes in headers", files: []rawFile{
			{name: "a.txt", data: []byte("hello")}, {name: "b.txt", data: []byte(big), method: MethodDeflate}}},
		{name: "data descriptors with signature", files: []rawFile{
			{name: "s", data: []byte(big), desc: "sig"}, {name: "d", data: []byte(big), method: MethodDeflate, desc: "sig"},
			{name: "after", data: []byte("x"), desc: "sig"}}},
		{name: "data descriptor without signature (deflate)", files: []rawFile{
			{name: "d", data: []byte("deflated"), method: MethodDeflate, desc: "nosig"}, {name: "e", data: []byte("e")}}},
		{name: "zip64 local headers and 8-byte descriptors", files: []rawFile{
			{name: "z", data: []byte(big), zip64: true}, {name: "zd", data: []byte("zd"), zip64: true, desc: "sig64", method: MethodDeflate},
			{name: "zs", data: []byte("zs"), zip64: true, desc: "sig64"}, {name: "short64", data: []byte("s"), desc: "sig64"}}},
		{name: "empty files", files: []rawFile{
			{name: "e0", data: nil}, {name: "e8", data: nil, method: MethodDeflate}, {name: "e0d", data: nil, desc: "sig"},
			{name: "e8d", data: nil, method: MethodDeflate, desc: "sig"}, {name: "dir/", dir: true}}},
		{name: "signature inside stored data", files: []rawFile{{name: "f", data: []byte(fakeSig), desc: "sig"}, {name: "g", data: []byte("g"), desc: "sig"}}},
		{name: "a descriptor inside stored data", read: 2, files: []rawFile{{name: "f", data: trap.Bytes(), desc: "sig"}, {name: "g", data: []byte("g"), desc: "sig"}}},
		{name: "other method and encryption skipped", unknown: map[string]bool{"bz": true, "enc": true}, read: 2, files: []rawFile{
			{name: "bz", data: []byte("not really bzip2"), method: 12}, {name: "enc", data: []byte("secret"), encrypted: true},
			{name: "after", data: []byte("after"), method: MethodDeflate}}},
		{name: "other method with descriptor stops the stream", unknown: map[string]bool{"bz": true}, read: 3, files: []rawFile{
			{name: "first", data: []byte("first")}, {name: "bz", data: []byte("??"), method: 12, desc: "sig"},
			{name: "after", data: []byte("after"), method: MethodDeflate}, {name: "last", data: []byte("last"), desc: "sig"}}},
		{name: "damaged entry has no digest", unknown: map[string]bool{"bad": true}, read: 1, files: []rawFile{
			{name: "bad", data: []byte("bad"), badCRC: true}, {name: "good", data: []byte("good")}}},
		{name: "junk before the first header", prefix: []byte("#!/bin/sh\nexit 0\n"), read: 2, files: []rawFile{
			{name: "a", data: []byte("a")}, {name: "b", data: []byte("b"), method: MethodDeflate}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := rawZipOf(t, tt.prefix, tt.files...)
			if tt.unknown == nil && tt.prefix == nil {
				// The archive is sound: archive/zip reads every file back.
				zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
				if err != nil {
					t.Fatalf("archive/zip: %v", err)
				}
				for _, f := range zr.File {
					if rc, err := f.Open(); err == nil {
						_, err = io.Copy(io.Discard, rc)
						if err != nil {
							t.Fatalf("archive/zip reading %s: %v", f.Name, err)
						}
					}
				}
			}
			for _, mem := range []int{0, 512} {
				x, err := buildStreamed(t, z, Limits{TempDir: t.TempDir(), memory: mem})
				if err != nil {
					t.Fatal(err)
				}
				if x.readDigests != tt.read {
					t.Errorf("memory %d: %d entries read to hash them; want %d", mem, x.readDigests, tt.read)
				}
				r, _ := mustPersist(t, x)
				x.Close()
				for _, f := range tt.files {
					e, err := r.Lookup(f.name)
					if f.dir {
						continue
					}
					if err != nil {
						t.Fatalf("Lookup(%s): %v", f.name, err)
					}
					var want [32]byte
					if !tt.unknown[f.name] {
						want = sha256.Sum256(f.data)
					}
					if e.SHA256 != want {
						t.Errorf("memory %d: %s: sha256 %x; want %x", mem, f.name, e.SHA256, want)
					}
				}
			}
		})
	}
}

// TestDigestsByReading: without streamed digests every file is read and
// hashed, with the same result.
func TestDigestsByReading(t *testing.T) {
	files := []zipFile{{name: "a", body: "a"}, {name: "d/b", body: strings.Repeat("b", 100000), method: zip.Deflate}, {name: "e"}, {name: "d/"}}
	z := mustZip(t, files...)
	x := mustBuild(t, z)
	defer x.Close()
	if x.readDigests != 3 {
		t.Fatalf("%d entries read; want 3", x.readDigests)
	}
	for _, e := range x.Entries() {
		var want [32]byte
		for _, f := range files {
			if f.name == e.Path && !e.IsDir() {
				want = sum(f.body)
			}
		}
		if e.SHA256 != want {
			t.Errorf("%s: sha256 %x; want %x", e.Path, e.SHA256, want)
		}
	}
}

// TestDigesterLimits: the Digester inflates at most MaxUncompressed bytes
// and records at most MaxEntries entries; what it skips is read instead.
func TestDigesterLimits(t *testing.T) {
	zeros := make([]byte, 1<<20)
	z := rawZipOf(t, nil, rawFile{name: "small", data: []byte("s")}, rawFile{name: "bomb", data: zeros, method: MethodDeflate},
		rawFile{name: "after", data: []byte("a")})
	g := streamDigests(z, Limits{MaxUncompressed: 1 << 19}, func() int { return 1 << 16 })
	if g.Len() != 1 {
		t.Fatalf("%d digests past a limit of 512 KiB; want 1 (the first entry)", g.Len())
	}
	g.Close()
	g = streamDigests(z, Limits{MaxEntries: 2}, func() int { return 1 << 16 })
	if g.Len() != 2 {
		t.Fatalf("%d digests with at most 2 entries; want 2", g.Len())
	}
	g.Close()
	g = streamDigests(z, Limits{}, func() int { return 1 << 16 })
	if g.Len() != 3 {
		t.Fatalf("%d digests; want 3", g.Len())
	}
	g.Close()
}

// TestDigesterNotAZip: bytes that are not a zip, or a zip cut short, end the
// walk without error and without blocking the writer.
func TestDigesterNotAZip(t *testing.T) {
	z := mustZip(t, zipFile{name: "a", body: strings.Repeat("a", 1<<20)})
	for name, b := range map[string][]byte{
		"random":    bytes.Repeat([]byte("not a zip "), 100000),
		"truncated": z[:len(z)/2],
		"empty":     nil,
	} {
		g := streamDigests(b, Limits{}, func() int { return 3000 })
		if g.Len() != 0 {
			t.Errorf("%s: %d digests; want 0", name, g.Len())
		}
		g.Close()
	}
}

// TestReadFormatVersion1: an index written before digests (format 1) still
// opens and answers; its files have no digest.
func TestReadFormatVersion1(t *testing.T) {
	x := mustBuild(t, mustZip(t, treeFiles()...))
	defer x.Close()
	r2, v2 := mustPersist(t, x)
	v1 := downgrade(t, v2)
	r1, err := Open(bytes.NewReader(v1), int64(len(v1)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r1.Verify(); err != nil {
		t.Fatal(err)
	}
	if r1.HasDigests() || !r2.HasDigests() {
		t.Fatalf("HasDigests: version 1 %v, version 2 %v", r1.HasDigests(), r2.HasDigests())
	}
	all1, n1, err1 := r1.List("", true, ci.Page{})
	all2, n2, err2 := r2.List("", true, ci.Page{})
	if err1 != nil || err2 != nil || n1 != n2 || len(all1) != len(all2) {
		t.Fatalf("List: %d, %v; %d, %v", n1, err1, n2, err2)
	}
	files := 0
	for i := range all1 {
		e1, e2 := all1[i], all2[i]
		if e1.HasSHA256() {
			t.Fatalf("%s has a digest in a version 1 index", e1.Path)
		}
		if !e2.IsDir() {
			files++
			if !e2.HasSHA256() {
				t.Fatalf("%s has no digest in a version 2 index", e2.Path)
			}
		}
		e2.SHA256 = [32]byte{}
		if e1 != e2 {
			t.Fatalf("entry %d: version 1 %+v, version 2 %+v", i, e1, e2)
		}
	}
	if files == 0 {
		t.Fatal("no files compared")
	}
}

// downgrade turns a version 2 index into the version 1 index of the same
// archive: no digests section, version byte 1, sizes and checksums redone.
func downgrade(t *testing.T, v2 []byte) []byte {
	t.Helper()
	if v2[7] != 2 {
		t.Fatalf("index version %d; want 2", v2[7])
	}
	count := le.Uint32(v2[8:])
	v1 := bytes.Clone(v2[:len(v2)-int(count)*digestLen])
	v1[7] = 1
	le.PutUint64(v1[24:], uint64(len(v1)))
	le.PutUint32(v1[32:], crc32.Checksum(v1[headerLen:], castagnoli))
	le.PutUint32(v1[36:], crc32.Checksum(v1[:36], castagnoli))
	return v1
}

func TestRawZipOfIsReadable(t *testing.T) {
	// The hand-written archives of TestDigestsStreamed are real zips: check
	// one of each shape with archive/zip, contents included.
	files := []rawFile{{name: "a", data: []byte("a")}, {name: "b", data: []byte("bb"), desc: "sig", method: MethodDeflate},
		{name: "c", data: []byte("ccc"), zip64: true}, {name: "d", data: []byte("dddd"), desc: "sig64", zip64: true}}
	z := rawZipOf(t, nil, files...)
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		if err != nil || string(b) != string(files[i].data) {
			t.Fatalf("%s: %q, %v", f.Name, b, err)
		}
	}
}

// TestIndexFiles: Files yields every file (no directory) with its digest,
// in path order, also when the index spilled to disk.
func TestIndexFiles(t *testing.T) {
	var files []zipFile
	for i := range 500 {
		files = append(files, zipFile{name: fmt.Sprintf("d%d/f%03d", i%7, i), body: fmt.Sprint(i)})
	}
	files = append(files, zipFile{name: "empty/"})
	z := mustZip(t, files...)
	x, err := BuildLimited(bytes.NewReader(z), int64(len(z)), Limits{memory: 512, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	body := map[string]string{}
	for _, f := range files {
		body[f.name] = f.body
	}
	var want []string
	for _, e := range x.Entries() {
		if !e.IsDir() {
			want = append(want, fmt.Sprintf("%s %x", e.Path, sha256.Sum256([]byte(body[e.Path]))))
		}
	}
	seq, errf := x.Files()
	var got []string
	for p, sum := range seq {
		got = append(got, fmt.Sprintf("%s %x", p, sum))
	}
	if err := errf(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 500 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Files:\n%s\nwant:\n%s", strings.Join(got[:min(5, len(got))], "\n"), strings.Join(want[:5], "\n"))
	}
}
