package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	stdflate "compress/flate"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	kpflate "github.com/klauspost/compress/flate"
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

// benchDeflatedZip is 64 MiB (uncompressed) of text-like data in 64
// deflated entries (about 3:1), as a build's outputs.
func benchDeflatedZip(b *testing.B) []byte {
	var files []zipFile
	rng := rand.New(rand.NewPCG(3, 4))
	words := make([]string, 4096)
	for i := range words {
		w := make([]byte, 2+rng.IntN(10))
		for k := range w {
			w[k] = byte('a' + rng.IntN(26))
		}
		words[i] = string(w)
	}
	for i := range 64 {
		var body strings.Builder
		for body.Len() < 1<<20 {
			body.WriteString(words[rng.IntN(len(words))])
			body.WriteByte(" \n"[rng.IntN(2)])
		}
		files = append(files, zipFile{name: fmt.Sprintf("out/part%02d.txt", i), body: body.String(), method: zip.Deflate})
	}
	return mustZip(b, files...)
}

// BenchmarkUpload compares the upload of the same archive without and
// with streamed digests, side by side in one run: the bytes arrive in
// 32 KiB reads (as from a request body) and go to a file with the
// archive's SHA-256, fsync'd (as the fs blob store's Put); "digests" also
// tees them into a Digester and waits for it after the last byte (as
// runnerapi does before indexing). Compare the two with -count:
//
//	go test ./internal/archive -run '^$' -bench 'Upload' -count 6 -benchtime 20x
func BenchmarkUpload(b *testing.B) {
	for _, a := range []struct {
		name string
		zip  func(*testing.B) []byte
	}{{"stored", benchStoredZip}, {"deflated", benchDeflatedZip}} {
		z := a.zip(b)
		dir := b.TempDir()
		for _, digests := range []bool{false, true} {
			name := a.name + "/plain"
			if digests {
				name = a.name + "/digests"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(z)))
				buf := make([]byte, 32<<10)
				cpu0 := cpuTime()
				for b.Loop() {
					f, err := os.CreateTemp(dir, "put-*")
					if err != nil {
						b.Fatal(err)
					}
					h := sha256.New()
					var src io.Reader = onlyReader{bytes.NewReader(z)}
					var d *Digester
					if digests {
						d = Limits{}.NewDigester()
						src = io.TeeReader(src, d)
					}
					if _, err := io.CopyBuffer(io.MultiWriter(f, h), src, buf); err != nil {
						b.Fatal(err)
					}
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
					h.Sum(nil)
					if d != nil {
						g := d.Close()
						if g.Len() != 64 {
							b.Fatalf("%d digests", g.Len())
						}
						g.Close()
					}
					f.Close()
					os.Remove(f.Name())
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process's CPU time per op from now until the
// returned function runs (b.N is final then).
func reportCPU(b *testing.B) func() {
	cpu0 := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

// onlyReader hides a reader's WriterTo (a request body has none).
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// BenchmarkDigestFloor measures what a Digester cannot avoid, per byte of
// the archives of BenchmarkUpload: a SHA-256 pass (and the CRC-32 that
// matches digests to the central directory) over the stored archive's
// data, and inflating the deflated one with the standard library and with
// klauspost/compress (which the Digester uses). MB/s are of the archive.
func BenchmarkDigestFloor(b *testing.B) {
	stored, deflated := benchStoredZip(b), benchDeflatedZip(b)
	b.Run("sha256", func(b *testing.B) {
		b.SetBytes(int64(len(stored)))
		h := sha256.New()
		defer reportCPU(b)()
		for b.Loop() {
			h.Reset()
			h.Write(stored)
			h.Sum(nil)
		}
	})
	b.Run("crc32", func(b *testing.B) {
		b.SetBytes(int64(len(stored)))
		defer reportCPU(b)()
		for b.Loop() {
			crc32.ChecksumIEEE(stored)
		}
	})
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(stored)))
		dst := make([]byte, len(stored))
		defer reportCPU(b)()
		for b.Loop() {
			copy(dst, stored)
		}
	})
	zr, err := zip.NewReader(bytes.NewReader(deflated), int64(len(deflated)))
	if err != nil {
		b.Fatal(err)
	}
	for _, dec := range []struct {
		name string
		new  func(io.Reader) io.ReadCloser
	}{{"inflate-stdlib", stdflate.NewReader}, {"inflate-klauspost", kpflate.NewReader}} {
		b.Run(dec.name, func(b *testing.B) {
			b.SetBytes(int64(len(deflated)))
			defer reportCPU(b)()
			for b.Loop() {
				for _, f := range zr.File {
					raw, err := f.OpenRaw()
					if err != nil {
						b.Fatal(err)
					}
					fr := dec.new(bufio.NewReaderSize(raw, 256<<10))
					if _, err := io.Copy(io.Discard, fr); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
