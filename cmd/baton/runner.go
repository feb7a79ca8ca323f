package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/batonci/baton/internal/runner"
)

// runnerFlags are `baton runner`'s flags.
type runnerFlags struct {
	url, token, buildsDir, name, tags, cacheDir string
	concurrency                                 int
	untagged                                    bool
	maxExtract, maxCache                        int64 // MiB; -1: no limit
	s3                                          runner.CacheS3
}

// bind registers the flags on fs, with defaults from BATON_RUNNER_*.
func (o *runnerFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", envOr("BATON_RUNNER_URL", ""), "coordinator URL, e.g. http://baton.example:8080 ($BATON_RUNNER_URL)")
	fs.StringVar(&o.token, "token", envOr("BATON_RUNNER_TOKEN", ""), "runner token (glrt-...) or registration token ($BATON_RUNNER_TOKEN)")
	fs.StringVar(&o.buildsDir, "builds-dir", envOr("BATON_RUNNER_BUILDS_DIR", "builds"), "where jobs check out and run ($BATON_RUNNER_BUILDS_DIR)")
	fs.IntVar(&o.concurrency, "concurrency", 1, "jobs run at once")
	fs.StringVar(&o.name, "name", "baton-runner", "runner name reported to the coordinator")
	fs.StringVar(&o.tags, "tags", "", "comma-separated tags (registration tokens only)")
	fs.BoolVar(&o.untagged, "run-untagged", true, "take untagged jobs (registration tokens only)")
	fs.Int64Var(&o.maxExtract, "max-extract-size", envInt("BATON_RUNNER_MAX_EXTRACT_SIZE", runner.DefaultMaxExtractSize>>20),
		"most MiB one dependency's artifacts archive may extract to; larger or overlapping archives fail the job (-1: no limit) ($BATON_RUNNER_MAX_EXTRACT_SIZE)")
	fs.StringVar(&o.cacheDir, "cache-dir", envOr("BATON_RUNNER_CACHE_DIR", "cache"), "where job caches (cache:) are kept when no S3 cache is set ($BATON_RUNNER_CACHE_DIR)")
	fs.Int64Var(&o.maxCache, "cache-max-archive-size", envInt("BATON_RUNNER_CACHE_MAX_ARCHIVE_SIZE", runner.DefaultMaxCacheArchiveSize>>20),
		"most MiB one cache archive may have; larger caches are not saved (-1: no limit) ($BATON_RUNNER_CACHE_MAX_ARCHIVE_SIZE)")
	s3 := &o.s3
	fs.StringVar(&s3.ServerAddress, "cache-s3-server-address", envOr("BATON_RUNNER_CACHE_S3_SERVER_ADDRESS", ""), "S3-compatible shared cache: host:port; set to use S3 instead of --cache-dir ($BATON_RUNNER_CACHE_S3_SERVER_ADDRESS)")
	fs.StringVar(&s3.AccessKey, "cache-s3-access-key", envOr("BATON_RUNNER_CACHE_S3_ACCESS_KEY", ""), "S3 cache access key ($BATON_RUNNER_CACHE_S3_ACCESS_KEY)")
	fs.StringVar(&s3.SecretKey, "cache-s3-secret-key", envOr("BATON_RUNNER_CACHE_S3_SECRET_KEY", ""), "S3 cache secret key ($BATON_RUNNER_CACHE_S3_SECRET_KEY)")
	fs.StringVar(&s3.BucketName, "cache-s3-bucket-name", envOr("BATON_RUNNER_CACHE_S3_BUCKET_NAME", ""), "S3 cache bucket ($BATON_RUNNER_CACHE_S3_BUCKET_NAME)")
	fs.StringVar(&s3.BucketLocation, "cache-s3-bucket-location", envOr("BATON_RUNNER_CACHE_S3_BUCKET_LOCATION", "us-east-1"), "S3 cache region ($BATON_RUNNER_CACHE_S3_BUCKET_LOCATION)")
	fs.BoolVar(&s3.Insecure, "cache-s3-insecure", envOr("BATON_RUNNER_CACHE_S3_INSECURE", "") == "true", "use http for the S3 cache ($BATON_RUNNER_CACHE_S3_INSECURE)")
	fs.StringVar(&s3.Path, "cache-path", envOr("BATON_RUNNER_CACHE_PATH", ""), "prefix of the S3 cache's object names ($BATON_RUNNER_CACHE_PATH)")
	fs.BoolVar(&s3.Shared, "cache-shared", envOr("BATON_RUNNER_CACHE_SHARED", "") == "true", "share the S3 cache between runners ($BATON_RUNNER_CACHE_SHARED)")
}

// runRunner is `baton runner`: Baton's runner for any GitLab-compatible coordinator.
func runRunner(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("baton runner", flag.ContinueOnError)
	var o runnerFlags
	o.bind(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if o.url == "" || o.token == "" {
		return fmt.Errorf("baton runner needs --url and --token")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var tagList []string
	if o.tags != "" {
		tagList = strings.Split(o.tags, ",")
	}
	authToken, err := runner.Register(ctx, o.url, o.token, runner.RegisterOptions{Description: o.name, Tags: tagList, RunUntagged: o.untagged})
	if err != nil {
		return fmt.Errorf("registering with %s: %w", o.url, err)
	}
	if o.maxExtract > 0 {
		o.maxExtract <<= 20
	}
	if o.maxCache > 0 {
		o.maxCache <<= 20
	}
	var cacheS3 *runner.CacheS3
	if o.s3.ServerAddress != "" {
		cacheS3 = &o.s3
	}
	r, err := runner.New(runner.Config{URL: o.url, Token: authToken, BuildsDir: o.buildsDir, Concurrency: o.concurrency, Name: o.name, Logger: log,
		MaxExtractSize: o.maxExtract, CacheDir: o.cacheDir, CacheS3: cacheS3, MaxCacheArchiveSize: o.maxCache})
	if err != nil {
		return err
	}
	log.Info("runner started", "url", o.url, "concurrency", o.concurrency)
	return r.Run(ctx)
}

// envInt is the integer in environment variable key, or def when unset or
// not an integer.
func envInt(key string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(key), 10, 64); err == nil {
		return v
	}
	return def
}
