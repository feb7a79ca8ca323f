package runnerapi

import (
	"fmt"
	"mime"
	"net/http"
	"os"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// signedURLTTL is how long a redirect to a signed download URL is valid.
const signedURLTTL = 5 * time.Minute

// downloadArtifact is GET /api/v4/jobs/:id/artifacts, which runners call
// for dependencies. The token (Job-Token header, token or job_token
// parameter) must be that of a running job of the same project: payloads
// hand every dependency the running job's own token. Unknown tokens are
// 401, tokens of finished jobs or other projects 403, a job without an
// archive 404.
func (s *Server) downloadArtifact(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	token := r.Header.Get("Job-Token")
	for _, k := range []string{"token", "job_token"} {
		if token == "" {
			token = r.URL.Query().Get(k)
		}
	}
	if token == "" {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	ctx := r.Context()
	caller, err := s.Store.JobByTokenHash(ctx, auth.Hash(token))
	if ci.IsNotFound(err) {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	if err != nil {
		return fmt.Errorf("finding job by token: %w", err)
	}
	if !caller.Status.Active() {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - Job is not processing on runner")
	}
	target, err := s.Store.JobByID(ctx, id)
	if ci.IsNotFound(err) {
		return ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	if err != nil {
		return fmt.Errorf("loading job %d: %w", id, err)
	}
	if target.ProjectID != caller.ProjectID {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - the job token's project may not read job %d", id)
	}
	arts, err := s.Store.ArtifactsOfJobs(ctx, []int64{id})
	if err != nil {
		return fmt.Errorf("listing artifacts of job %d: %w", id, err)
	}
	var a *ci.Artifact
	for _, x := range arts {
		if x.FileType == ci.FileTypeArchive {
			a = x
		}
	}
	if a == nil {
		return ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	contentType := "application/zip"
	if a.FileFormat == ci.FormatGzip {
		contentType = "application/gzip"
	} else if a.FileFormat == ci.FormatRaw {
		contentType = "application/octet-stream"
	}
	if s.RedirectDownloads {
		u, err := s.Blobs.SignedURL(ctx, a.BlobKey, signedURLTTL, a.Filename, contentType)
		if err != nil {
			return fmt.Errorf("signing artifact URL: %w", err)
		}
		if u != "" {
			http.Redirect(w, r, u, http.StatusFound)
			return nil
		}
	}
	obj, err := s.Blobs.Open(ctx, a.BlobKey)
	if ci.IsNotFound(err) {
		return ci.Errorf(ci.KindNotFound, "404 Not Found")
	}
	if err != nil {
		return fmt.Errorf("opening artifact %d: %w", a.ID, err)
	}
	defer obj.Close()
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	if a.SHA256 != "" {
		h.Set("ETag", `"`+a.SHA256+`"`)
	}
	if f, ok := obj.(interface{ File() *os.File }); ok {
		http.ServeContent(w, r, "", a.CreatedAt, f.File()) // *os.File: sendfile
		return nil
	}
	http.ServeContent(w, r, "", a.CreatedAt, obj)
	return nil
}
