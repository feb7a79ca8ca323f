// Package runner is Baton's own CI runner: a shell executor that speaks only
// the GitLab runner HTTP protocol, so it works against Baton or against any
// GitLab-compatible coordinator. It imports nothing of Baton's.
//
// # What it does
//
// A [Runner] polls POST /api/v4/jobs/request with its runner token (header
// RUNNER-TOKEN and body "token"), echoing X-GitLab-Last-Update back as
// "last_update". It keeps at most Config.Concurrency jobs running and polls
// only while a slot is free: right away after a 201 or after a 204 whose
// X-GitLab-Last-Update is new (the queue changed; the coordinator holds the
// next request), after PollInterval after any other 204, with growing
// back-off, at most 5 s, after 403, 5xx or network errors.
//
// For every job it
//
//   - acknowledges with PUT /api/v4/jobs/:id state=running (two-phase commit);
//   - fetches the sources with the real git (GIT_STRATEGY clone, fetch, none or
//     empty; GIT_DEPTH; GIT_CHECKOUT; GIT_CLEAN_FLAGS; GIT_FETCH_EXTRA_FLAGS),
//     authenticating as gitlab-ci-token with the job token via an
//     http.extraHeader passed in the environment, never on the command line;
//   - downloads the artifacts of its dependencies and extracts them into the
//     project directory, refusing entries that would escape it (.., absolute
//     names, NUL bytes, symlinks pointing outside, writes through symlinks);
//   - runs every step with bash in its own process group: the "script" step
//     (before_script and script, echoed as "$ cmd" in green, under
//     set -eo pipefail), then after_script in a separate shell whose failure
//     never fails the job. Timeouts (runner_info.timeout, per-step timeout)
//     terminate the whole group with SIGTERM, then SIGKILL after a grace;
//   - masks the job token, masked variables and tokens starting with one of
//     features.token_mask_prefixes (e.g. glpat-) in the trace;
//   - streams the trace with PATCH /api/v4/jobs/:id/trace
//     (Content-Range "start-end", inclusive end, at most 1 MiB per request),
//     resuming at the server's offset on 416, aborting on 403, and honouring
//     Job-Status: canceling (graceful cancel: SIGTERM to the script, after_script
//     still runs) and X-GitLab-Trace-Update-Interval;
//   - restores the job's caches (cache:) after fetching the sources, the first
//     of key, fallback_keys and CACHE_FALLBACK_KEY found, and saves them after
//     the script by policy and when, in Config.CacheDir or an S3-compatible
//     bucket (Config.CacheS3, like gitlab-runner's [runners.cache.s3]);
//   - uploads artifacts matching the outcome (zip archives streamed as a chunked
//     multipart body, gzip and raw reports such as dotenv or junit);
//   - sends the final PUT with state, failure_reason, exit_code and the trace
//     checksum "crc32:%08x" and byte size, retried until the coordinator
//     answers 200.
//
// Cancelling the context given to [Runner.Run] cancels running jobs gracefully
// (after_script runs, final updates are sent) and returns once they are done.
//
// # What it does not do
//
// No services, images, web terminals, secrets providers, git
// submodules or LFS, step-runner "run" payloads, or log timestamps
// (FF_USE_TIMESTAMPS): the trace is plain ANSI text with GitLab's section
// markers. Job hooks (pre/post_get_sources_script) are ignored.
//
// Job variables reach bash as environment variables; values of non-raw
// variables have $VAR and ${VAR} references expanded once, as gitlab-runner does.
//
// # Using it
//
//	tok, err := runner.Register(ctx, "http://127.0.0.1:8080", "glrt-…", runner.RegisterOptions{})
//	r, err := runner.New(runner.Config{URL: "http://127.0.0.1:8080", Token: tok, Concurrency: 2})
//	err = r.Run(ctx)
package runner
