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
	r, err := runner.New(runner.Config{URL: *url, Token: authToken, BuildsDir: *buildsDir, Concurrency: *concurrency, Name: *name, Logger: log,
		MaxExtractSize: *maxExtract})
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
