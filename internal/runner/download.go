package runner

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"
)

func hasDownloads(p *jobPayload) bool {
	for _, d := range p.Dependencies {
		if d.ArtifactsFile.Filename != "" {
			return true
		}
	}
	return false
}

// downloadArtifacts fetches every dependency that has an artifacts file and
// extracts it into the project dir. Each archive is streamed to a temporary
// file first, so it is never held in memory.
func (j *job) downloadArtifacts(ctx context.Context) error {
	for _, d := range j.p.Dependencies {
		if d.ArtifactsFile.Filename == "" {
			continue
		}
		j.printf("Downloading artifacts for %s (%d)...\n", d.Name, d.ID)
		if err := j.downloadDependency(ctx, d); err != nil {
			return fmt.Errorf("downloading artifacts of %s (%d): %w", d.Name, d.ID, err)
		}
		j.printf("Downloading artifacts from coordinator... ok        id=%d\n", d.ID)
	}
	return nil
}

func (j *job) downloadDependency(ctx context.Context, d dependency) error {
	tmp, err := os.CreateTemp(j.tmpDir, "artifacts-*.zip")
	if err != nil {
		return &systemError{fmt.Errorf("creating temporary file: %w", err)}
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	token := d.Token
	if token == "" {
		token = j.p.Token
	}
	for attempt := 1; ; attempt++ {
		err = j.fetchArchive(ctx, d.ID, token, attempt == 1, tmp)
		if err == nil || attempt >= 3 || isFatal(err) || ctx.Err() != nil {
			break
		}
		j.warnf("Retrying artifacts download: %v", err)
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	magic := make([]byte, 4)
	if _, err := tmp.ReadAt(magic, 0); err == nil && (bytes.HasPrefix(magic, []byte{0x1f, 0x8b}) || bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd})) {
		return fmt.Errorf("unsupported artifacts archive format (only zip)")
	}
	return extractZip(tmp.Name(), j.projectDir, j.r.cfg.MaxExtractSize)
}

// fatalError is a download failure that is not retried (401, 403, 404).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func isFatal(err error) bool {
	_, ok := err.(*fatalError)
	return ok
}

// fetchArchive GETs /jobs/:id/artifacts into dst, following one 302/307 to
// object storage. JOB-TOKEN is only sent to the coordinator's own host.
func (j *job) fetchArchive(ctx context.Context, id int64, token string, direct bool, dst *os.File) error {
	path := fmt.Sprintf("jobs/%d/artifacts", id)
	if direct {
		path += "?direct_download=true"
	}
	hdr := http.Header{"Job-Token": {token}}
	resp, err := j.r.client.do(ctx, apiRequest{method: http.MethodGet, path: path, header: hdr})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusTemporaryRedirect {
		loc, err := resp.Location()
		if err != nil {
			return fmt.Errorf("reading redirect: %w", err)
		}
		resp.Body.Close()
		if resp, err = j.followRedirect(ctx, loc, token); err != nil {
			return err
		}
		defer resp.Body.Close()
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		return &fatalError{fmt.Errorf("status %d: %s", resp.StatusCode, errorMessage(resp))}
	default:
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := dst.Truncate(0); err != nil {
		return &systemError{err}
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return &systemError{err}
	}
	if _, err := io.Copy(dst, resp.Body); err != nil {
		return fmt.Errorf("receiving archive: %w", err)
	}
	return nil
}

// followRedirect GETs loc following further redirects.
func (j *job) followRedirect(ctx context.Context, loc *url.URL, token string) (*http.Response, error) {
	hc := *j.r.client.http
	hc.CheckRedirect = nil
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("building redirect request: %w", err)
	}
	req.Header.Set("User-Agent", userAgent())
	if loc.Host == j.r.client.base.Host {
		req.Header.Set("Job-Token", token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading from %s: %w", loc.Host, err)
	}
	return resp, nil
}
