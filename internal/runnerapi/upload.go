package runnerapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"github.com/batonci/baton/internal/archive"
	"github.com/batonci/baton/internal/blob"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// multipartSlack is how much larger than MaxArtifactSize a request's
// Content-Length may be (boundaries, part headers, form fields).
const multipartSlack = 1 << 20

// maxFormField bounds the non-file form fields of an upload, together.
const maxFormField = 64 << 10

// uploadSettings are the artifact_type, artifact_format, expire_in and token
// of an upload, from the query string or form fields before the file part.
type uploadSettings struct {
	token, typ, format, expireIn string
}

func (u *uploadSettings) set(name, value string) {
	switch name {
	case "token":
		if u.token == "" {
			u.token = value
		}
	case "artifact_type":
		u.typ = value
	case "artifact_format":
		u.format = value
	case "expire_in":
		u.expireIn = value
	}
}

// uploadArtifact is POST /api/v4/jobs/:id/artifacts. The multipart body is
// streamed: its "file" part goes straight into the blob store, counted
// against MaxArtifactSize. Settings come from the query string (what
// current runners send) or from form fields placed before the file part;
// fields after the file part are ignored. The artifact row is created only
// once the bytes (and, for zip archives, the entry index) are stored.
func (s *Server) uploadArtifact(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	set := uploadSettings{token: r.Header.Get("Job-Token")}
	for _, k := range []string{"token", "job_token", "artifact_type", "artifact_format", "expire_in"} {
		if k == "job_token" {
			set.set("token", q.Get(k))
			continue
		}
		if q.Get(k) != "" {
			set.set(k, q.Get(k))
		}
	}
	limit := s.maxArtifactSize()
	var j *ci.Job
	if set.token != "" {
		var err error
		if j, err = s.activeJob(w, r, set.token); err != nil {
			return err
		}
	}
	if limit > 0 && r.ContentLength > limit+multipartSlack {
		return tooLarge(limit)
	}
	mr, err := multipartReader(r)
	if err != nil {
		return err
	}
	// Until the token is known, only form fields are read, and at most
	// maxFormField bytes of them: nobody unauthenticated makes Baton read
	// (or store) a large body. The stock runner sends JOB-TOKEN, so its
	// uploads are authenticated before the body is touched.
	fields := int64(0)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - file is missing")
		}
		if err != nil {
			if tl := httpx.TooLarge(err); tl != nil {
				return tl
			}
			return ci.Wrap(ci.KindInvalid, err, "400 Bad request - reading multipart body")
		}
		if part.FormName() != "file" {
			v, err := io.ReadAll(io.LimitReader(part, maxFormField-fields+1))
			part.Close()
			if tl := httpx.TooLarge(err); tl != nil {
				return tl
			}
			if err != nil {
				return ci.Wrap(ci.KindInvalid, err, "400 Bad request - reading form field")
			}
			if fields += int64(len(v)); fields > maxFormField {
				return ci.Errorf(ci.KindTooLarge, "413 Request Entity Too Large: the form fields of an upload may hold at most %d KiB", maxFormField>>10)
			}
			set.set(part.FormName(), string(v))
			continue
		}
		if j == nil {
			if j, err = s.activeJob(w, r, set.token); err != nil {
				return err
			}
		}
		// Authenticated: the file may take as long as its size needs.
		if limit >= 0 {
			httpx.ExtendRead(w, limit+multipartSlack)
		} else {
			httpx.ExtendRead(w, 1<<40)
		}
		a, err := s.storeArtifact(r.Context(), j, set, part, limit)
		part.Close()
		if err != nil {
			return err
		}
		s.Artifacts.Notify(j.ProjectID, j.PipelineID)
		s.logger().InfoContext(r.Context(), "artifact stored", "job_id", j.ID, "artifact_id", a.ID, "file_type", a.FileType, "size", a.Size)
		httpx.WriteJSON(w, http.StatusCreated, map[string]any{"message": "201 Created", "id": a.ID, "file_type": a.FileType, "size": a.Size})
		return nil
	}
}

func tooLarge(limit int64) error {
	return ci.Errorf(ci.KindTooLarge, "413 Request Entity Too Large: artifact is larger than the maximum of %d MiB", limit>>20)
}

// storeArtifact validates the settings, streams part into the blob store,
// indexes or parses it, and records the row. Any failure deletes what was
// stored.
func (s *Server) storeArtifact(ctx context.Context, j *ci.Job, set uploadSettings, part *multipart.Part, limit int64) (*ci.Artifact, error) {
	typ, format := set.typ, set.format
	if typ == "" {
		typ = ci.FileTypeArchive
	}
	if format == "" {
		format = ci.FormatZip
	}
	if !validArtifactType(typ) {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - artifact_type does not have a valid value")
	}
	if format != ci.FormatZip && format != ci.FormatGzip && format != ci.FormatRaw {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - artifact_format does not have a valid value")
	}
	now := s.now()
	expireAt, err := s.expireAt(set.expireIn, now)
	if err != nil {
		return nil, err
	}
	a := &ci.Artifact{
		JobID: j.ID, PipelineID: j.PipelineID, ProjectID: j.ProjectID, FileType: typ, FileFormat: format,
		Filename: artifactFilename(part.FileName(), typ, format), ExpireAt: expireAt,
		BlobKey: ci.ArtifactBlobKey(j.ProjectID, j.ID, typ, randomName()),
	}
	counted := &limitedReader{r: part, left: limit}
	var src io.Reader = counted
	var digester *archive.Digester
	if format == ci.FormatZip && s.Index != nil {
		// Entry digests are computed on the way into the blob store, on
		// another core, so indexing needs no second read of the archive.
		digester = s.Index.NewDigester()
		src = io.TeeReader(counted, digester)
	}
	info, err := s.Blobs.Put(ctx, a.BlobKey, src)
	var streamed *archive.Digests
	if digester != nil {
		streamed = digester.Close()
		defer streamed.Close()
	}
	if err != nil {
		return nil, counted.putError(err, limit, "uploaded file", "storing artifact of job "+itoa(j.ID))
	}
	a.Size, a.SHA256 = info.Size, info.SHA256
	cleanup := func() { s.deleteBlobs(ctx, a) }
	idx, err := s.inspectArtifact(ctx, a, streamed)
	if err != nil {
		cleanup()
		return nil, err
	}
	if idx != nil {
		defer idx.Close()
		files, readErr := idx.Files()
		err = s.Store.CreateArchive(ctx, a, func(yield func(ci.ArtifactFile) bool) {
			for p, sum := range files {
				if sum == ([32]byte{}) {
					continue
				}
				if !yield(ci.ArtifactFile{Path: p, SHA256: hex.EncodeToString(sum[:])}) {
					return
				}
			}
		})
		if err == nil {
			if err = readErr(); err != nil {
				err = errors.Join(err, s.Store.DeleteArtifact(context.WithoutCancel(ctx), a.ID))
			}
		}
	} else if a.FileType == ci.FileTypeJUnit {
		err = s.Store.CreateTestReport(ctx, a, s.readTestReport(ctx, j, a))
	} else {
		err = s.Store.CreateArtifact(ctx, a)
	}
	if err != nil {
		cleanup()
		if ci.IsConflict(err) {
			return nil, ci.Errorf(ci.KindConflict, "409 Conflict - job %d already has a %s artifact", j.ID, typ)
		}
		return nil, fmt.Errorf("recording artifact of job %d: %w", j.ID, err)
	}
	return a, nil
}

// inspectArtifact indexes zip archives (setting IndexKey) and validates
// dotenv reports. The index of a zip is returned for its files; the caller
// closes it.
func (s *Server) inspectArtifact(ctx context.Context, a *ci.Artifact, streamed *archive.Digests) (*archive.Index, error) {
	if a.FileType == ci.FileTypeDotenv {
		obj, err := s.Blobs.Open(ctx, a.BlobKey)
		if err != nil {
			return nil, fmt.Errorf("opening dotenv report: %w", err)
		}
		defer obj.Close()
		_, err = decodeDotenv(obj)
		return nil, err
	}
	if a.FileFormat != ci.FormatZip || s.Index == nil {
		return nil, nil
	}
	obj, err := s.Blobs.Open(ctx, a.BlobKey)
	if err != nil {
		return nil, fmt.Errorf("opening archive: %w", err)
	}
	defer obj.Close()
	idx, err := s.Index.Build(obj, obj.Size(), streamed)
	if err != nil {
		if ci.KindOf(err) == ci.KindInternal {
			return nil, fmt.Errorf("indexing archive: %w", err)
		}
		return nil, err
	}
	a.IndexKey = a.BlobKey + ci.IndexKeySuffix
	if _, err := putWriterTo(ctx, s.Blobs, a.IndexKey, idx); err != nil {
		idx.Close()
		return nil, fmt.Errorf("storing archive index: %w", err)
	}
	return idx, nil
}

// putWriterTo streams what wt writes into key.
func putWriterTo(ctx context.Context, store blob.Store, key string, wt io.WriterTo) (blob.Info, error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := wt.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	info, err := store.Put(ctx, key, pr)
	pr.CloseWithError(errors.New("index upload ended")) // unblock the writer if Put stopped early
	<-done                                              // the caller may free what the writer reads
	return info, err
}

func validArtifactType(t string) bool {
	if t == "" || len(t) > 40 {
		return false
	}
	for _, c := range []byte(t) {
		if !(c >= 'a' && c <= 'z' || c == '_') {
			return false
		}
	}
	return true
}

// artifactFilename is the uploaded file's base name, or GitLab's default.
func artifactFilename(name, typ, format string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name != "" && name != "." && name != "/" && name != ".." && !strings.ContainsRune(name, 0) {
		return name
	}
	switch {
	case typ == ci.FileTypeArchive && format == ci.FormatZip:
		return "artifacts.zip"
	case format == ci.FormatGzip:
		return typ + ".gz"
	}
	return typ
}

func randomName() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// limitedReader fails once more than left bytes were read (left < 0 means
// no limit), remembering that it did.
type limitedReader struct {
	r        io.Reader
	left     int64
	exceeded bool
	readErr  error // the client's body failed (not EOF)
}

var errArtifactTooLarge = errors.New("artifact too large")

// putError is what a failed blob Put of l's bytes answers: 413 past the
// limit (or the route's body limit), 400 when the client's body or its
// content failed (naming what, e.g. "uploaded file"), else an internal
// error saying doing what.
func (l *limitedReader) putError(err error, limit int64, what, doing string) error {
	switch {
	case l.exceeded, httpx.TooLarge(l.readErr) != nil:
		return tooLarge(limit)
	case l.readErr != nil:
		return ci.Wrap(ci.KindInvalid, l.readErr, "400 Bad request - reading the %s", what)
	case ci.KindOf(err) == ci.KindInternal:
		return fmt.Errorf("%s: %w", doing, err)
	}
	return ci.Wrap(ci.KindInvalid, err, "400 Bad request - reading the %s", what)
}

// deleteBlobs removes a rejected artifact's archive and index, with a
// fresh context: the request's may be gone, the bytes must not stay.
func (s *Server) deleteBlobs(ctx context.Context, a *ci.Artifact) {
	dctx := context.WithoutCancel(ctx)
	for _, k := range []string{a.BlobKey, a.IndexKey} {
		if k == "" {
			continue
		}
		if err := s.Blobs.Delete(dctx, k); err != nil {
			s.logger().WarnContext(dctx, "deleting rejected artifact blob", "key", k, "err", err)
		}
	}
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.exceeded {
		return 0, errArtifactTooLarge
	}
	n, err := l.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		l.readErr = err
	}
	if l.left >= 0 {
		l.left -= int64(n)
		if l.left < 0 {
			l.exceeded = true
			return n, errArtifactTooLarge
		}
	}
	return n, err
}

// multipartReader reads the body through a 1 MiB buffer: mime/multipart's
// own is 4 KiB, which would cut a gigabyte upload into 262,144 reads and
// writes.
func multipartReader(r *http.Request) (*multipart.Reader, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, ci.Errorf(ci.KindInvalid, "400 Bad request - the body must be multipart/form-data with a file part")
	}
	return multipart.NewReader(bufio.NewReaderSize(r.Body, 1<<20), params["boundary"]), nil
}
