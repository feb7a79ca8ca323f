package archive

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func TestBuildEntries(t *testing.T) {
	mod := time.Date(2024, 5, 6, 7, 8, 10, 0, time.UTC)
	z := mustZip(t,
		zipFile{name: "stored.txt", body: "hello", method: zip.Store, modified: mod, mode: 0o640},
		zipFile{name: "deflated.txt", body: strings.Repeat("abc", 1000), method: zip.Deflate, modified: mod, mode: 0o755},
		zipFile{name: "empty/", modified: mod, mode: fs.ModeDir | 0o700},
		zipFile{name: "deep/a/b/c.txt", body: "c", method: zip.Deflate, modified: mod},
		zipFile{name: "link", body: "stored.txt", method: zip.Store, mode: fs.ModeSymlink | 0o777, modified: mod},
		zipFile{name: "rapports/été 日本.txt", body: "u", modified: mod},
		zipFile{name: "./dot/x", body: "x", modified: mod},
	)
	x := mustBuild(t, z)
	byPath := map[string]Entry{}
	var paths []string
	for _, e := range x.Entries() {
		byPath[e.Path] = e
		paths = append(paths, e.Path)
	}
	wantPaths := []string{"deep/", "deep/a/", "deep/a/b/", "deep/a/b/c.txt", "deflated.txt", "dot/", "dot/x",
		"empty/", "link", "rapports/", "rapports/été 日本.txt", "stored.txt"}
	if got, want := strings.Join(paths, "|"), strings.Join(wantPaths, "|"); got != want {
		t.Fatalf("paths:\n got %s\nwant %s", got, want)
	}
	tests := []struct {
		path         string
		size         int64
		method       uint16
		mode         fs.FileMode
		typ, treeMod string
		implied      bool
	}{
		{path: "stored.txt", size: 5, method: zip.Store, mode: 0o640, typ: "file", treeMod: "640"},
		{path: "deflated.txt", size: 3000, method: zip.Deflate, mode: 0o755, typ: "file", treeMod: "755"},
		{path: "empty/", mode: fs.ModeDir | 0o700, typ: "directory", treeMod: "700"},
		{path: "deep/a/", mode: fs.ModeDir | 0o755, typ: "directory", treeMod: "755", implied: true},
		{path: "link", size: 10, method: zip.Store, mode: fs.ModeSymlink | 0o777, typ: "file", treeMod: "777"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e, ok := byPath[tt.path]
			if !ok {
				t.Fatalf("no entry %s", tt.path)
			}
			if e.Size != tt.size || e.Method != tt.method || e.Mode != tt.mode || e.Type() != tt.typ || e.Tree().Mode != tt.treeMod {
				t.Fatalf("entry %+v; want size %d method %d mode %v type %s", e, tt.size, tt.method, tt.mode, tt.typ)
			}
			if tt.implied != e.Modified.IsZero() {
				t.Fatalf("Modified = %v, implied = %v", e.Modified, tt.implied)
			}
			if !tt.implied && !e.Modified.Equal(mod) {
				t.Fatalf("Modified = %v, want %v", e.Modified, mod)
			}
		})
	}
	if e := byPath["stored.txt"]; e.CRC32 != 0x3610a686 || e.CompressedSize != 5 {
		t.Fatalf("stored.txt CRC %#x compressed %d", e.CRC32, e.CompressedSize)
	}
}

func TestBuildCP437Name(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	if _, err := zw.CreateHeader(&zip.FileHeader{Name: "caf\x82.txt", NonUTF8: true}); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	x := mustBuild(t, buf.Bytes())
	if got := x.Entries()[0].Path; got != "café.txt" {
		t.Fatalf("path %q, want café.txt", got)
	}
}

func TestBuildZip64(t *testing.T) {
	t.Run("more than 65535 entries", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		const n = 70_000
		for i := range n {
			if _, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("d%02d/f%05d", i%50, i), Method: zip.Store}); err != nil {
				t.Fatal(err)
			}
		}
		zw.Close()
		z := buf.Bytes()
		if !bytes.Contains(z[len(z)-200:], []byte("PK\x06\x07")) {
			t.Fatal("archive/zip did not write a zip64 end locator")
		}
		x := mustBuild(t, z)
		if x.Len() != n+50 {
			t.Fatalf("Len = %d, want %d", x.Len(), n+50)
		}
	})
	t.Run("sizes over 4 GiB", func(t *testing.T) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		const big = 5 << 30
		if _, err := zw.CreateRaw(&zip.FileHeader{Name: "huge.bin", Method: zip.Store,
			CompressedSize64: big, UncompressedSize64: big}); err != nil {
			t.Fatal(err)
		}
		zw.Close()
		e := mustBuild(t, buf.Bytes()).Entries()[0]
		if e.Size != big || e.CompressedSize != big {
			t.Fatalf("sizes %d/%d, want %d", e.Size, e.CompressedSize, int64(big))
		}
	})
}

func TestBuildRejects(t *testing.T) {
	valid := mustZip(t, zipFile{name: "a.txt", body: "aaa"}, zipFile{name: "b.txt", body: "bbb"})
	brokenDir := bytes.Clone(valid)
	brokenDir[bytes.LastIndex(brokenDir, []byte("PK\x01\x02"))+2] = 9
	countMismatch := bytes.Clone(valid)
	eocd := bytes.LastIndex(countMismatch, []byte("PK\x05\x06"))
	countMismatch[eocd+10] = 200
	unsafe := func(name string) []byte {
		return mustZip(t, zipFile{name: "ok", body: "1"}, zipFile{name: name, body: "x"})
	}
	tests := []struct {
		name    string
		data    []byte
		message string
	}{
		{name: "empty", data: nil, message: "artifact archive is not a valid zip: file is too small"},
		{name: "garbage", data: bytes.Repeat([]byte("not a zip "), 100), message: "artifact archive is not a valid zip: no end of central directory record"},
		{name: "truncated", data: valid[:len(valid)-5], message: "artifact archive is not a valid zip"},
		{name: "truncated central directory", data: append(bytes.Clone(valid[:eocd-10]), valid[eocd:]...), message: "artifact archive is not a valid zip"},
		{name: "broken central directory", data: brokenDir, message: "artifact archive is not a valid zip: central directory entry 1 has a bad signature"},
		{name: "entry count beyond directory", data: countMismatch, message: "artifact archive is not a valid zip"},
		{name: "dotdot", data: unsafe("../../etc/passwd"), message: "artifact archive entry '../../etc/passwd' is refused: it contains a '..' segment"},
		{name: "inner dotdot", data: unsafe("a/../../x"), message: "'a/../../x' is refused"},
		{name: "absolute", data: unsafe("/etc/passwd"), message: "'/etc/passwd' is refused: it is absolute"},
		{name: "backslash", data: unsafe(`..\evil`), message: "is refused: it contains a backslash"},
		{name: "NUL", data: unsafe("a\x00b"), message: `'a\0b' is refused: it contains a NUL byte`},
		{name: "drive letter", data: unsafe("C:/evil"), message: "'C:/evil' is refused: it starts with a drive letter"},
		{name: "quadratic implied directories", data: mustZip(t, zipFile{name: strings.Repeat("a/", 30000) + "f"}),
			message: "too many deeply nested paths"},
		{name: "file and directory", data: mustZip(t, zipFile{name: "a", body: "1"}, zipFile{name: "a/b", body: "2"}),
			message: "artifact archive has both a file and a directory named 'a'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := Build(bytes.NewReader(tt.data), int64(len(tt.data)))
			if ci.KindOf(err) != ci.KindInvalid {
				t.Fatalf("Build = %v, %v; want KindInvalid", x, err)
			}
			if !strings.Contains(ci.MessageOf(err), tt.message) {
				t.Fatalf("message %q does not contain %q", ci.MessageOf(err), tt.message)
			}
		})
	}
}

func TestBuildDuplicateLastWins(t *testing.T) {
	z := mustZip(t, zipFile{name: "a.txt", body: "first"}, zipFile{name: "a.txt", body: "second!"})
	x := mustBuild(t, z)
	if x.Len() != 1 || x.Entries()[0].Size != 7 {
		t.Fatalf("entries %+v; want one a.txt of 7 bytes", x.Entries())
	}
}
