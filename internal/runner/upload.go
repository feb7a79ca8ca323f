package runner

import (
	"archive/zip"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// errUploadFatal marks an upload the coordinator refused for good (403, 413).
var errUploadFatal = errors.New("artifacts upload refused")

// uploadArtifacts uploads every artifacts entry whose when matches outcome
// ("on_success" or "on_failure"; "always" matches both). Entries that select
// no files are skipped with a warning.
func (j *job) uploadArtifacts(ctx context.Context, outcome string) error {
	section := "upload_artifacts_" + outcome
	started := false
	defer func() {
		if started {
			_ = j.out.Flush()
			sectionEnd(j.out, section)
		}
	}()
	var firstErr error
	for _, a := range j.p.Artifacts {
		when := a.When
		if when == "" {
			when = "on_success"
		}
		if when != outcome && when != "always" {
			continue
		}
		if !started {
			sectionStart(j.out, section, "Uploading artifacts for "+strings.TrimPrefix(outcome, "on_")+" job")
			started = true
		}
		if err := j.uploadOne(ctx, a); err != nil {
			j.errorf("Uploading artifacts as %q to coordinator... %v", a.ArtifactType, err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

func (j *job) uploadOne(ctx context.Context, a jobArtifact) error {
	files, err := j.collectFiles(ctx, j.projectDir, a)
	if err != nil {
		return &systemError{fmt.Errorf("collecting files: %w", err)}
	}
	if len(files) == 0 {
		j.warnf("No files to upload")
		return nil
	}
	format := a.ArtifactFormat
	if format == "" {
		format = "zip"
	}
	name := filepath.Base(a.Name)
	if a.Name == "" || name == "." || name == "/" {
		name = "artifacts"
	}
	var filename string
	switch format {
	case "zip":
		filename = name + ".zip"
	case "gzip":
		filename = name + ".gz"
	case "raw":
		filename = name
		if len(files) != 1 {
			return fmt.Errorf("raw artifacts need exactly one file, found %d", len(files))
		}
	default:
		return fmt.Errorf("unsupported artifact format %q", format)
	}
	j.printf("Uploading artifacts...\n")
	for _, f := range files {
		j.printf("%s: found\n", f)
	}
	q := url.Values{}
	for k, v := range map[string]string{"artifact_format": a.ArtifactFormat, "artifact_type": a.ArtifactType, "expire_in": a.ExpireIn} {
		if v != "" {
			q.Set(k, v)
		}
	}
	target, err := j.r.client.base.Parse(fmt.Sprintf("jobs/%d/artifacts", j.p.ID))
	if err != nil {
		return err
	}
	target.RawQuery = q.Encode()
	mw := multipart.NewWriter(io.Discard)
	body := func() (io.Reader, error) {
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(j.writeMultipart(pw, mw.Boundary(), filename, format, files)) }()
		return pr, nil
	}
	hdr := http.Header{"Job-Token": {j.p.Token}, "Content-Type": {mw.FormDataContentType()}}
	// Like gitlab-runner's artifacts-uploader: up to 3 tries (6 while the
	// coordinator answers 503), each on top of the client's HTTP-level
	// retries, with back-off between tries; a 307 is followed at once.
	// Network errors are retried too: the coordinator may be restarting.
	for attempt := 1; ; attempt++ {
		limit := 3
		var failure error
		resp, err := j.r.client.doURL(ctx, target.String(), apiRequest{method: http.MethodPost, path: target.Path, header: hdr, body: body})
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			failure = fmt.Errorf("uploading: %w", err)
		} else {
			msg := errorMessage(resp)
			resp.Body.Close()
			j.observe(resp)
			switch resp.StatusCode {
			case http.StatusCreated:
				j.printf("Uploading artifacts as %q to coordinator... 201 Created\n", orDefault(a.ArtifactType, "archive"))
				return nil
			case http.StatusTemporaryRedirect:
				loc, err := resp.Location()
				if err != nil {
					return &uploadError{fmt.Errorf("uploading: bad redirect: %w", err)}
				}
				target.Scheme, target.Host = loc.Scheme, loc.Host
				if attempt < limit {
					continue // retry at once against the new host
				}
			case http.StatusForbidden, http.StatusRequestEntityTooLarge:
				return &uploadError{fmt.Errorf("%w: %d %s", errUploadFatal, resp.StatusCode, msg)}
			case http.StatusServiceUnavailable:
				limit = 6
			}
			failure = fmt.Errorf("uploading: status %d %s", resp.StatusCode, msg)
		}
		if attempt >= limit {
			return &uploadError{failure}
		}
		j.warnf("Uploading artifacts to coordinator... %v, retrying", failure)
		if err := sleep(ctx, j.r.client.uploadWait(attempt)); err != nil {
			return err
		}
	}
}

// uploadError is an artifact upload that failed after the job's script
// passed: reported as archived_failure (or runner_system_failure), not as
// the script's failure.
type uploadError struct{ err error }

func (e *uploadError) Error() string { return e.err.Error() }
func (e *uploadError) Unwrap() error { return e.err }

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// writeMultipart streams one multipart part "file" holding the archive.
func (j *job) writeMultipart(w io.Writer, boundary, filename, format string, files []string) error {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(boundary); err != nil {
		return err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.NewReplacer(`"`, "%22", "\r", "", "\n", "").Replace(filename)))
	h.Set("Content-Type", "application/octet-stream")
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	switch format {
	case "zip":
		err = writeZip(part, j.projectDir, files)
	case "gzip":
		err = writeGzip(part, j.projectDir, files)
	default:
		err = copyFile(part, filepath.Join(j.projectDir, filepath.FromSlash(files[0])))
	}
	if err != nil {
		return err
	}
	return mw.Close()
}

// writeZip writes files (slash paths relative to dir) as a zip; symlinks are
// stored as symlinks, never followed.
func writeZip(w io.Writer, dir string, files []string) error {
	zw := zip.NewWriter(w)
	for _, rel := range files {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(full)
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		hdr, err := zip.FileInfoHeader(fi)
		if err != nil {
			return err
		}
		hdr.Name = rel
		switch {
		case fi.IsDir():
			hdr.Name += "/"
			hdr.Method = zip.Store
			if _, err := zw.CreateHeader(hdr); err != nil {
				return err
			}
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(full)
			if err != nil {
				return err
			}
			hdr.Method = zip.Store
			fw, err := zw.CreateHeader(hdr)
			if err != nil {
				return err
			}
			if _, err := io.WriteString(fw, target); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			hdr.Method = zip.Deflate
			fw, err := zw.CreateHeader(hdr)
			if err != nil {
				return err
			}
			if err := copyFile(fw, full); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

// writeGzip writes every regular file as one gzip member named after it, like gitlab-runner.
func writeGzip(w io.Writer, dir string, files []string) error {
	for _, rel := range files {
		full := filepath.Join(dir, filepath.FromSlash(rel))
		fi, err := os.Lstat(full)
		if err != nil {
			return fmt.Errorf("reading %s: %w", rel, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		gz := gzip.NewWriter(w)
		gz.Name, gz.ModTime = rel, fi.ModTime()
		if err := copyFile(gz, full); err != nil {
			return err
		}
		if err := gz.Close(); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(w io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("archiving %s: %w", name, err)
	}
	return nil
}
