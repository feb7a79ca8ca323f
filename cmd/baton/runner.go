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

// runRunner is `baton runner`: Baton's runner for any GitLab-compatible coordinator.
func runRunner(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("baton runner", flag.ContinueOnError)
	url := fs.String("url", envOr("BATON_RUNNER_URL", ""), "coordinator URL, e.g. http://baton.example:8080 ($BATON_RUNNER_URL)")
	token := fs.String("token", envOr("BATON_RUNNER_TOKEN", ""), "runner token (glrt-...) or registration token ($BATON_RUNNER_TOKEN)")
	buildsDir := fs.String("builds-dir", envOr("BATON_RUNNER_BUILDS_DIR", "builds"), "where jobs check out and run ($BATON_RUNNER_BUILDS_DIR)")
	concurrency := fs.Int("concurrency", 1, "jobs run at once")
	name := fs.String("name", "baton-runner", "runner name reported to the coordinator")
	tags := fs.String("tags", "", "comma-separated tags (registration tokens only)")
	untagged := fs.Bool("run-untagged", true, "take untagged jobs (registration tokens only)")
	maxExtract := fs.Int64("max-extract-size", envInt("BATON_RUNNER_MAX_EXTRACT_SIZE", runner.DefaultMaxExtractSize>>20),
		"most MiB one dependency's artifacts archive may extract to; larger or overlapping archives fail the job (-1: no limit) ($BATON_RUNNER_MAX_EXTRACT_SIZE)")
	cacheDir := fs.String("cache-dir", envOr("BATON_RUNNER_CACHE_DIR", "cache"), "where job caches (cache:) are kept when no S3 cache is set ($BATON_RUNNER_CACHE_DIR)")
	maxCache := fs.Int64("cache-max-archive-size", envInt("BATON_RUNNER_CACHE_MAX_ARCHIVE_SIZE", runner.DefaultMaxCacheArchiveSize>>20),
		"most MiB one cache archive may have; larger caches are not saved (-1: no limit) ($BATON_RUNNER_CACHE_MAX_ARCHIVE_SIZE)")
	s3 := runner.CacheS3{}
	fs.StringVar(&s3.ServerAddress, "cache-s3-server-address", envOr("BATON_RUNNER_CACHE_S3_SERVER_ADDRESS", ""), "S3-compatible shared cache: host:port; set to use S3 instead of --cache-dir ($BATON_RUNNER_CACHE_S3_SERVER_ADDRESS)")
	fs.StringVar(&s3.AccessKey, "cache-s3-access-key", envOr("BATON_RUNNER_CACHE_S3_ACCESS_KEY", ""), "S3 cache access key ($BATON_RUNNER_CACHE_S3_ACCESS_KEY)")
	fs.StringVar(&s3.SecretKey, "cache-s3-secret-key", envOr("BATON_RUNNER_CACHE_S3_SECRET_KEY", ""), "S3 cache secret key ($BATON_RUNNER_CACHE_S3_SECRET_KEY)")
	fs.StringVar(&s3.BucketName, "cache-s3-bucket-name", envOr("BATON_RUNNER_CACHE_S3_BUCKET_NAME", ""), "S3 cache bucket ($BATON_RUNNER_CACHE_S3_BUCKET_NAME)")
	fs.StringVar(&s3.BucketLocation, "cache-s3-bucket-location", envOr("BATON_RUNNER_CACHE_S3_BUCKET_LOCATION", "us-east-1"), "S3 cache region ($BATON_RUNNER_CACHE_S3_BUCKET_LOCATION)")
	fs.BoolVar(&s3.Insecure, "cache-s3-insecure", envOr("BATON_RUNNER_CACHE_S3_INSECURE", "") == "true", "use http for the S3 cache ($BATON_RUNNER_CACHE_S3_INSECURE)")
	fs.StringVar(&s3.Path, "cache-path", envOr("BATON_RUNNER_CACHE_PATH", ""), "prefix of the S3 cache's object names ($BATON_RUNNER_CACHE_PATH)")
	fs.BoolVar(&s3.Shared, "cache-shared", envOr("BATON_RUNNER_CACHE_SHARED", "") == "true", "share the S3 cache between runners ($BATON_RUNNER_CACHE_SHARED)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *url == "" || *token == "" {
		return fmt.Errorf("baton runner needs --url and --token")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var tagList []string
	if *tags != "" {
		tagList = strings.Split(*tags, ",")
	}
	authToken, err := runner.Register(ctx, *url, *token, runner.RegisterOptions{Description: *name, Tags: tagList, RunUntagged: *untagged})
	if err != nil {
		return fmt.Errorf("registering with %s: %w", *url, err)
	}
	if *maxExtract > 0 {
		*maxExtract <<= 20
	}
	if *maxCache > 0 {
		*maxCache <<= 20
	}
	var cacheS3 *runner.CacheS3
	if s3.ServerAddress != "" {
		cacheS3 = &s3
	}
	r, err := runner.New(runner.Config{URL: *url, Token: authToken, BuildsDir: *buildsDir, Concurrency: *concurrency, Name: *name, Logger: log,
		MaxExtractSize: *maxExtract, CacheDir: *cacheDir, CacheS3: cacheS3, MaxCacheArchiveSize: *maxCache})
	if err != nil {
		return err
	}
	log.Info("runner started", "url", *url, "concurrency", *concurrency)
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
