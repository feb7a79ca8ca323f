// Package blob defines where artifact and log bytes live: a key-value store of
// immutable objects, implemented on local disk (blob/fs) and on any
// S3-compatible object store (blob/s3).
package blob

import (
	"context"
	"io"
	"time"
)

// Info describes a stored object.
type Info struct {
	Key    string
	Size   int64
	SHA256 string // hex; empty when the backend does not know it (Stat on S3)
}

// Object is an open stored object. It supports random access (zip entries are
// read by offset) and sequential reads with seeking (http.ServeContent).
type Object interface {
	io.ReaderAt
	io.ReadSeeker
	io.Closer
	Size() int64
}

// Store keeps immutable objects by key. Keys are slash-separated relative
// paths; a key with "..", a leading "/", a backslash or a NUL is KindInvalid.
type Store interface {
	// Put streams r into key, computing its SHA-256 on the way. The object
	// becomes visible under key only once completely and durably written; a
	// failed Put leaves nothing under key. Memory use does not grow with the size.
	Put(ctx context.Context, key string, r io.Reader) (Info, error)
	// Open opens key for reading. A missing key is KindNotFound.
	Open(ctx context.Context, key string) (Object, error)
	// Stat describes key. A missing key is KindNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// SignedURL returns a URL that serves key without credentials for ttl, with
	// the given download filename and content type. Stores that cannot sign
	// (local disk) return "" and a nil error.
	SignedURL(ctx context.Context, key string, ttl time.Duration, filename, contentType string) (string, error)
}
