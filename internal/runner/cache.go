package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// jobCache is one entry of the payload's cache list.
type jobCache struct {
	Key          string   `json:"key"`
	Untracked    bool     `json:"untracked"`
	Policy       string   `json:"policy"`
	Paths        []string `json:"paths"`
	When         string   `json:"when"`
	FallbackKeys []string `json:"fallback_keys"`
}

// CacheS3 is a shared cache in an S3-compatible bucket, like gitlab-runner's
// [runners.cache.s3] (with [runners.cache] Path and Shared).
type CacheS3 struct {
	ServerAddress  string // host:port
	AccessKey      string
	SecretKey      string
	BucketName     string
	BucketLocation string // region; default us-east-1
	Insecure       bool   // http instead of https
	// Path prefixes every object name; Shared drops the runner's short
	// token from it, so that all runners share one cache.
	Path   string
	Shared bool
}

// DefaultMaxCacheArchiveSize bounds a cache archive the runner uploads.
const DefaultMaxCacheArchiveSize = 5 << 30

// cacheStore is where caches live: a local directory or an S3 bucket.
type cacheStore interface {
	// get copies the archive of name into w; errCacheMiss if there is none.
	get(ctx context.Context, name string, w io.Writer) error
	// put stores the archive at file under name.
	put(ctx context.Context, name, file string, size int64) error
	describe(name string) string
}

var errCacheMiss = errors.New("no cache")

// localCache keeps archives under a directory: DIR/<name>/cache.zip.
type localCache struct{ dir string }

func (l localCache) file(name string) string {
	return filepath.Join(l.dir, filepath.FromSlash(name), "cache.zip")
}

func (l localCache) describe(name string) string { return l.file(name) }

func (l localCache) get(_ context.Context, name string, w io.Writer) error {
	f, err := os.Open(l.file(name))
	if errors.Is(err, fs.ErrNotExist) {
		return errCacheMiss
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func (l localCache) put(_ context.Context, name, file string, _ int64) error {
	dst := l.file(name)
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	// A temporary file of its own: jobs of this runner that share the key
	// may save it at the same moment.
	out, err := os.CreateTemp(filepath.Dir(dst), "cache.zip.tmp*")
	if err != nil {
		return err
	}
	if err := copyToFile(file, out); err != nil {
		os.Remove(out.Name())
		return err
	}
	if err := os.Rename(out.Name(), dst); err != nil { // readers see the old archive or the new one, never half
		os.Remove(out.Name())
		return err
	}
	return nil
}

// copyToFile copies src into out, syncs and closes it.
func copyToFile(src string, out *os.File) error {
	in, err := os.Open(src)
	if err != nil {
		out.Close()
		return err
	}
	defer in.Close()
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// s3Cache keeps archives in a bucket at <name>/cache.zip.
type s3Cache struct {
	c      *minio.Client
	bucket string
}

func newS3Cache(cfg *CacheS3) (*s3Cache, error) {
	if cfg.ServerAddress == "" || cfg.BucketName == "" {
		return nil, fmt.Errorf("the S3 cache needs a server address and a bucket name")
	}
	c, err := minio.New(cfg.ServerAddress, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       !cfg.Insecure,
		Region:       cmpOr(cfg.BucketLocation, "us-east-1"),
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("creating S3 cache client: %w", err)
	}
	return &s3Cache{c: c, bucket: cfg.BucketName}, nil
}

func (s *s3Cache) object(name string) string { return name + "/cache.zip" }

func (s *s3Cache) describe(name string) string { return "s3://" + s.bucket + "/" + s.object(name) }

func (s *s3Cache) get(ctx context.Context, name string, w io.Writer) error {
	obj, err := s.c.GetObject(ctx, s.bucket, s.object(name), minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer obj.Close()
	_, err = io.Copy(w, obj)
	if resp := minio.ToErrorResponse(err); resp.Code == "NoSuchKey" || resp.StatusCode == 404 {
		return errCacheMiss
	}
	return err
}

func (s *s3Cache) put(ctx context.Context, name, file string, size int64) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = s.c.PutObject(ctx, s.bucket, s.object(name), f, size, minio.PutObjectOptions{ContentType: "application/zip"})
	return err
}

func cmpOr(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// cacheName is where a job's cache of key lives in the store: per project,
// and per runner unless the S3 cache is shared (gitlab-runner's
// "runner/<token>/project/<id>/<key>", under Path).
func (j *job) cacheName(key string) string {
	name := path.Join("project", strconv.FormatInt(j.p.JobInfo.ProjectID, 10), key)
	if s3 := j.r.cfg.CacheS3; s3 != nil {
		if !s3.Shared {
			name = path.Join("runner", shortToken(j.r.cfg.Token), name)
		}
		if p := strings.Trim(s3.Path, "/"); p != "" {
			name = path.Join(p, name)
		}
	}
	return name
}

// cacheKey expands the job's variables in key and checks that it names one
// place: no "." or ".." segment, no backslash or NUL, not absolute.
func (j *job) cacheKey(key string) (string, error) {
	key = strings.TrimSpace(expand(key, j.vars))
	if key == "" {
		return "", errors.New("the cache key is empty")
	}
	if strings.ContainsAny(key, "\\\x00") || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return "", fmt.Errorf("the cache key %q is not allowed", key)
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("the cache key %q is not allowed", key)
		}
	}
	return key, nil
}

// cachePolicy expands and checks a cache's policy (pull-push by default).
func (j *job) cachePolicy(c jobCache) (string, error) {
	p := strings.TrimSpace(expand(c.Policy, j.vars))
	switch p {
	case "":
		return "pull-push", nil
	case "pull-push", "pull", "push":
		return p, nil
	}
	return "", fmt.Errorf("unknown cache policy %q", p)
}

// restoreCache extracts each pulled cache into the project directory: the
// first of its key, its fallback keys and CACHE_FALLBACK_KEY that exists.
// A cache that cannot be restored is a warning, never a failure.
func (j *job) restoreCache(ctx context.Context) error {
	for _, c := range j.p.Cache {
		policy, err := j.cachePolicy(c)
		if err != nil {
			j.warnf("%v; cache not restored", err)
			continue
		}
		if policy == "push" {
			j.printf("Not downloading cache %s due to policy\n", c.Key)
			continue
		}
		keys := append([]string{c.Key}, c.FallbackKeys...)
		if fb := j.vars["CACHE_FALLBACK_KEY"]; fb != "" {
			// As gitlab-runner: a global fallback may not reach protected caches.
			if strings.HasSuffix(fb, "-protected") {
				j.warnf("CACHE_FALLBACK_KEY %q ends with -protected and is ignored", fb)
			} else {
				keys = append(keys, fb)
			}
		}
		restored := false
		for _, raw := range keys {
			key, err := j.cacheKey(raw)
			if err != nil {
				j.warnf("%v", err)
				continue
			}
			j.printf("Checking cache for %s...\n", key)
			ok, err := j.extractCache(ctx, key)
			if err != nil {
				if ctx.Err() != nil {
					return context.Cause(ctx)
				}
				j.warnf("Failed to extract cache %s: %v", key, err)
				continue
			}
			if ok {
				j.printf("Successfully extracted cache\n")
				restored = true
				break
			}
			j.warnf("Cache %s not found", key)
		}
		if !restored {
			j.printf("No cache restored for %s\n", c.Key)
		}
	}
	return nil
}

// extractCache fetches the archive of key into a temporary file and
// extracts it into the project directory, bounded like artifacts.
func (j *job) extractCache(ctx context.Context, key string) (bool, error) {
	tmp, err := os.CreateTemp(j.tmpDir, "cache-*.zip")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	err = j.r.cache.get(ctx, j.cacheName(key), tmp)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, errCacheMiss) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := extractZip(tmp.Name(), j.projectDir, j.r.cfg.MaxExtractSize); err != nil {
		return false, err
	}
	return true, nil
}

// archiveCache stores each pushed cache whose when matches outcome
// ("on_success" or "on_failure") under its key. Failures are warnings.
func (j *job) archiveCache(ctx context.Context, outcome string) {
	for _, c := range j.p.Cache {
		when := cmpOr(c.When, "on_success")
		if when != outcome && when != "always" {
			continue
		}
		policy, err := j.cachePolicy(c)
		if err != nil {
			j.warnf("%v; cache not saved", err)
			continue
		}
		if policy == "pull" {
			j.printf("Not uploading cache %s due to policy\n", c.Key)
			continue
		}
		key, err := j.cacheKey(c.Key)
		if err != nil {
			j.warnf("%v; cache not saved", err)
			continue
		}
		j.printf("Creating cache %s...\n", key)
		if err := j.saveCache(ctx, key, c); err != nil {
			if ctx.Err() != nil {
				return
			}
			j.warnf("Failed to create cache %s: %v", key, err)
			continue
		}
	}
}

func (j *job) saveCache(ctx context.Context, key string, c jobCache) error {
	files, err := j.collectFiles(ctx, j.projectDir, jobArtifact{Paths: c.Paths, Untracked: c.Untracked})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		j.warnf("No files to cache for %s", key)
		return nil
	}
	for _, f := range files {
		j.printf("%s: found\n", f)
	}
	tmp, err := os.CreateTemp(j.tmpDir, "cache-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	werr := writeZip(tmp, j.projectDir, files)
	size, _ := tmp.Seek(0, io.SeekCurrent)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	if limit := j.r.cfg.MaxCacheArchiveSize; limit > 0 && size > limit {
		return fmt.Errorf("the archive is %d bytes, more than the %d allowed (--cache-max-archive-size)", size, limit)
	}
	name := j.cacheName(key)
	if err := j.r.cache.put(ctx, name, tmp.Name(), size); err != nil {
		return err
	}
	j.printf("Created cache %s (%d bytes) at %s\n", key, size, j.r.cache.describe(name))
	return nil
}
