package artifacts

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// SignedURLTTL is how long a redirect to a signed download URL is valid.
const SignedURLTTL = 5 * time.Minute

// ContentType is the Content-Type of an archive as a whole, by its format.
func ContentType(a *ci.Artifact) string {
	switch a.FileFormat {
	case ci.FormatGzip:
		return "application/gzip"
	case ci.FormatRaw:
		return "application/octet-stream"
	}
	return "application/zip"
}

// ServeArchive answers with a whole archive: ETag (its sha256), Range,
// If-None-Match and HEAD through http.ServeContent, sendfile for local
// files, or a 302 to a signed URL when RedirectDownloads is set and the
// blob store can sign one. Bytes gone from the blob store are KindNotFound.
func (s *Service) ServeArchive(w http.ResponseWriter, r *http.Request, a *ci.Artifact) error {
	ct := ContentType(a)
	h := w.Header()
	if a.SHA256 != "" {
		h.Set("ETag", `"`+a.SHA256+`"`)
	}
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-transform")
	if s.RedirectDownloads && r.Method != http.MethodHead { // a signed GET URL cannot answer HEAD
		u, err := s.Blobs.SignedURL(r.Context(), a.BlobKey, SignedURLTTL, a.Filename, ct)
		if err != nil {
			return fmt.Errorf("signing artifact URL: %w", err)
		}
		if u != "" {
			http.Redirect(w, r, u, http.StatusFound)
			return nil
		}
	}
	obj, err := s.Blobs.Open(r.Context(), a.BlobKey)
	if ci.IsNotFound(err) {
		return ci.Errorf(ci.KindNotFound, "404 Artifacts file Not Found (its bytes are gone)")
	}
	if err != nil {
		return fmt.Errorf("opening artifact %d: %w", a.ID, err)
	}
	defer obj.Close()
	var content io.ReadSeeker = obj
	if f, ok := obj.(interface{ File() (*os.File, error) }); ok {
		file, err := f.File() // lets net/http use sendfile
		if err != nil {
			return fmt.Errorf("opening artifact %d: %w", a.ID, err)
		}
		content = file
	}
	httpx.ExtendWrite(w, obj.Size())
	http.ServeContent(w, r, "", a.CreatedAt, content)
	return nil
}

// activeTypes are content types a browser would run as script on Baton's
// origin; artifacts of these types are served as plain text.
var activeTypes = map[string]bool{
	"text/html": true, "application/xhtml+xml": true, "image/svg+xml": true, "text/javascript": true,
	"application/javascript": true, "application/x-javascript": true, "text/xml": true, "application/xml": true,
	"text/xsl": true, "application/ecmascript": true, "text/ecmascript": true, "application/wasm": true,
}

// SafeContentType is the Content-Type Baton serves an artifact file with:
// its extension's type, except that anything a browser could execute (HTML,
// JavaScript, SVG, XML) becomes text/plain.
func SafeContentType(name string) string {
	ext := path.Ext(name)
	if ct, ok := safeTypes.Load(ext); ok {
		return ct.(string)
	}
	ct := safeContentType(ext)
	if safeTypesCount.Add(1) <= maxSafeTypes {
		safeTypes.Store(ext, ct)
	}
	return ct
}

// safeTypes remembers SafeContentType by extension, for up to
// maxSafeTypes extensions (names are the uploader's).
var (
	safeTypes      sync.Map
	safeTypesCount atomic.Int64
)

const maxSafeTypes = 1024

func safeContentType(ext string) string {
	ct := mime.TypeByExtension(ext)
	if ct == "" {
		return "application/octet-stream"
	}
	base, _, _ := mime.ParseMediaType(ct)
	if activeTypes[base] || strings.HasSuffix(base, "+xml") || strings.HasPrefix(base, "multipart/") {
		return "text/plain; charset=utf-8"
	}
	if strings.HasPrefix(base, "text/") && !strings.Contains(ct, "charset") {
		return base + "; charset=utf-8"
	}
	return ct
}

// smallEntry is the largest body ServeEntry reads whole before writing it.
const smallEntry = 16 << 10

var smallBuffers = sync.Pool{New: func() any { b := make([]byte, smallEntry); return &b }}

// entryHeaders are the fixed headers of every file ServeEntry serves, in
// canonical form; the value slices are shared, never appended to. A file
// opened from a signed link must not hand the link (its sig=) to whatever
// it links to, on every surface: hence Referrer-Policy.
var entryHeaders = map[string][]string{
	"X-Content-Type-Options":  {"nosniff"},
	"Content-Security-Policy": {"default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox"},
	"Referrer-Policy":         {"no-referrer"},
	"Cache-Control":           {"private, no-transform"},
	"Accept-Ranges":           {"bytes"},
}

// ServeEntry streams one file of an archive, reading only that entry:
// active content types as text/plain, a sandboxing CSP, nosniff. inline
// serves it for display (the UI's preview); otherwise as an attachment. An
// unsafe path is KindInvalid, a missing one KindNotFound.
func (s *Service) ServeEntry(w http.ResponseWriter, r *http.Request, a *ci.Artifact, rawPath string, inline bool) error {
	p, err := archive.CleanPath(rawPath)
	if err != nil {
		return err
	}
	if p == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - artifact path is missing")
	}
	x, done, err := s.OpenIndex(r.Context(), a)
	if err != nil {
		return err
	}
	defer done()
	e, err := x.Lookup(p)
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(a.SHA256 + "\x00" + p))
	etag := `"` + hex.EncodeToString(sum[:]) + `"`
	// Headers are set only once the answer is sure: an error on the way
	// (bytes gone, a damaged entry) must not leave this file's
	// Content-Length on the error's answer.
	h := w.Header()
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*" || strings.Contains(match, etag)) {
		setEntryHeaders(h, etag, p, inline)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	start, end, status := entryRange(r, etag, e.Size)
	if status == http.StatusRequestedRangeNotSatisfiable {
		setEntryHeaders(h, etag, p, inline)
		setDigest(h, e)
		h.Set("Content-Range", "bytes */"+strconv.FormatInt(e.Size, 10))
		w.WriteHeader(status)
		return nil
	}
	sized := func() {
		setEntryHeaders(h, etag, p, inline)
		setDigest(h, e) // of the whole file, also on a 206 (RFC 9530's Repr-Digest)
		if status == http.StatusPartialContent {
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, e.Size))
		}
		h.Set("Content-Length", strconv.FormatInt(end-start, 10))
	}
	if r.Method == http.MethodHead {
		sized()
		w.WriteHeader(status)
		return nil
	}
	obj, err := s.Blobs.Open(r.Context(), a.BlobKey)
	if err != nil {
		return err
	}
	defer obj.Close()
	var rc io.ReadCloser
	sectioned := start > 0 && e.Method == archive.MethodStore && e.Size == e.CompressedSize
	if sectioned {
		// A stored entry's range is read where it lies (a resumed download
		// of a large file does not read what it already has); its CRC-32,
		// of the whole file, cannot be checked on a part.
		off, err := archive.DataOffset(obj, e)
		if err != nil {
			return err
		}
		rc = io.NopCloser(io.NewSectionReader(obj, off+start, end-start))
	} else {
		if rc, err = archive.OpenEntry(obj, e); err != nil {
			return err
		}
		defer rc.Close()
		if start > 0 {
			// A deflated entry is a stream: skip to the range by reading.
			if _, err := io.CopyN(io.Discard, rc, start); err != nil {
				return fmt.Errorf("skipping to byte %d of %s: %w", start, p, err)
			}
		}
	}
	httpx.ExtendWrite(w, e.Size)
	if n := end - start; n <= smallEntry {
		// One Write: headers and a small body leave in one packet, where
		// io.Copy's ReadFrom would send the headers with the first 512
		// bytes and the rest on its own.
		buf := smallBuffers.Get().(*[]byte)
		defer smallBuffers.Put(buf)
		b := (*buf)[:n]
		if _, err := io.ReadFull(rc, b); err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		if end == e.Size && !sectioned {
			// To the file's end: one more read reaches it, where the
			// entry's size and CRC-32 are checked before anything is sent.
			var one [1]byte
			for range 8 {
				_, err := rc.Read(one[:])
				if err == io.EOF {
					break
				}
				if err != nil {
					return fmt.Errorf("reading %s: %w", p, err)
				}
			}
		}
		sized()
		w.WriteHeader(status)
		_, _ = w.Write(b)
		return nil
	}
	sized()
	w.WriteHeader(status)
	if n, err := io.Copy(w, io.LimitReader(rc, end-start)); err != nil || n < end-start {
		if err == nil {
			err = fmt.Errorf("%w: the archive ends %d bytes early", archive.ErrSize, end-start-n)
		}
		// Headers are gone; abort the response so the client sees a broken transfer.
		s.logger().Warn("streaming artifact entry", "artifact_id", a.ID, "path", p, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// setEntryHeaders sets the headers every answer about one file carries.
func setEntryHeaders(h http.Header, etag, p string, inline bool) {
	h["Etag"] = []string{etag}
	for k, v := range entryHeaders {
		h[k] = v
	}
	h["Content-Type"] = []string{SafeContentType(p)}
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": path.Base(p)}))
}

// entryRange is the part of a one-file read of size bytes a request asks
// for: [start, end) and 206 for one satisfiable "bytes=A-B", "bytes=A-"
// or "bytes=-N" whose If-Range (if any) is the file's ETag; 416 for one
// that starts past the end; else the whole file and 200 (several ranges
// or a syntax error are ignored, as RFC 9110 allows).
func entryRange(r *http.Request, etag string, size int64) (start, end int64, status int) {
	whole := func() (int64, int64, int) { return 0, size, http.StatusOK }
	spec, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return whole()
	}
	if ir := r.Header.Get("If-Range"); ir != "" && ir != etag {
		return whole()
	}
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return whole()
	}
	if a == "" { // the last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return whole() // an empty file has no byte to name in Content-Range
		}
		return max(size-n, 0), size, http.StatusPartialContent
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 {
		return whole()
	}
	last := size - 1
	if b != "" {
		if last, err = strconv.ParseInt(b, 10, 64); err != nil || last < first {
			return whole()
		}
		last = min(last, size-1)
	}
	if first >= size {
		return 0, 0, http.StatusRequestedRangeNotSatisfiable
	}
	return first, last + 1, http.StatusPartialContent
}

// setDigest announces the SHA-256 of a file's bytes, when the index knows
// it, as RFC 3230's Digest and RFC 9530's Repr-Digest: both describe the
// whole unencoded file, also when a 206 sends part of it.
func setDigest(h http.Header, e archive.Entry) {
	if !e.HasSHA256() {
		return
	}
	b64 := base64.StdEncoding.EncodeToString(e.SHA256[:])
	h.Set("Digest", "sha-256="+b64)
	h.Set("Repr-Digest", "sha-256=:"+b64+":")
}

// ManifestEntry is one file of GET .../artifacts/manifest.
type ManifestEntry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Mode   string `json:"mode"`             // permission bits in octal, as in the tree
	SHA256 string `json:"sha256,omitempty"` // absent when unknown (an archive indexed before digests)
}

// ServeManifest answers with every file of c's archive (of the union of
// its shards when merging) as a JSON array of ManifestEntry, in path order,
// streamed: its size grows with the archive, bounded by the entry limit.
func (s *Service) ServeManifest(w http.ResponseWriter, r *http.Request, c *Choice) error {
	var walk func(fn func(archive.Entry) error) error
	if len(c.Shards) > 0 {
		m, done, err := s.openMerged(r.Context(), c)
		if err != nil {
			return err
		}
		defer done()
		walk = func(fn func(archive.Entry) error) error {
			return m.Walk(func(_ int, e archive.Entry) error { return fn(e) })
		}
	} else {
		x, done, err := s.OpenIndex(r.Context(), c.Archive)
		if err != nil {
			return err
		}
		defer done()
		walk = x.Walk
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "private, no-transform")
	if c.Archive.SHA256 != "" && len(c.Shards) == 0 {
		h.Set("ETag", `"manifest-`+c.Archive.SHA256+`"`)
	}
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	bw.WriteString("[")
	first := true
	err := walk(func(e archive.Entry) error {
		if e.IsDir() {
			return nil
		}
		if !first {
			bw.WriteString(",")
		}
		first = false
		return enc.Encode(ManifestEntry{Path: e.Path, Size: e.Size, Mode: strconv.FormatUint(uint64(e.Mode.Perm()), 8), SHA256: e.SHA256Hex()})
	})
	bw.WriteString("]\n")
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		s.logger().Warn("streaming artifact manifest", "artifact_id", c.Archive.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}
