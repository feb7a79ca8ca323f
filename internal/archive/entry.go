package archive

import (
	"bufio"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"sync"

	"github.com/batonci/baton/internal/ci"
)

// Errors OpenEntry's reader returns when the archive does not match its
// index: the entry is damaged or lies about its size. Both are KindInternal.
var (
	ErrChecksum = errors.New("artifact entry checksum mismatch")
	ErrSize     = errors.New("artifact entry size mismatch")
)

// firstReadMax bounds the first ReadAt of OpenEntry, which fetches the local
// header together with the start of the data: a small entry costs one ranged
// read. Later reads go through a buffer of entryBufferSize.
const (
	firstReadMax    = 64 << 10
	entryBufferSize = 64 << 10
	localSlack      = 512 // room for the local extra field in the first read
)

// OpenEntry streams the uncompressed bytes of entry e (from a Reader of the
// index built for archive). Memory use is constant whatever the entry's size.
// The reader fails with ErrSize if the data inflates past e.Size or ends
// before it, and with ErrChecksum if the CRC-32 differs. A directory, an
// encrypted entry or a compression method other than store and deflate is
// KindInvalid; a local header that does not match is KindInternal.
func OpenEntry(archive io.ReaderAt, e Entry) (io.ReadCloser, error) {
	switch {
	case e.IsDir():
		return nil, ci.Errorf(ci.KindInvalid, "'%s' is a directory", e.Path)
	case e.Flags&flagEncrypted != 0:
		return nil, ci.Errorf(ci.KindInvalid, "file '%s' is encrypted in the artifacts archive; Baton cannot read it", e.Path)
	case e.Method != MethodStore && e.Method != MethodDeflate:
		return nil, ci.Errorf(ci.KindInvalid, "file '%s' uses zip compression method %d; Baton reads only store (0) and deflate (8)", e.Path, e.Method)
	case e.Size < 0 || e.CompressedSize < 0 || e.HeaderOffset < 0:
		return nil, fmt.Errorf("opening '%s': %w: negative size or offset", e.Path, ErrSize)
	}
	want := min(localLen+int64(len(e.Path))+localSlack+e.CompressedSize, firstReadMax)
	if sized, ok := archive.(interface{ Size() int64 }); ok {
		// Not past the end: a read that comes short asks again and gets EOF.
		want = max(min(want, sized.Size()-e.HeaderOffset), localLen)
	}
	var pooled *[]byte
	var first []byte
	if want <= firstPooledSize {
		pooled = firstBuffers.Get().(*[]byte)
		first = (*pooled)[:want]
	} else {
		first = make([]byte, want)
	}
	fail := func(err error) (io.ReadCloser, error) {
		if pooled != nil {
			firstBuffers.Put(pooled)
		}
		return nil, err
	}
	n, err := archive.ReadAt(first, e.HeaderOffset)
	if n < localLen {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fail(fmt.Errorf("reading local header of '%s': %w", e.Path, err))
	}
	first = first[:n]
	dataStart, err := localDataStart(first, e)
	if err != nil {
		return fail(err)
	}
	var data io.Reader
	if int64(len(first)) >= dataStart {
		have := min(int64(len(first))-dataStart, e.CompressedSize)
		data = bytes.NewReader(first[dataStart : dataStart+have])
		if have < e.CompressedSize {
			// Small entries came whole with the header; only larger ones
			// need the buffer (which cost more than the read itself).
			rest := io.NewSectionReader(archive, e.HeaderOffset+dataStart+have, e.CompressedSize-have)
			data = io.MultiReader(data, bufio.NewReaderSize(rest, entryBufferSize))
		}
	} else {
		rest := io.NewSectionReader(archive, e.HeaderOffset+dataStart, e.CompressedSize)
		data = bufio.NewReaderSize(rest, entryBufferSize)
	}
	er := &entryReader{path: e.Path, want: e.Size, crc: crc32.NewIEEE(), wantCRC: e.CRC32, first: pooled}
	if e.Method == MethodDeflate {
		fr := inflaters.Get().(io.ReadCloser)
		if err := fr.(flate.Resetter).Reset(data, nil); err != nil {
			return fail(fmt.Errorf("opening '%s': %w", e.Path, err))
		}
		er.src, er.closer = fr, pooledInflater{fr}
	} else {
		er.src = data
	}
	return er, nil
}

// DataOffset is where the bytes of entry e start in archive, read from its
// local header (whose name and extra field lengths may differ from the
// central directory's). A stored entry's bytes are the file's, so a range
// of it can be read from there without reading what comes before.
func DataOffset(archive io.ReaderAt, e Entry) (int64, error) {
	var h [localLen]byte
	if _, err := archive.ReadAt(h[:], e.HeaderOffset); err != nil {
		return 0, fmt.Errorf("reading local header of '%s': %w", e.Path, err)
	}
	start, err := localDataStart(h[:], e)
	return e.HeaderOffset + start, err
}

// localDataStart is where e's bytes start after the beginning of its local
// header hdr (at least localLen bytes).
func localDataStart(hdr []byte, e Entry) (int64, error) {
	if le.Uint32(hdr) != sigLocal {
		return 0, fmt.Errorf("reading local header of '%s': bad signature at offset %d", e.Path, e.HeaderOffset)
	}
	return localLen + int64(le.Uint16(hdr[26:])) + int64(le.Uint16(hdr[28:])), nil
}

// entryReader counts and checksums what it passes on, and refuses to pass on
// more than the declared size.
type entryReader struct {
	path    string
	src     io.Reader
	closer  io.Closer
	n, want int64
	crc     hash.Hash32
	wantCRC uint32
	err     error
	first   *[]byte // the pooled first read, returned by Close
}

// firstBuffers recycles the first read of small entries (the local header
// with the whole entry), which was most of a one-file read's garbage.
var firstBuffers = sync.Pool{New: func() any { b := make([]byte, firstPooledSize); return &b }}

const firstPooledSize = 16 << 10

func (r *entryReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if remain := r.want - r.n + 1; int64(len(p)) > remain {
		p = p[:remain] // one byte past the declared size is enough to notice
	}
	n, err := r.src.Read(p)
	r.n += int64(n)
	if r.n > r.want {
		n -= int(r.n - r.want)
		r.n = r.want
		r.crc.Write(p[:n])
		r.err = fmt.Errorf("reading '%s': %w: inflates past its declared %d bytes", r.path, ErrSize, r.want)
		return n, r.err
	}
	r.crc.Write(p[:n])
	switch {
	case err == io.EOF && r.n < r.want:
		r.err = fmt.Errorf("reading '%s': %w: ends after %d of %d bytes", r.path, ErrSize, r.n, r.want)
	case err == io.EOF && r.crc.Sum32() != r.wantCRC:
		r.err = fmt.Errorf("reading '%s': %w", r.path, ErrChecksum)
	case errors.Is(err, io.ErrUnexpectedEOF):
		r.err = fmt.Errorf("reading '%s': %w: compressed data is truncated", r.path, ErrSize)
	case err != nil && err != io.EOF:
		r.err = fmt.Errorf("reading '%s': %w", r.path, err)
	default:
		r.err = err
	}
	return n, r.err
}

func (r *entryReader) Close() error {
	c, first := r.closer, r.first
	r.closer, r.src, r.first = nil, nil, nil
	if r.err == nil {
		r.err = errClosed
	}
	var err error
	if c != nil {
		err = c.Close() // the inflater lets go of the first read here
	}
	if first != nil {
		firstBuffers.Put(first)
	}
	return err
}

var errClosed = errors.New("read of a closed artifact entry")

// inflaters recycles decompressors: a new one costs about 40 KiB, which was
// the largest allocation of a one-file read.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(emptyReader) }}

// emptyReader is what a pooled inflater points at, so it keeps no entry's
// buffer alive; it is never read.
var emptyReader = bytes.NewReader(nil)

type pooledInflater struct{ fr io.ReadCloser }

func (p pooledInflater) Close() error {
	err := p.fr.Close()
	if rerr := p.fr.(flate.Resetter).Reset(emptyReader, nil); rerr == nil {
		inflaters.Put(p.fr)
	}
	return err
}
