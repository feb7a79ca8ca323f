package runner

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"time"
)

// ProtocolVersion is the gitlab-runner release whose protocol this runner
// implements; it is reported as info.version so coordinators enable the same features.
const ProtocolVersion = "19.4.0"

// client sends requests to the coordinator's API and retries them like gitlab-runner.
type client struct {
	base       *url.URL // ends in /api/v4/
	http       *http.Client
	log        *slog.Logger
	attempts   int           // HTTP-level attempts for retryable statuses
	backoff    time.Duration // first retry wait
	maxBackoff time.Duration
	// Between tries of an artifact upload: doubling from uploadBackoff up
	// to uploadMaxBackoff (gitlab-runner: 1 s to 5 s).
	uploadBackoff, uploadMaxBackoff time.Duration
}

func newClient(base *url.URL, hc *http.Client, log *slog.Logger) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 10 * time.Minute
	c := &http.Client{Timeout: 60 * time.Minute, Transport: tr}
	if hc != nil {
		cp := *hc
		c = &cp
	}
	// Redirects are followed explicitly where the protocol wants them.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &client{base: base, http: c, log: log, attempts: 5, backoff: 100 * time.Millisecond, maxBackoff: 60 * time.Second,
		uploadBackoff: time.Second, uploadMaxBackoff: 5 * time.Second}
}

// apiRequest is one API call. body is called once per attempt, so a streamed
// body is regenerated for every retry.
type apiRequest struct {
	method string
	path   string // relative to the API base, may carry a query
	header http.Header
	body   func() (io.Reader, error)
}

// jsonBody returns a body function that marshals v once and replays it.
func jsonBody(v any) (func() (io.Reader, error), error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	return func() (io.Reader, error) { return bytes.NewReader(b), nil }, nil
}

// retryable reports the statuses gitlab-runner retries at the HTTP level.
func retryable(code int) bool {
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return code >= 512
}

// do sends req, retrying network errors and retryable statuses. The caller
// must close the returned response's body.
func (c *client) do(ctx context.Context, req apiRequest) (*http.Response, error) {
	u, err := c.base.Parse(req.path)
	if err != nil {
		return nil, fmt.Errorf("building url for %s: %w", req.path, err)
	}
	return c.doURL(ctx, u.String(), req)
}

// doURL is do for an absolute URL.
func (c *client) doURL(ctx context.Context, target string, req apiRequest) (*http.Response, error) {
	reqID := requestID()
	var lastErr error
	for attempt := 1; ; attempt++ {
		var body io.Reader
		if req.body != nil {
			b, err := req.body()
			if err != nil {
				return nil, fmt.Errorf("preparing body: %w", err)
			}
			body = b
		}
		hr, err := http.NewRequestWithContext(ctx, req.method, target, body)
		if err != nil {
			return nil, fmt.Errorf("building request: %w", err)
		}
		for k, vs := range req.header {
			hr.Header[k] = vs
		}
		hr.Header.Set("User-Agent", userAgent())
		hr.Header.Set("X-Request-Id", reqID)
		resp, err := c.http.Do(hr)
		wait := c.wait(attempt, nil)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", req.method, req.path, ctx.Err())
			}
			lastErr = fmt.Errorf("%s %s: %w", req.method, hr.URL.Path, err)
		case retryable(resp.StatusCode) && attempt < c.attempts:
			wait = c.wait(attempt, resp)
			lastErr = fmt.Errorf("%s %s: status %d", req.method, hr.URL.Path, resp.StatusCode)
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		default:
			return resp, nil
		}
		if attempt >= c.attempts {
			return nil, lastErr
		}
		c.log.Debug("retrying request", "error", lastErr, "wait", wait)
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.method, req.path, err)
		}
	}
}

// wait computes the pause before the next attempt from Retry-After,
// RateLimit-ResetTime or exponential back-off with jitter.
func (c *client) wait(attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			return min(time.Duration(s)*time.Second, c.maxBackoff)
		}
		if t, err := http.ParseTime(resp.Header.Get("RateLimit-ResetTime")); err == nil {
			return min(max(time.Until(t), 0), c.maxBackoff)
		}
	}
	d := c.backoff << (attempt - 1)
	if d <= 0 || d > c.maxBackoff {
		d = c.maxBackoff
	}
	return d/2 + mrand.N(d/2+1)
}

// uploadWait is the pause after the attempt-th failed try of an upload.
func (c *client) uploadWait(attempt int) time.Duration {
	d := c.uploadBackoff << (attempt - 1)
	if d <= 0 || d > c.uploadMaxBackoff {
		d = c.uploadMaxBackoff
	}
	return d
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// decodeJSON decodes a JSON response body, requiring an application/json content type.
func decodeJSON(resp *http.Response, v any) error {
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return fmt.Errorf("response content type %q is not application/json", resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decoding response: %w", err)
	}
	return nil
}

// errorMessage reads a short error text from a failed response for the log.
func errorMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	var m struct {
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(b, &m) == nil && len(m.Message) > 0 {
		var s string
		if json.Unmarshal(m.Message, &s) == nil {
			return s
		}
		return string(m.Message)
	}
	return string(bytes.TrimSpace(b))
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func userAgent() string {
	return fmt.Sprintf("baton-runner %s (baton; %s; %s/%s)", ProtocolVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// info is the runner description sent on register, verify, jobs/request and every PUT.
type info struct {
	Name         string            `json:"name,omitempty"`
	Version      string            `json:"version,omitempty"`
	Revision     string            `json:"revision,omitempty"`
	Platform     string            `json:"platform,omitempty"`
	Architecture string            `json:"architecture,omitempty"`
	Executor     string            `json:"executor,omitempty"`
	Shell        string            `json:"shell,omitempty"`
	Features     map[string]bool   `json:"features"`
	Config       map[string]string `json:"config,omitempty"`
}

// features lists every key gitlab-runner sends. True means this runner
// implements it; image/services/session/terminal/secrets are not.
func features() map[string]bool {
	f := map[string]bool{}
	for _, k := range []string{"variables", "artifacts", "shared", "upload_multiple_artifacts",
		"upload_raw_artifacts", "refspecs", "masking", "raw_variables", "artifacts_exclude",
		"multi_build_steps", "trace_reset", "trace_checksum", "trace_size", "cancelable",
		"return_exit_code", "cancel_gracefully", "two_phase_job_commit", "cache", "fallback_cache_keys"} {
		f[k] = true
	}
	for _, k := range []string{"image", "services", "session",
		"terminal", "proxy", "vault_secrets", "service_variables", "service_multiple_aliases",
		"image_executor_opts", "service_executor_opts", "native_steps_integration", "job_inputs"} {
		f[k] = false
	}
	return f
}

func (r *Runner) info() info {
	return info{
		Name: r.cfg.Name, Version: ProtocolVersion, Revision: "baton",
		Platform: runtime.GOOS, Architecture: runtime.GOARCH,
		Executor: "shell", Shell: r.cfg.Shell, Features: features(),
	}
}
