package ciconfig

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for include:remote (flags --include-remote-max-bytes and
// --include-remote-timeout).
const (
	DefaultRemoteMaxBytes = 1 << 20
	DefaultRemoteTimeout  = 10 * time.Second
)

// RemoteTotalTimeout bounds all include:remote fetches of one pipeline
// together (GitLab's 30 s for resolving a configuration's includes).
const RemoteTotalTimeout = 30 * time.Second

// RemoteFetcher fetches include:remote files from the hosts an operator
// allows (--include-remote-allow); every other host is refused before any
// connection is made, redirects included.
type RemoteFetcher struct {
	Allow    []string      // host or host:port, compared case-insensitively
	MaxBytes int64         // a larger file is refused
	Timeout  time.Duration // for the whole request, redirects included
	Client   *http.Client  // nil is a plain client
}

func (f *RemoteFetcher) allowed(u *url.URL) bool {
	for _, a := range f.Allow {
		a = strings.ToLower(strings.TrimSpace(a))
		if a != "" && (a == strings.ToLower(u.Host) || a == strings.ToLower(u.Hostname())) {
			return true
		}
	}
	return false
}

func (f *RemoteFetcher) check(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("the address must be an http:// or https:// URL")
	}
	if u.User != nil {
		return nil, errors.New("the address must not contain credentials")
	}
	if !f.allowed(u) {
		return nil, fmt.Errorf("host %s is not allowed (--include-remote-allow)", u.Hostname())
	}
	return u, nil
}

// Fetch fetches raw within ctx (the pipeline's creation: a cancelled push
// or request stops it) and the fetcher's Timeout; bound to a ctx, it is a
// Sources.Remote.
func (f *RemoteFetcher) Fetch(ctx context.Context, raw string) ([]byte, error) {
	u, err := f.check(raw)
	if err != nil {
		return nil, err
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = DefaultRemoteTimeout
	}
	max := f.MaxBytes
	if max <= 0 {
		max = DefaultRemoteMaxBytes
	}
	base := f.Client
	if base == nil {
		base = &http.Client{}
	}
	client := *base
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("too many redirects")
		}
		_, err := f.check(req.URL.String())
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("a timeout error")
		}
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			return nil, ue.Err
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP code `%d` error", resp.StatusCode)
	}
	if resp.ContentLength > max {
		return nil, fmt.Errorf("the file is larger than %d bytes (--include-remote-max-bytes)", max)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, errors.New("a timeout error")
		}
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("the file is larger than %d bytes (--include-remote-max-bytes)", max)
	}
	return data, nil
}
