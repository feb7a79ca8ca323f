package archive

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/ci"
)

func readEntry(t *testing.T, r *Reader, z []byte, path string) (string, error) {
	t.Helper()
	e, err := r.Lookup(path)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", path, err)
	}
	rc, err := OpenEntry(bytes.NewReader(z), e)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	return string(b), err
}

func TestOpenEntry(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 20_000) // larger than the first read
	r, z := mustReader(t,
		zipFile{name: "stored.txt", body: "hello", method: zip.Store},
		zipFile{name: "deflated.txt", body: big, method: zip.Deflate},
		zipFile{name: "big-stored.bin", body: big, method: zip.Store},
		zipFile{name: "empty.txt", method: zip.Deflate},
		zipFile{name: "été/日本.txt", body: "unicode", method: zip.Deflate},
	)
	tests := []struct{ path, want string }{
		{"stored.txt", "hello"},
		{"deflated.txt", big},
		{"big-stored.bin", big},
		{"empty.txt", ""},
		{"été/日本.txt", "unicode"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := readEntry(t, r, z, tt.path)
			if err != nil || got != tt.want {
				t.Fatalf("read %d bytes, %v; want %d bytes", len(got), err, len(tt.want))
			}
		})
	}
}

func TestOpenEntrySmallIsOneRead(t *testing.T) {
	r, z := mustReader(t, zipFile{name: "a", body: strings.Repeat("a", 4096), method: zip.Deflate},
		zipFile{name: "b", body: "bbb"})
	e, _ := r.Lookup("a")
	src := &countingReaderAt{r: bytes.NewReader(z)}
	rc, err := OpenEntry(src, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	if src.calls != 1 {
		t.Fatalf("%d ReadAt calls, want 1", src.calls)
	}
}

// rawZip writes one entry with CreateRaw, so headers can lie about the data.
func rawZip(t *testing.T, h *zip.FileHeader, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(h)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	zw.Close()
	return buf.Bytes()
}

func deflate(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(b)
	fw.Close()
	return buf.Bytes()
}

func TestOpenEntryDamaged(t *testing.T) {
	body := []byte(strings.Repeat("payload ", 1000))
	packed := deflate(t, body)
	crc := crc32.ChecksumIEEE(body)
	tests := []struct {
		name   string
		header zip.FileHeader
		data   []byte
		want   error
	}{
		{name: "crc mismatch", data: packed, want: ErrChecksum,
			header: zip.FileHeader{Method: zip.Deflate, CRC32: crc ^ 1, UncompressedSize64: uint64(len(body))}},
		{name: "inflates past declared size", data: packed, want: ErrSize,
			header: zip.FileHeader{Method: zip.Deflate, CRC32: crc, UncompressedSize64: 100}},
		{name: "shorter than declared size", data: packed, want: ErrSize,
			header: zip.FileHeader{Method: zip.Deflate, CRC32: crc, UncompressedSize64: uint64(len(body)) + 1}},
		{name: "stored crc mismatch", data: body, want: ErrChecksum,
			header: zip.FileHeader{Method: zip.Store, CRC32: crc + 1, UncompressedSize64: uint64(len(body))}},
		{name: "stored size mismatch", data: body, want: ErrSize,
			header: zip.FileHeader{Method: zip.Store, CRC32: crc, UncompressedSize64: uint64(len(body)) - 1}},
		{name: "truncated deflate stream", data: packed[:len(packed)/2], want: ErrSize,
			header: zip.FileHeader{Method: zip.Deflate, CRC32: crc, UncompressedSize64: uint64(len(body))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.header
			h.Name = "f"
			h.CompressedSize64 = uint64(len(tt.data))
			z := rawZip(t, &h, tt.data)
			r, _ := mustPersist(t, mustBuild(t, z))
			_, err := readEntry(t, r, z, "f")
			if !errors.Is(err, tt.want) {
				t.Fatalf("read error %v; want %v", err, tt.want)
			}
		})
	}
}

func TestOpenEntryRefuses(t *testing.T) {
	tests := []struct {
		name  string
		entry Entry
		kind  ci.Kind
	}{
		{name: "directory", entry: Entry{Path: "d/"}, kind: ci.KindInvalid},
		{name: "bzip2", entry: Entry{Path: "f", Method: 12}, kind: ci.KindInvalid},
		{name: "encrypted", entry: Entry{Path: "f", Method: MethodDeflate, Flags: 1}, kind: ci.KindInvalid},
		{name: "bad local header", entry: Entry{Path: "f", HeaderOffset: 5, Size: 1, CompressedSize: 1}, kind: ci.KindInternal},
	}
	z := mustZip(t, zipFile{name: "f", body: "x"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OpenEntry(bytes.NewReader(z), tt.entry)
			if ci.KindOf(err) != tt.kind {
				t.Fatalf("OpenEntry = %v; want %s", err, tt.kind)
			}
		})
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestOpenEntryZipBomb streams a 1 GiB entry (256 MiB under -race) that compresses about 1000:1
// and checks that the heap does not grow with it.
func TestOpenEntryZipBomb(t *testing.T) {
	const size = bombSize
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestSpeed)
	})
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "bomb", Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(w, zeros{}, size); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	z := buf.Bytes()
	if len(z) > size/100 {
		t.Fatalf("bomb compressed to %d bytes; test expects a high ratio", len(z))
	}
	r, _ := mustPersist(t, mustBuild(t, z))
	e, err := r.Lookup("bomb")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, err := OpenEntry(bytes.NewReader(z), e)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if err != nil || n != size {
		t.Fatalf("copied %d, %v; want %d", n, err, size)
	}
	runtime.ReadMemStats(&after)
	rc.Close()
	// TotalAlloc counts every allocation made while streaming, freed or not.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("streaming %d bytes allocated %d bytes; want constant memory (< 4 MiB)", size, alloc)
	}
}

// TestOpenEntryRecyclesInflaters: decompressors go back to a pool on Close
// and come out reset; readers in parallel, some closed half-way, each get
// exactly their own entry's bytes, and a closed reader reads no more.
func TestOpenEntryRecyclesInflaters(t *testing.T) {
	var files []zipFile
	want := map[string]string{}
	for i := range 8 {
		name := fmt.Sprintf("f%d.txt", i)
		body := strings.Repeat(fmt.Sprintf("entry %d;", i), 3000+i*500)
		files = append(files, zipFile{name: name, body: body, method: zip.Deflate})
		want[name] = body
	}
	r, z := mustReader(t, files...)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				name := fmt.Sprintf("f%d.txt", (g+i)%8)
				e, err := r.Lookup(name)
				if err != nil {
					errs <- err
					return
				}
				rc, err := OpenEntry(bytes.NewReader(z), e)
				if err != nil {
					errs <- err
					return
				}
				if i%3 == 0 { // abandoned half-way: its inflater still goes back clean
					_, _ = io.CopyN(io.Discard, rc, 100)
					rc.Close()
					if _, err := rc.Read(make([]byte, 1)); err == nil {
						errs <- fmt.Errorf("%s: a closed entry reader still reads", name)
					}
					continue
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || string(b) != want[name] {
					errs <- fmt.Errorf("%s: %d bytes, %v; want its %d bytes", name, len(b), err, len(want[name]))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// sizedReaderAt is a countingReaderAt that knows its size, as a stored
// object does, and records reads that reach past its end (an *os.File's
// ReadAt asks again for the rest and gets only EOF).
type sizedReaderAt struct {
	countingReaderAt
	pastEnd int
}

func (s *sizedReaderAt) Size() int64 { return s.r.Size() }

func (s *sizedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > s.r.Size() {
		s.pastEnd++
	}
	return s.countingReaderAt.ReadAt(p, off)
}

// TestOpenEntryReadsNotPastTheEnd: the first read of the archive's last
// entry asks for no byte past the archive's end when the archive knows its
// size, and it is still the only read.
func TestOpenEntryReadsNotPastTheEnd(t *testing.T) {
	r, z := mustReader(t, zipFile{name: "a", body: strings.Repeat("a", 4096), method: zip.Deflate},
		zipFile{name: "last", body: "the end", method: zip.Store})
	e, _ := r.Lookup("last")
	src := &sizedReaderAt{countingReaderAt: countingReaderAt{r: bytes.NewReader(z)}}
	rc, err := OpenEntry(src, e)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(b) != "the end" {
		t.Fatalf("read %q, %v", b, err)
	}
	if src.pastEnd != 0 || src.calls != 1 {
		t.Fatalf("%d reads, %d of them past the archive's end; want 1 and 0", src.calls, src.pastEnd)
	}
}
