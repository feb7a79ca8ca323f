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

	// List calls fn with every complete object whose key starts with
	// prefix, in no particular order, and stops at fn's first error, which
	// it returns. Uploads not yet complete are not listed.
	List(ctx context.Context, prefix string, fn func(Entry) error) error
	// Uploads calls fn with every upload that has not completed: one under
	// way, or one a crashed process left behind (a temporary file, an S3
	// multipart upload). A Put that returned has none left.
	Uploads(ctx context.Context, fn func(Upload) error) error
	// AbortUpload discards an unfinished upload and its bytes. An upload
	// already gone is not an error. Aborting one still under way makes its
	// Put fail.
	AbortUpload(ctx context.Context, u Upload) error
}

// Entry is a listed object.
type Entry struct {
	Key  string
	Size int64
	// ModTime is when the object was stored. On S3 a multipart upload's
	// object carries the time the upload began, not when it completed.
	ModTime time.Time
}

// Upload is an upload that has not completed.
type Upload struct {
	Key     string    // the key being written; "" where the store does not know it (fs)
	ID      string    // the store's name for the upload
	Started time.Time // when the upload began (fs: when it last wrote)
}
