package archive

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// benchIndex persists the index of a zip with n files spread over
// directories and returns it with the files' paths.
func benchIndex(b *testing.B, n int) ([]byte, []string) {
	b.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("build/out%d/pkg%d/file-%07d.txt", i%10, i%97, i)
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: names[i], Method: zip.Store}); err != nil {
			b.Fatal(err)
		}
	}
	zw.Close()
	_, raw := mustPersist(b, mustBuild(b, buf.Bytes()))
	return raw, names
}

// BenchmarkLookup compares one lookup in an index of 10 and of 100,000
// entries. "cached" is the steady state behind a Cache (index in memory);
// "stored" opens the index from its blob for every lookup, as without a
// cache, and reports the ReadAt calls (ranged requests on S3) per lookup.
// Neither grows with the number of entries beyond CPU cache effects.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 100_000} {
		raw, names := benchIndex(b, n)
		b.Run(fmt.Sprintf("cached/entries=%d", n), func(b *testing.B) {
			c := NewCache(int64(len(raw)) * 8)
			r, err := c.Open("k", bytes.NewReader(raw), int64(len(raw)))
			if err != nil {
				b.Fatal(err)
			}
			i := 0
			for b.Loop() {
				if _, err := r.Lookup(names[i%n]); err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
		b.Run(fmt.Sprintf("stored/entries=%d", n), func(b *testing.B) {
			src := &countingReaderAt{r: bytes.NewReader(raw)}
			i := 0
			for b.Loop() {
				r, err := Open(src, int64(len(raw)))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Lookup(names[i%n]); err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
			b.ReportMetric(float64(src.calls)/float64(b.N), "readats/op")
		})
	}
}

// BenchmarkReadEntry4KiB reads one 4 KiB deflated entry from an archive of
// many, index lookup included.
func BenchmarkReadEntry4KiB(b *testing.B) {
	var files []zipFile
	for i := range 1000 {
		files = append(files, zipFile{name: fmt.Sprintf("d/f%d.txt", i), method: zip.Deflate,
			body: strings.Repeat(fmt.Sprintf("line %d of a 4 KiB file\n", i), 4096/20)[:4096]})
	}
	z := mustZip(b, files...)
	r, _ := mustPersist(b, mustBuild(b, z))
	src := &countingReaderAt{r: bytes.NewReader(z)}
	b.SetBytes(4096)
	for b.Loop() {
		e, err := r.Lookup("d/f500.txt")
		if err != nil {
			b.Fatal(err)
		}
		rc, err := OpenEntry(src, e)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
	b.ReportMetric(float64(src.calls)/float64(b.N), "readats/op")
}

// benchStoredZip is 64 MiB of random data in 64 stored entries written by
// archive/zip (data descriptors), like the artifact benchmark's archive.
func benchStoredZip(b *testing.B) []byte {
	var files []zipFile
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 64 {
		body := make([]byte, 1<<20)
		for k := range body {
			body[k] = byte(rng.Uint32())
		}
		files = append(files, zipFile{name: fmt.Sprintf("blob/part%02d.bin", i), body: string(body)})
	}
	return mustZip(b, files...)
}

// BenchmarkDigester: the streamed digests of an upload (the Digester's
// goroutine hashing while the bytes are written), then the index build
// using them.
func BenchmarkDigester(b *testing.B) {
	z := benchStoredZip(b)
	b.SetBytes(int64(len(z)))
	for b.Loop() {
		d := Limits{}.NewDigester()
		for rest := z; len(rest) > 0; {
			n := min(len(rest), 32<<10)
			d.Write(rest[:n])
			rest = rest[n:]
		}
		g := d.Close()
		x, err := BuildStreamed(bytes.NewReader(z), int64(len(z)), Limits{}, g)
		if err != nil || x.readDigests != 0 {
			b.Fatalf("%v, %d read", err, x.readDigests)
		}
		x.Close()
		g.Close()
	}
}

// BenchmarkDigestsByReading: the index build reading every entry back to
// hash it (no streamed digests).
func BenchmarkDigestsByReading(b *testing.B) {
	z := benchStoredZip(b)
	b.SetBytes(int64(len(z)))
	for b.Loop() {
		x, err := BuildLimited(bytes.NewReader(z), int64(len(z)), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		x.Close()
	}
}
