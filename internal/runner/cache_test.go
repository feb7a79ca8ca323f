package runner

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/tests3"
	"github.com/minio/minio-go/v7"
)

// cacheJob is a job whose script reports whether vendor/lib.txt came from
// a cache (HIT) or had to be built (MISS, then it builds it), in a build
// directory emptied first (GIT_STRATEGY=empty) so only a cache can bring
// the file back.
func cacheJob(id int, caches []map[string]any, vars map[string]string, exit int) map[string]any {
	script := []string{
		`if [ -f vendor/lib.txt ]; then echo "HIT $(cat vendor/lib.txt)"; else echo MISS; mkdir -p vendor; echo built-by-` + strconv.Itoa(id) + ` > vendor/lib.txt; fi`,
		"exit " + strconv.Itoa(exit),
	}
	p := payload(id, script, map[string]any{"cache": caches})
	p["variables"] = []map[string]any{{"key": "GIT_STRATEGY", "value": "empty", "public": true}, {"key": "CI_JOB_NAME", "value": "build", "public": true}}
	for k, v := range vars {
		addVar(p, map[string]any{"key": k, "value": v, "public": true})
	}
	return p
}

func vendorCache(key string, extra map[string]any) map[string]any {
	c := map[string]any{"key": key, "paths": []string{"vendor/"}, "policy": "pull-push", "when": "on_success", "untracked": false}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// runCacheJobs runs the jobs one after another on one runner and returns
// their traces.
func runCacheJobs(t *testing.T, configure func(r *Runner), jobs ...map[string]any) []string {
	t.Helper()
	f := newFakeCoordinator(t)
	r := newTestRunner(t, f, 1)
	configure(r)
	startRunner(t, r)
	var traces []string
	for _, p := range jobs {
		j := f.enqueue(p)
		tr, _, _ := waitFinal(t, f, j)
		traces = append(traces, tr)
	}
	return traces
}

func localCacheIn(dir string) func(r *Runner) {
	return func(r *Runner) { r.cfg.CacheDir = dir; r.cache = localCache{dir: dir} }
}

// cacheScenario is the sequence both stores must get right.
func cacheScenario(t *testing.T, configure func(r *Runner)) []string {
	return runCacheJobs(t, configure,
		// 10: nothing cached yet; builds and saves deps-build.
		cacheJob(10, []map[string]any{vendorCache("deps-$CI_JOB_NAME", nil)}, nil, 0),
		// 11: the same key: restored, no build.
		cacheJob(11, []map[string]any{vendorCache("deps-build", nil)}, nil, 0),
		// 12: a new key falls back to deps-build; policy pull saves nothing.
		cacheJob(12, []map[string]any{vendorCache("fresh", map[string]any{"fallback_keys": []string{"missing", "deps-build"}, "policy": "pull"})}, nil, 0),
		// 13: fresh was not saved by 12, and CACHE_FALLBACK_KEY reaches deps-build.
		cacheJob(13, []map[string]any{vendorCache("fresh", map[string]any{"policy": "pull"})}, map[string]string{"CACHE_FALLBACK_KEY": "deps-build"}, 0),
		// 14: push never restores; a failed job saves only when: on_failure/always caches.
		cacheJob(14, []map[string]any{
			vendorCache("deps-build", map[string]any{"policy": "push", "when": "on_success"}),
			vendorCache("failures", map[string]any{"when": "on_failure"}),
		}, nil, 1),
		// 15: the on_failure cache was saved; deps-build still holds 10's build (14 failed).
		cacheJob(15, []map[string]any{vendorCache("failures", map[string]any{"policy": "pull"})}, nil, 0),
		cacheJob(16, []map[string]any{vendorCache("deps-build", map[string]any{"policy": "pull"})}, nil, 0),
		// 17: keys that would leave the cache are refused, not used.
		cacheJob(17, []map[string]any{vendorCache("$EVIL", nil)}, map[string]string{"EVIL": "../../escape"}, 0),
	)
}

func checkCacheScenario(t *testing.T, traces []string) {
	t.Helper()
	want := []string{"MISS", "HIT built-by-10", "HIT built-by-10", "HIT built-by-10", "MISS", "HIT built-by-14", "HIT built-by-10", "MISS"}
	for i, w := range want {
		if !strings.Contains(traces[i], "\n"+w) && !strings.Contains(traces[i], w+"\n") {
			t.Errorf("job %d: want %q in its output:\n%s", 10+i, w, traces[i])
		}
	}
	if !strings.Contains(traces[0], "Creating cache deps-build...") || !strings.Contains(traces[0], "archive_cache") {
		t.Errorf("job 10 saved no cache:\n%s", traces[0])
	}
	if !strings.Contains(traces[2], "Not uploading cache fresh due to policy") || !strings.Contains(traces[2], "Checking cache for missing...") {
		t.Errorf("job 12:\n%s", traces[2])
	}
	if !strings.Contains(traces[4], "Not downloading cache deps-build due to policy") || !strings.Contains(traces[4], "archive_cache_on_failure") ||
		strings.Contains(traces[4], "Creating cache deps-build") {
		t.Errorf("job 14:\n%s", traces[4])
	}
	if !strings.Contains(traces[7], `the cache key "../../escape" is not allowed`) {
		t.Errorf("job 17:\n%s", traces[7])
	}
}

func TestCacheLocal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	traces := cacheScenario(t, localCacheIn(dir))
	checkCacheScenario(t, traces)
	for _, key := range []string{"deps-build", "failures"} {
		if _, err := os.Stat(filepath.Join(dir, "project", "1", key, "cache.zip")); err != nil {
			t.Errorf("cache %s: %v", key, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "project", "1", "fresh")); err == nil {
		t.Error("a pull-only cache was saved")
	}
	// Nothing was written outside the cache directory.
	entries, _ := os.ReadDir(filepath.Dir(dir))
	if len(entries) != 1 {
		t.Errorf("next to the cache dir: %v", entries)
	}
}

// TestCacheS3: the same scenario against a real S3 server (versitygw),
// objects named like gitlab-runner's: <path>/runner/<short token>/project/<id>/<key>
// unless shared.
func TestCacheS3(t *testing.T) {
	b := tests3.Server(t)
	for _, shared := range []bool{false, true} {
		cfg := &CacheS3{ServerAddress: b.Endpoint, AccessKey: b.AccessKey, SecretKey: b.SecretKey, BucketName: b.Bucket,
			BucketLocation: b.Region, Insecure: !b.UseSSL, Path: "ci-cache/", Shared: shared}
		var prefix string
		traces := cacheScenario(t, func(r *Runner) {
			r.cfg.CacheS3 = cfg
			c, err := newS3Cache(cfg)
			if err != nil {
				t.Fatal(err)
			}
			r.cache = c
			prefix = "ci-cache/project/1/"
			if !shared {
				prefix = "ci-cache/runner/" + shortToken(r.cfg.Token) + "/project/1/"
			}
		})
		checkCacheScenario(t, traces)
		var names []string
		for obj := range b.Client(t).ListObjects(context.Background(), b.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			names = append(names, strings.TrimPrefix(obj.Key, prefix))
		}
		if strings.Join(names, ",") != "deps-build/cache.zip,failures/cache.zip" {
			t.Errorf("shared=%v: objects under %s: %v", shared, prefix, names)
		}
		// The second round starts from an empty bucket path.
		for _, n := range names {
			_ = b.Client(t).RemoveObject(context.Background(), b.Bucket, prefix+n, minio.RemoveObjectOptions{})
		}
	}
}

// Jobs of one runner that run at once and share a cache key save it at
// the same moment: the local cache keeps one of their archives whole,
// never a mix of both.
func TestLocalCacheConcurrentSaves(t *testing.T) {
	dir := t.TempDir()
	l := localCache{dir: dir}
	const writers, size = 4, 4 << 20
	var srcs [writers][]byte
	for i := range writers {
		srcs[i] = []byte(strings.Repeat(strconv.Itoa(i), size))
	}
	for round := range 10 {
		name := "project/1/key" + strconv.Itoa(round)
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for i := range writers {
			src := filepath.Join(t.TempDir(), "cache.zip")
			if err := os.WriteFile(src, srcs[i], 0o600); err != nil {
				t.Fatal(err)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- l.put(context.Background(), name, src, size)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: put: %v", round, err)
			}
		}
		got, err := os.ReadFile(l.file(name))
		if err != nil {
			t.Fatal(err)
		}
		whole := false
		for _, s := range srcs {
			whole = whole || bytes.Equal(got, s)
		}
		if !whole {
			t.Fatalf("round %d: the stored archive (%d bytes) is none of the saved ones", round, len(got))
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(l.file(name)), "*.tmp*")); len(left) != 0 {
			t.Fatalf("round %d: temporary files left: %v", round, left)
		}
	}
}
