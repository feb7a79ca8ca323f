package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultTransport is tuned for large downloads: big read buffers, no
// transparent gzip (artifacts are served as they are stored).
func defaultTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ReadBufferSize = 256 << 10
	t.WriteBufferSize = 256 << 10
	t.DisableCompression = true
	return t
}

// checkRedirect follows up to 10 redirects, and never sends a token to
// another host (Baton redirects archive downloads to signed object-store
// URLs, which need none): net/http drops Authorization there, but not
// JOB-TOKEN or PRIVATE-TOKEN.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		for _, k := range []string{"JOB-TOKEN", "PRIVATE-TOKEN", "Authorization"} {
			req.Header.Del(k)
		}
	}
	return nil
}

// client sends API requests with the resolved credentials.
type client struct {
	cr  *creds
	env Env
}

func newClient(cr *creds, env Env) *client { return &client{cr: cr, env: env} }

// request builds a request to path (starting with /api/v4) on the server.
func (c *client) request(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.cr.base+path, body)
	if err != nil {
		return nil, exitf(ExitUsage, "%v", err)
	}
	switch {
	case c.cr.token == "":
	case c.cr.job:
		req.Header.Set("JOB-TOKEN", c.cr.token)
	default:
		// Personal tokens, and job tokens given by hand: Baton (as GitLab)
		// takes both as a bearer token.
		req.Header.Set("Authorization", "Bearer "+c.cr.token)
	}
	req.Header.Set("User-Agent", "baton-cli")
	return req, nil
}

// do sends req and turns an error status into an ExitError with the
// server's message; the caller closes the body of a 2xx/3xx response.
func (c *client) do(req *http.Request) (*http.Response, error) {
	resp, err := c.env.HTTP.Do(req)
	if err != nil {
		if ctxErr := req.Context().Err(); ctxErr != nil {
			return nil, exitf(ExitServer, "%s %s: %v", req.Method, redact(req.URL), ctxErr)
		}
		return nil, exitf(ExitServer, "%s %s: %v", req.Method, redact(req.URL), err)
	}
	if resp.StatusCode < 400 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, statusError(req, resp)
}

// httpError is an error answer of the server.
type httpError struct {
	Status     int
	Message    string
	RetryAfter time.Duration
}

func (e *httpError) Error() string { return e.Message }

// statusError reads an error answer: GitLab's {"message": ...} or
// {"error": ...}, else the body's first line.
func statusError(req *http.Request, resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := strings.TrimSpace(string(data))
	var j struct {
		Message any    `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(data, &j) == nil {
		switch m := j.Message.(type) {
		case string:
			msg = m
		case nil:
			if j.Error != "" {
				msg = j.Error
			}
		default:
			b, _ := json.Marshal(m)
			msg = string(b)
		}
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	if msg == "" {
		msg = resp.Status
	}
	he := &httpError{Status: resp.StatusCode, Message: msg}
	if s := resp.Header.Get("Retry-After"); s != "" {
		var secs int
		if _, err := fmt.Sscan(s, &secs); err == nil {
			he.RetryAfter = time.Duration(secs) * time.Second
		}
	}
	code := ExitUsage
	switch {
	case resp.StatusCode == http.StatusNotFound:
		code = ExitNotFound
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		code = ExitAuth
	case resp.StatusCode == http.StatusConflict:
		code = ExitConflict
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		code = ExitServer
	}
	return &ExitError{Code: code, Err: fmt.Errorf("%s %s: %d: %w", req.Method, redact(req.URL), resp.StatusCode, he)}
}

// redact drops token parameters from a URL before it is printed.
func redact(u *url.URL) string {
	c := *u
	q := c.Query()
	for _, k := range []string{"private_token", "job_token", "sig"} {
		if q.Has(k) {
			q.Set(k, "REDACTED")
		}
	}
	c.RawQuery = q.Encode()
	return c.String()
}

// getJSON GETs path and decodes the JSON answer into out.
func (c *client) getJSON(ctx context.Context, path string, out any) error {
	req, err := c.request(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return exitf(ExitServer, "GET %s: decoding the answer: %v", path, err)
	}
	return nil
}

// isNetErr reports whether err is a transport failure (worth a resume).
func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// projectRef is a project as the API names it: an id, or its path escaped.
func projectRef(p string) string {
	return url.PathEscape(strings.Trim(p, "/"))
}
