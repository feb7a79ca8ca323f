package runnerapi

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// DefaultMaxPublished is how many named artifacts one job attempt may
// publish when Options.MaxPublished is 0.
const DefaultMaxPublished = 100

// publishedEntity is the answer to a publish.
type publishedEntity struct {
	ID         int64      `json:"id"`
	JobID      int64      `json:"job_id"`
	Name       string     `json:"name"`
	FileType   string     `json:"file_type"`
	FileFormat string     `json:"file_format"`
	Filename   string     `json:"filename"`
	Size       int64      `json:"size"`
	SHA256     string     `json:"sha256"`
	ExpireAt   *time.Time `json:"expire_at"`
	CreatedAt  time.Time  `json:"created_at"`
	Replaced   bool       `json:"replaced"`
}

// zipMagic starts every zip archive Baton stores as is: a local file header,
// or the end of central directory of an empty archive.
var zipMagic = [][]byte{[]byte("PK\x03\x04"), []byte("PK\x05\x06")}

// publishArtifact is PUT /api/v4/jobs/:id/artifacts/publish/:name: a running
// job stores a named artifact at any moment, with its own job token
// (JOB-TOKEN header or job_token parameter), e.g.
//
//	curl --upload-file app.zip -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/jobs/$CI_JOB_ID/artifacts/publish/app"
//
// A body that is a zip archive is stored as is and indexed like the job's
// archive; anything else (one file, a tar, a tar.gz) is stored as a zip
// holding that one file, named by ?filename= or the artifact's name, so
// that raw and tree serve it. Tars are not unpacked. The token is checked
// before one byte of the body is read; the body is bounded by
// --max-artifact-size, and the archive by the index's entry limits. A name
// is unique per job attempt: publishing it again is 409 unless
// ?replace=true. It expires with ?expire_in=, else the job's
// artifacts:expire_in, else the server's default.
func (s *Server) publishArtifact(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	token := r.Header.Get("Job-Token")
	if token == "" {
		token = q.Get("job_token")
	}
	j, err := s.activeJob(w, r, token)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := ci.CheckArtifactName(name); err != nil {
		return err
	}
	replace := false
	if v := q.Get("replace"); v != "" {
		if replace, err = strconv.ParseBool(v); err != nil {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - replace must be true or false")
		}
	}
	filename := name
	if q.Has("filename") {
		filename = q.Get("filename")
		if err := ci.CheckArtifactName(filename); err != nil {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - filename %q must be 1 to %d letters, digits, '.', '_' or '-', not starting with '.'", filename, ci.MaxArtifactNameLen)
		}
	}
	expireIn := q.Get("expire_in")
	if expireIn == "" && j.Spec.Artifacts != nil {
		expireIn = j.Spec.Artifacts.ExpireIn
	}
	expireAt, err := s.expireAt(expireIn, s.now())
	if err != nil {
		return err
	}
	limit := s.maxArtifactSize()
	if limit > 0 && r.ContentLength > limit {
		return tooLarge(limit)
	}
	ctx := r.Context()
	existing, err := s.Store.ArtifactsOfJobs(ctx, []int64{j.ID})
	if err != nil {
		return err
	}
	published := 0
	for _, a := range existing {
		if a.FileType != ci.FileTypePublished {
			continue
		}
		if a.Name == name && !replace {
			return ci.Errorf(ci.KindConflict, "409 Conflict - job %d already published an artifact named %q; add ?replace=true to replace it", j.ID, name)
		}
		if a.Name != name {
			published++
		}
	}
	if max := s.maxPublished(); max > 0 && published >= max {
		return ci.Errorf(ci.KindTooMany, "429 Too Many Requests - job %d already published %d artifacts (--max-published-artifacts)", j.ID, max)
	}
	if limit >= 0 {
		httpx.ExtendRead(w, limit)
	} else {
		httpx.ExtendRead(w, 1<<40)
	}
	a := &ci.Artifact{
		JobID: j.ID, PipelineID: j.PipelineID, ProjectID: j.ProjectID, FileType: ci.FileTypePublished, Name: name,
		FileFormat: ci.FormatZip, Filename: name + ".zip", ExpireAt: expireAt,
		BlobKey: ci.ArtifactBlobKey(j.ProjectID, j.ID, ci.FileTypePublished, randomName()),
	}
	if err := s.putPublished(ctx, a, r.Body, filename, limit); err != nil {
		return err
	}
	cleanup := func() { s.deleteBlobs(ctx, a) }
	// Published artifacts are indexed like archives; their files are not
	// recorded for by_digest provenance (archives only).
	idx, err := s.inspectArtifact(ctx, a, nil)
	if err != nil {
		cleanup()
		return err
	}
	if idx != nil {
		idx.Close()
	}
	var old *ci.Artifact
	if replace {
		old, err = s.Store.ReplaceArtifact(ctx, a)
	} else {
		err = s.Store.CreateArtifact(ctx, a)
	}
	if err != nil {
		cleanup()
		if ci.IsConflict(err) {
			return ci.Errorf(ci.KindConflict, "409 Conflict - job %d already published an artifact named %q; add ?replace=true to replace it", j.ID, name)
		}
		return fmt.Errorf("recording published artifact of job %d: %w", j.ID, err)
	}
	s.Artifacts.Notify(j.ProjectID, j.PipelineID)
	if old != nil {
		s.Artifacts.DeleteBytes(context.WithoutCancel(ctx), old)
	}
	s.logger().InfoContext(ctx, "artifact published", "job_id", j.ID, "artifact_id", a.ID, "name", name, "size", a.Size, "replaced", old != nil)
	httpx.WriteJSON(w, http.StatusCreated, publishedEntity{ID: a.ID, JobID: j.ID, Name: a.Name, FileType: a.FileType,
		FileFormat: a.FileFormat, Filename: a.Filename, Size: a.Size, SHA256: a.SHA256, ExpireAt: a.ExpireAt,
		CreatedAt: a.CreatedAt, Replaced: old != nil})
	return nil
}

// putPublished streams body into a's blob: as is when it is a zip archive,
// else wrapped as the one entry filename of a zip. More than limit bytes
// of body (limit < 0: no limit) is KindTooLarge.
func (s *Server) putPublished(ctx context.Context, a *ci.Artifact, body io.Reader, filename string, limit int64) error {
	counted := &limitedReader{r: body, left: limit}
	br := bufio.NewReaderSize(counted, 64<<10)
	head, _ := br.Peek(4)
	isZip := false
	for _, m := range zipMagic {
		isZip = isZip || bytes.Equal(head, m)
	}
	var src io.Reader = br
	var zerr chan error
	if !isZip {
		pr, pw := io.Pipe()
		zerr = make(chan error, 1)
		go func() {
			zw := zip.NewWriter(pw)
			zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
				return flate.NewWriter(out, flate.BestSpeed)
			})
			f, err := zw.CreateHeader(&zip.FileHeader{Name: filename, Method: zip.Deflate, Modified: s.now()})
			if err == nil {
				_, err = io.Copy(f, br)
			}
			if err == nil {
				err = zw.Close()
			}
			pw.CloseWithError(err)
			zerr <- err
		}()
		src = pr
	}
	info, err := s.Blobs.Put(ctx, a.BlobKey, src)
	if zerr != nil {
		src.(*io.PipeReader).CloseWithError(errors.New("publish ended")) // unblock the writer if Put stopped early
		<-zerr                                                           // it no longer reads counted
	}
	if err != nil {
		return counted.putError(err, limit, "published file", "storing published artifact of job "+itoa(a.JobID))
	}
	a.Size, a.SHA256 = info.Size, info.SHA256
	return nil
}

func (s *Server) maxPublished() int {
	if s.MaxPublished == 0 {
		return DefaultMaxPublished
	}
	return s.MaxPublished
}
