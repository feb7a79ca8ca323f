package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
)

// entrySize is the size of every file of the one-file-read archives.
const entrySize = 4 << 10

// largeEntries is how many entries the large archive is split into.
const largeEntries = 64

// zipFile is an archive built for the benchmark.
type zipFile struct {
	Path    string
	Size    int64
	Entries int
	Names   []string // entry names (only for the one-file-read archives)
}

// writeLargeZip writes a valid zip of about size bytes: 64 stored entries of
// incompressible random data, so neither side can win by compressing.
func writeLargeZip(path string, size int64) (*zipFile, error) {
	return writeShardsZip(path, size, []int{0})
}

// writeShardsZip writes, for each shard k, 64 stored entries of random data
// (seeded by k) named shardK/blob/partNN.bin, about size bytes per shard;
// shard 0 is named blob/partNN.bin. The archive of shards {1,2,3} holds
// exactly the entries of the three archives of {1}, {2} and {3}.
func writeShardsZip(path string, size int64, shards []int) (*zipFile, error) {
	per := size / largeEntries
	buf := make([]byte, 1<<20)
	err := writeZip(path, func(zw *zip.Writer) error {
		for _, k := range shards {
			src := rand.NewChaCha8([32]byte{1, byte(k)})
			prefix := ""
			if k != 0 {
				prefix = fmt.Sprintf("shard%d/", k)
			}
			for i := range largeEntries {
				w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("%sblob/part%02d.bin", prefix, i), Method: zip.Store})
				if err != nil {
					return err
				}
				for left := per; left > 0; {
					n := min(left, int64(len(buf)))
					_, _ = src.Read(buf[:n])
					if _, err := w.Write(buf[:n]); err != nil {
						return err
					}
					left -= n
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return statZip(path, largeEntries*len(shards), nil)
}

// writeEntriesZip writes n stored entries of entrySize bytes each, spread
// over directories of at most 1000 files. Entry i's content is entryContent(i).
func writeEntriesZip(path string, n int) (*zipFile, error) {
	names := make([]string, n)
	err := writeZip(path, func(zw *zip.Writer) error {
		for i := range n {
			names[i] = entryName(i)
			w, err := zw.CreateHeader(&zip.FileHeader{Name: names[i], Method: zip.Store})
			if err != nil {
				return err
			}
			if _, err := w.Write(entryContent(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return statZip(path, n, names)
}

func entryName(i int) string {
	return fmt.Sprintf("public/d%03d/file%06d.bin", i/1000, i)
}

// entryContent is entry i's bytes: random, different for every entry, so a
// response can be checked against what was written.
func entryContent(i int) []byte {
	seed := [32]byte{2}
	seed[1], seed[2], seed[3], seed[4] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
	b := make([]byte, entrySize)
	_, _ = rand.NewChaCha8(seed).Read(b)
	return b
}

func writeZip(path string, fill func(*zip.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	zw := zip.NewWriter(bw)
	if err := fill(zw); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finishing %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("closing %s: %w", path, err)
	}
	return nil
}

func statZip(path string, entries int, names []string) (*zipFile, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("checking %s: %w", path, err)
	}
	return &zipFile{Path: path, Size: st.Size(), Entries: entries, Names: names}, nil
}

// sameBytes reports whether got is entry i's content.
func sameBytes(got []byte, i int) bool { return bytes.Equal(got, entryContent(i)) }
