package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// transfer is the result of a download, as --json prints it.
type transfer struct {
	Output   string `json:"output"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Verified bool   `json:"verified"` // the server named a digest and it matched
	Resumed  int64  `json:"resumed_from,omitempty"`
	JobID    int64  `json:"job_id,omitempty"`
}

// partMeta is kept beside a .part file: what a resume must match.
type partMeta struct {
	ETag string `json:"etag"`
	URL  string `json:"url"`
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// expectedDigest is the SHA-256 the server says the body has: the
// Repr-Digest or Digest of a one-file read, or a whole archive's ETag
// (its SHA-256). "" when the server names none (a merged archive, an
// archive indexed before digests).
func expectedDigest(h http.Header, k kind) string {
	for _, v := range []string{h.Get("Repr-Digest"), h.Get("Digest")} {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			name, val, ok := strings.Cut(part, "=")
			if !ok || !strings.EqualFold(name, "sha-256") {
				continue
			}
			raw, err := base64.StdEncoding.DecodeString(strings.Trim(val, ":"))
			if err == nil && len(raw) == sha256.Size {
				return hex.EncodeToString(raw)
			}
		}
	}
	if k == kindArchive {
		if et := strings.Trim(h.Get("ETag"), `"`); hex64.MatchString(et) {
			return et
		}
	}
	return ""
}

// downloadName is the file name a download is saved under by default: the
// file's base name, or the archive's Content-Disposition filename.
func downloadName(h http.Header, k kind, file string) string {
	if k == kindRaw {
		return path.Base(file)
	}
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		if n := filepath.Base(filepath.Clean("/" + params["filename"])); n != "/" && n != "." && n != ".." {
			return n
		}
	}
	return "artifacts.zip"
}

// download reads k (file for raw) of s into output ("" = the server's
// name, "-" = stdout). Into a file it writes OUTPUT.part first, resumes
// it with Range and If-Range when a previous run was cut off, verifies
// the SHA-256 and only then renames it to OUTPUT.
func download(ctx context.Context, c *client, s *scope, k kind, file, output string, jsonOut bool) (*transfer, error) {
	build := func(rangeFrom int64, etag string) func(int) (*http.Request, error) {
		return func(waitSecs int) (*http.Request, error) {
			p, err := s.path(k, file, waitSecs)
			if err != nil {
				return nil, err
			}
			req, err := c.request(ctx, http.MethodGet, p, nil)
			if err != nil {
				return nil, err
			}
			if rangeFrom > 0 {
				req.Header.Set("Range", "bytes="+strconv.FormatInt(rangeFrom, 10)+"-")
				req.Header.Set("If-Range", etag)
			}
			return req, nil
		}
	}
	var resp *http.Response
	var offset int64
	var meta partMeta
	var part string
	if output != "" && output != "-" {
		part = output + ".part"
		offset, meta = resumable(part)
	}
	resp, err := s.withWait(ctx, c, build(offset, meta.ETag))
	if err != nil {
		return nil, err
	}
	defer func() { resp.Body.Close() }()
	if output == "" {
		// The name comes with the answer; a .part of it may be resumed.
		output = downloadName(resp.Header, k, file)
		part = output + ".part"
		if off, m := resumable(part); off > 0 && m.ETag != "" && m.ETag == resp.Header.Get("ETag") &&
			resp.Header.Get("Accept-Ranges") == "bytes" {
			resp.Body.Close()
			offset, meta = off, m
			if resp, err = s.withWait(ctx, c, build(offset, meta.ETag)); err != nil {
				return nil, err
			}
		}
	}
	t := &transfer{Output: output}
	t.JobID, _ = strconv.ParseInt(resp.Header.Get("X-Baton-Job-Id"), 10, 64)
	want := expectedDigest(resp.Header, k)
	for r := resp.Request; want == "" && r != nil && r.Response != nil; r = r.Response.Request {
		// Redirected to a signed object-store URL: Baton named the
		// digest on its 302.
		want = expectedDigest(r.Response.Header, k)
	}
	sum := sha256.New()
	var dst io.Writer
	var f *os.File
	switch {
	case output == "-":
		dst = c.env.Stdout
	case resp.StatusCode == http.StatusPartialContent && contentRangeStart(resp.Header) == offset && offset > 0:
		// Resuming: the server's bytes continue the .part. Hash what it has.
		if f, err = os.OpenFile(part, os.O_RDWR, 0); err != nil {
			return nil, exitf(ExitUsage, "%v", err)
		}
		if n, err := io.Copy(sum, io.NewSectionReader(f, 0, offset)); err != nil || n != offset {
			f.Close()
			return nil, exitf(ExitUsage, "reading %s: %v", part, err)
		}
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, exitf(ExitUsage, "%v", err)
		}
		if err := f.Truncate(offset); err != nil {
			f.Close()
			return nil, exitf(ExitUsage, "%v", err)
		}
		t.Resumed = offset
		dst = f
	default:
		// From the start: a new .part, and what a resume must match.
		offset = 0
		if resp.StatusCode != http.StatusOK {
			return nil, exitf(ExitServer, "unexpected answer %s", resp.Status)
		}
		if err := os.MkdirAll(filepath.Dir(output), 0o755); err != nil && filepath.Dir(output) != "." {
			return nil, exitf(ExitUsage, "%v", err)
		}
		if f, err = os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644); err != nil {
			return nil, exitf(ExitUsage, "%v", err)
		}
		m := partMeta{ETag: resp.Header.Get("ETag"), URL: resp.Request.URL.Path}
		if b, err := json.Marshal(m); err == nil && m.ETag != "" {
			_ = os.WriteFile(part+".json", b, 0o644)
		} else {
			_ = os.Remove(part + ".json")
		}
		dst = f
	}
	total := resp.ContentLength
	if total >= 0 {
		total += offset
	}
	bar := newProgress(c.env, jsonOut, total, offset, "downloading "+filepath.Base(output))
	n, copyErr := copyHashed(dst, resp.Body, sum, bar)
	bar.finish()
	t.Size = offset + n
	if f != nil {
		if err := f.Close(); err != nil && copyErr == nil {
			copyErr = err
		}
	}
	if copyErr != nil {
		if f != nil {
			return nil, exitf(ExitServer, "download of %s cut off after %d bytes: %v (run the same command again to resume)", output, t.Size, copyErr)
		}
		return nil, exitf(ExitServer, "download cut off after %d bytes: %v", t.Size, copyErr)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return nil, exitf(ExitServer, "download of %s cut off: %d of %d bytes (run the same command again to resume)", output, n, resp.ContentLength)
	}
	t.SHA256 = hex.EncodeToString(sum.Sum(nil))
	if want != "" && want != t.SHA256 {
		if f != nil {
			_ = os.Remove(part)
			_ = os.Remove(part + ".json")
		}
		return nil, exitf(ExitVerify, "SHA-256 MISMATCH for %s: the server says %s, the bytes received hash to %s; %s", output, want, t.SHA256,
			map[bool]string{true: "the partial file was deleted, nothing was written to " + output, false: "the bytes written to standard output are not what the server holds"}[f != nil])
	}
	t.Verified = want != ""
	if f != nil {
		if err := os.Rename(part, output); err != nil {
			return nil, exitf(ExitUsage, "%v", err)
		}
		_ = os.Remove(part + ".json")
	}
	return t, nil
}

// resumable is the size of a .part file and its meta, when both exist.
func resumable(part string) (int64, partMeta) {
	var m partMeta
	st, err := os.Stat(part)
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		return 0, m
	}
	b, err := os.ReadFile(part + ".json")
	if err != nil || json.Unmarshal(b, &m) != nil || m.ETag == "" {
		return 0, partMeta{}
	}
	return st.Size(), m
}

// contentRangeStart is the first byte of a 206's Content-Range, -1 if none.
func contentRangeStart(h http.Header) int64 {
	cr := h.Get("Content-Range")
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return -1
	}
	start, _, _ := strings.Cut(rest, "-")
	n, err := strconv.ParseInt(start, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// copyHashed copies src to dst and into h. The hash runs in a second
// goroutine on big chunks, so that verifying overlaps the transfer on a
// multi-core machine; the chunks are few (4 MiB) because every hand-over
// between goroutines costs the scheduler a wake-up.
func copyHashed(dst io.Writer, src io.Reader, h hash.Hash, bar *progress) (int64, error) {
	size := chunkSize
	const nbuf = 3
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- make([]byte, size)
	}
	toHash := make(chan []byte, nbuf)
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		for b := range toHash {
			h.Write(b)
			free <- b[:cap(b)]
		}
	}()
	var n int64
	var err error
	for err == nil {
		b := <-free
		k := 0
		for k < len(b) && err == nil {
			var m int
			m, err = src.Read(b[k:])
			k += m
		}
		if k == 0 {
			free <- b
			continue
		}
		if _, werr := dst.Write(b[:k]); werr != nil && (err == nil || errors.Is(err, io.EOF)) {
			err = werr
		}
		toHash <- b[:k]
		n += int64(k)
		bar.add(k)
	}
	close(toHash)
	<-hashed
	if errors.Is(err, io.EOF) {
		return n, nil
	}
	return n, err
}

// chunkSize is how much copyHashed reads before writing and hashing it.
var chunkSize = 4 << 20
