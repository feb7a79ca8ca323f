package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// scope says which archive a command reads: a project and one of a
// pipeline, a commit, a ref (with a job name) or a job id.
type scope struct {
	project, pipeline, commit, ref, job, artifact string
	wait                                          time.Duration
}

func (s *scope) bind(fs *flag.FlagSet) {
	fs.StringVar(&s.project, "project", "", "project path (group/app) or id (default: the job's CI_PROJECT_ID)")
	fs.StringVar(&s.pipeline, "pipeline", "", "pipeline id (default inside a job: CI_PIPELINE_ID)")
	fs.StringVar(&s.commit, "commit", "", "commit SHA (full, or a unique prefix of at least 7)")
	fs.StringVar(&s.ref, "ref", "", "branch or tag: its latest successful pipeline")
	fs.StringVar(&s.job, "job", "", "job name (with --pipeline, --commit, --ref), or a job id alone")
	fs.StringVar(&s.artifact, "artifact", "", "a published artifact's name instead of the job's archive")
	fs.DurationVar(&s.wait, "wait", 0, "wait this long for the job to upload it (e.g. 30s, 10m)")
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// complete fills the defaults a job's CI_* variables give and checks that
// exactly one scope is named.
func (s *scope) complete(env Env) error {
	if s.project == "" {
		s.project = env.Getenv("CI_PROJECT_ID")
	}
	if s.project == "" {
		return exitf(ExitUsage, "name the project: --project group/app (or its id)")
	}
	n := 0
	for _, v := range []string{s.pipeline, s.commit, s.ref} {
		if v != "" {
			n++
		}
	}
	if n > 1 {
		return exitf(ExitUsage, "give only one of --pipeline, --commit, --ref")
	}
	if n == 0 && !digits.MatchString(s.job) {
		s.pipeline = env.Getenv("CI_PIPELINE_ID")
		if s.pipeline == "" {
			return exitf(ExitUsage, "name a --pipeline, --commit or --ref with --job NAME, or a job id with --job ID")
		}
	}
	if s.pipeline != "" && !digits.MatchString(s.pipeline) {
		return exitf(ExitUsage, "--pipeline %q is not a pipeline id", s.pipeline)
	}
	if s.job == "" {
		return exitf(ExitUsage, "name the job: --job NAME (or --job ID)")
	}
	if s.wait < 0 {
		return exitf(ExitUsage, "--wait must not be negative")
	}
	return nil
}

// byJobID reports whether the scope is one job by id.
func (s *scope) byJobID() bool { return s.pipeline == "" && s.commit == "" && s.ref == "" }

// kind is what of an archive a request reads.
type kind int

const (
	kindArchive kind = iota
	kindRaw
	kindManifest
)

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// path is the API path and query for k (file is the raw file's path),
// waiting up to waitSecs seconds server-side.
func (s *scope) path(k kind, file string, waitSecs int) (string, error) {
	base := "/api/v4/projects/" + projectRef(s.project)
	q := url.Values{}
	if s.artifact != "" {
		q.Set("artifact", s.artifact)
	}
	if waitSecs > 0 {
		q.Set("wait", strconv.Itoa(waitSecs))
	}
	var p string
	switch {
	case s.byJobID():
		p = base + "/jobs/" + s.job + "/artifacts"
		switch k {
		case kindRaw:
			p += "/" + escapePath(file)
		case kindManifest:
			p += "/manifest"
		}
	case s.ref != "":
		q.Set("job", s.job)
		p = base + "/jobs/artifacts/" + escapePath(s.ref)
		switch k {
		case kindArchive:
			p += "/download"
		case kindRaw:
			p += "/raw/" + escapePath(file)
		case kindManifest:
			return "", fmt.Errorf("the ref scope has no manifest route") // resolved to the job first
		}
	default:
		q.Set("job", s.job)
		if s.pipeline != "" {
			p = base + "/pipelines/" + s.pipeline + "/artifacts"
		} else {
			p = base + "/repository/commits/" + url.PathEscape(s.commit) + "/artifacts"
		}
		switch k {
		case kindRaw:
			p += "/raw/" + escapePath(file)
		case kindManifest:
			p += "/manifest"
		}
	}
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p, nil
}

// maxServerWait is the longest wait= the server takes in one request.
const maxServerWait = 300 * time.Second

var pendingStatus = regexp.MustCompile(`yet \(status: ([a-z_]+)\)`)

// waitable reports whether err is the server saying that the job has no
// artifact yet but may still get one.
func waitable(err error) bool {
	he := asHTTP(err)
	if he == nil {
		return false
	}
	if he.Status == http.StatusTooManyRequests {
		return true
	}
	if he.Status != http.StatusNotFound {
		return false
	}
	m := pendingStatus.FindStringSubmatch(he.Message)
	if m == nil {
		return false
	}
	switch m[1] {
	case "success", "failed", "canceled", "skipped", "manual":
		return false
	}
	return true
}

// withWait sends the request build makes, holding it server-side up to
// s.wait in total (several requests when longer than the server's
// maximum). When the time passes with the job still running it is
// ExitTimeout.
func (s *scope) withWait(ctx context.Context, c *client, build func(waitSecs int) (*http.Request, error)) (*http.Response, error) {
	deadline := time.Now().Add(s.wait)
	for {
		left := time.Until(deadline)
		secs := 0
		if s.wait > 0 && left > 0 {
			secs = int((min(left, maxServerWait) + time.Second - 1) / time.Second)
		}
		req, err := build(secs)
		if err != nil {
			return nil, err
		}
		resp, err := c.do(req)
		if err == nil {
			return resp, nil
		}
		if s.wait <= 0 || !waitable(err) {
			return nil, err
		}
		if time.Until(deadline) <= 0 {
			return nil, &ExitError{Code: ExitTimeout, Err: fmt.Errorf("gave up after --wait %s: %w", s.wait, err)}
		}
		pause := 200 * time.Millisecond
		if he := asHTTP(err); he != nil && he.RetryAfter > 0 {
			pause = he.RetryAfter
		}
		select {
		case <-ctx.Done():
			return nil, exitf(ExitTimeout, "interrupted while waiting: %v", ctx.Err())
		case <-time.After(min(pause, max(time.Until(deadline), 0))):
		}
	}
}

// asHTTP is err's server answer, if it is one.
func asHTTP(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	return nil
}
