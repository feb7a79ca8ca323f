package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/minio/minio-go/v7"

	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
)

// Reads of at most smallRead bytes through ReadAt are served from blocks of
// blockSize bytes, of which an Object keeps the cacheBlocks most recent: a
// zip reader's 4 KiB reads then cost one request per block, not one each.
const (
	blockSize   = 256 << 10
	smallRead   = 64 << 10
	cacheBlocks = 4
)

// Object is an open S3 object. ReadAt issues ranged GETs of just the bytes
// asked for (small reads go through a small block cache) and is safe for
// concurrent use. Read streams a single GET from the current offset, which
// Seek moves; a Read after a Seek starts a new GET. All requests carry the
// ETag seen by Open, so an object replaced meanwhile fails to read
// (KindConflict) instead of mixing two versions, and they run under the
// context given to Open.
type Object struct {
	s    *Store
	ctx  context.Context
	name string
	key  string
	size int64
	etag string

	mu      sync.Mutex // guards the sequential reader
	pos     int64
	body    io.ReadCloser // GET from bodyPos to the end, or nil
	bodyPos int64
	closed  bool

	cacheMu sync.Mutex
	cache   []block // most recently used last
}

type block struct {
	index int64
	data  []byte
}

var _ blob.Object = (*Object)(nil)

// Open stats key and returns an Object for reading it; no data is fetched
// until the first read. A missing key is KindNotFound, an invalid one
// KindInvalid.
func (s *Store) Open(ctx context.Context, key string) (blob.Object, error) {
	name, err := s.name(key)
	if err != nil {
		return nil, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return nil, classify(err, "opening %q", key)
	}
	return &Object{s: s, ctx: ctx, name: name, key: key, size: oi.Size, etag: oi.ETag}, nil
}

// Size returns the object's size in bytes.
func (o *Object) Size() int64 { return o.size }

// get starts a GET of bytes [start, end] (inclusive).
func (o *Object) get(start, end int64) (io.ReadCloser, error) {
	var opts minio.GetObjectOptions
	if err := opts.SetRange(start, end); err != nil {
		return nil, fmt.Errorf("reading %q: %w", o.key, err)
	}
	if o.etag != "" {
		if err := opts.SetMatchETag(o.etag); err != nil {
			return nil, fmt.Errorf("reading %q: %w", o.key, err)
		}
	}
	body, _, _, err := o.s.core.GetObject(o.ctx, o.s.bucket, o.name, opts)
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "PreconditionFailed" || resp.StatusCode == 412) {
			return nil, ci.Wrap(ci.KindConflict, err, "blob %q changed while being read", o.key)
		}
		return nil, classify(err, "reading %q", o.key)
	}
	return body, nil
}

// fetch reads bytes [off, off+len(p)) into p with one ranged GET.
func (o *Object) fetch(p []byte, off int64) error {
	body, err := o.get(off, off+int64(len(p))-1)
	if err != nil {
		return err
	}
	defer body.Close()
	if _, err := io.ReadFull(body, p); err != nil {
		return fmt.Errorf("reading %q at %d: %w", o.key, off, err)
	}
	return nil
}

// ReadAt reads len(p) bytes at off; it returns io.EOF when fewer remain.
func (o *Object) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("reading %q: negative offset %d", o.key, off)
	}
	if off >= o.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), o.size-off)
	var err error
	if want <= smallRead {
		err = o.readBlocks(p[:want], off)
	} else {
		err = o.fetch(p[:want], off)
	}
	if err != nil {
		return 0, err
	}
	if want < int64(len(p)) {
		return int(want), io.EOF
	}
	return int(want), nil
}

// readBlocks fills p, which lies within the object, from cached blocks.
func (o *Object) readBlocks(p []byte, off int64) error {
	for n := 0; n < len(p); {
		pos := off + int64(n)
		b, err := o.block(pos / blockSize)
		if err != nil {
			return err
		}
		n += copy(p[n:], b[pos%blockSize:])
	}
	return nil
}

// block returns block i, from the cache or fetched. Two goroutines missing
// the same block both fetch it; that is rarer and cheaper than making one
// wait for the other.
func (o *Object) block(i int64) ([]byte, error) {
	o.cacheMu.Lock()
	for j, b := range o.cache {
		if b.index == i {
			o.cache = append(append(o.cache[:j:j], o.cache[j+1:]...), b)
			o.cacheMu.Unlock()
			return b.data, nil
		}
	}
	o.cacheMu.Unlock()

	start := i * blockSize
	data := make([]byte, min(blockSize, o.size-start))
	if err := o.fetch(data, start); err != nil {
		return nil, err
	}

	o.cacheMu.Lock()
	defer o.cacheMu.Unlock()
	if len(o.cache) >= cacheBlocks {
		o.cache = append(o.cache[:0:0], o.cache[1:]...)
	}
	o.cache = append(o.cache, block{index: i, data: data})
	return data, nil
}

// Read reads from the current offset, continuing the current GET when the
// offset has not moved since the last Read.
func (o *Object) Read(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, fmt.Errorf("reading %q: object closed", o.key)
	}
	if o.pos >= o.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if o.body != nil && o.bodyPos != o.pos {
		o.body.Close()
		o.body = nil
	}
	if o.body == nil {
		body, err := o.get(o.pos, o.size-1)
		if err != nil {
			return 0, err
		}
		o.body, o.bodyPos = body, o.pos
	}
	n, err := o.body.Read(p)
	o.pos += int64(n)
	o.bodyPos += int64(n)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, io.EOF) && o.pos >= o.size:
		o.body.Close()
		o.body = nil
		return n, nil // the next Read returns io.EOF
	default:
		o.body.Close()
		o.body = nil
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return n, fmt.Errorf("reading %q at %d: %w", o.key, o.pos, err)
	}
}

// Seek sets the offset of the next Read. Seeking past the end is allowed
// (Read then returns io.EOF); seeking before the start is an error.
func (o *Object) Seek(offset int64, whence int) (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = o.pos + offset
	case io.SeekEnd:
		pos = o.size + offset
	default:
		return o.pos, fmt.Errorf("seeking %q: invalid whence %d", o.key, whence)
	}
	if pos < 0 {
		return o.pos, fmt.Errorf("seeking %q: negative position %d", o.key, pos)
	}
	o.pos = pos
	return pos, nil
}

// Close ends the current GET, if any; Read fails afterwards. ReadAt holds no
// connection between calls and keeps working. Close is idempotent.
func (o *Object) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	if o.body != nil {
		o.body.Close()
		o.body = nil
	}
	return nil
}
