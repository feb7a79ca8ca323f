package api

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

var defaultIndexes = sync.OnceValue(func() *archive.Cache { return archive.NewCache(64 << 20) })

func (s *Server) indexes() *archive.Cache {
	if s.Indexes != nil {
		return s.Indexes
	}
	return defaultIndexes()
}

// serveArchive answers with a whole archive: ETag (its sha256), Range,
// If-None-Match and HEAD through http.ServeContent, sendfile for local
// files, or a redirect to a signed URL when configured.
func (s *Server) serveArchive(w http.ResponseWriter, r *http.Request, a *ci.Artifact) error {
	h := w.Header()
	h.Set("ETag", `"`+a.SHA256+`"`)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	h.Set("Content-Type", "application/zip")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "private, no-transform")
	if s.RedirectDownloads && r.Method != http.MethodHead { // a signed GET URL cannot answer HEAD
		u, err := s.Blobs.SignedURL(r.Context(), a.BlobKey, 5*time.Minute, a.Filename, "application/zip")
		if err != nil {
			return err
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
		return err
	}
	defer obj.Close()
	var content io.ReadSeeker = obj
	if f, ok := obj.(interface{ File() *os.File }); ok {
		content = f.File() // lets net/http use sendfile
	}
	http.ServeContent(w, r, "", a.CreatedAt, content)
	return nil
}

// openIndex opens the entry index of an archive.
func (s *Server) openIndex(r *http.Request, a *ci.Artifact) (*archive.Reader, func(), error) {
	if a.IndexKey == "" {
		return nil, nil, ci.Errorf(ci.KindNotFound, "404 Artifacts metadata Not Found")
	}
	if x, ok := s.indexes().Cached(a.IndexKey); ok {
		return x, func() {}, nil
	}
	obj, err := s.Blobs.Open(r.Context(), a.IndexKey)
	if err != nil {
		return nil, nil, err
	}
	x, err := s.indexes().Open(a.IndexKey, obj, obj.Size())
	if err != nil {
		obj.Close()
		return nil, nil, err
	}
	return x, func() { obj.Close() }, nil
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
	ct := mime.TypeByExtension(path.Ext(name))
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

// serveEntry streams one file of an archive, reading only that entry.
// inline serves it for display (the UI's preview); otherwise as an attachment.
func (s *Server) serveEntry(w http.ResponseWriter, r *http.Request, a *ci.Artifact, rawPath string, inline bool) error {
	p, err := archive.CleanPath(rawPath)
	if err != nil {
		return err
	}
	if p == "" {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - artifact path is missing")
	}
	x, done, err := s.openIndex(r, a)
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
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox")
	h.Set("Cache-Control", "private, no-transform")
	h.Set("Content-Type", SafeContentType(p))
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": path.Base(p)}))
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*" || strings.Contains(match, etag)) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(e.Size, 10))
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	obj, err := s.Blobs.Open(r.Context(), a.BlobKey)
	if err != nil {
		return err
	}
	defer obj.Close()
	rc, err := archive.OpenEntry(obj, e)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, rc); err != nil {
		// Headers are gone; abort the response so the client sees a broken transfer.
		s.Logger.Warn("streaming artifact entry", "artifact_id", a.ID, "path", p, "err", err)
		panic(http.ErrAbortHandler)
	}
	return nil
}

// serveTree lists a directory of an archive in GitLab's tree shape.
func (s *Server) serveTree(w http.ResponseWriter, r *http.Request, a *ci.Artifact) error {
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	pg, err := q.Page()
	if err != nil {
		return err
	}
	recursive, err := q.Bool("recursive", false)
	if err != nil {
		return err
	}
	x, done, err := s.openIndex(r, a)
	if err != nil {
		return err
	}
	defer done()
	entries, total, err := x.List(q.Get("path"), recursive, pg)
	if err != nil {
		return err
	}
	out := make([]archive.TreeEntry, 0, len(entries))
	for _, e := range entries {
		out = append(out, e.Tree())
	}
	setPagination(w, r, pg, total)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
