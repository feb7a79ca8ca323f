package hooks

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/batonci/baton/internal/ci"
)

// DeliverStore is what the deliverer reads and writes.
type DeliverStore interface {
	ClaimHookDelivery(ctx context.Context, now time.Time, lease time.Duration) (*ci.HookDelivery, error)
	FinishHookAttempt(ctx context.Context, d *ci.HookDelivery, keep int) error
	ProjectHookByID(ctx context.Context, projectID, id int64) (*ci.ProjectHook, error)
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// Options configure a Deliverer. Zero values take the defaults.
type Options struct {
	AllowLocal  bool          // let hooks reach local and private addresses (--allow-local-webhooks)
	Timeout     time.Duration // one attempt, connecting to reading the response; default 10 s
	MaxAttempts int           // attempts before a delivery fails; default 5
	Backoff     time.Duration // wait before the first retry, doubling after each; default 10 s
	MaxBackoff  time.Duration // longest wait between attempts; default 1 h
	MaxResponse int64         // bytes of a response body kept as its excerpt; default 4 KiB
	Keep        int           // finished deliveries kept per hook; default 100
	Interval    time.Duration // between polls when nothing woke the loop; default 5 s
	// Workers is how many deliveries this replica sends at once (default
	// DefaultWorkers): a receiver that answers slowly holds one of them,
	// not every other hook's events.
	Workers   int
	Instance  string // X-Gitlab-Instance: Baton's external URL
	UserAgent string // default "Baton"
	Now       func() time.Time
	Logger    *slog.Logger
}

// DefaultWorkers is Options.Workers' default.
const DefaultWorkers = 4

// Deliverer is the background loop that sends queued deliveries.
type Deliverer struct {
	store    DeliverStore
	opts     Options
	verified *http.Client // TLS verified
	insecure *http.Client // hooks with enable_ssl_verification false
	log      *slog.Logger
}

// NewDeliverer returns the loop delivering from store.
func NewDeliverer(store DeliverStore, opts Options) *Deliverer {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = time.Hour
	}
	if opts.MaxResponse <= 0 {
		opts.MaxResponse = 4 << 10
	}
	if opts.Keep <= 0 {
		opts.Keep = 100
	}
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "Baton"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Deliverer{store: store, opts: opts, log: opts.Logger,
		verified: NewClient(Dialer(opts.AllowLocal, opts.Timeout), opts.Timeout, false),
		insecure: NewClient(Dialer(opts.AllowLocal, opts.Timeout), opts.Timeout, true)}
}

// NewClient is the HTTP client hooks are sent with: dialing through d, no
// proxy (the environment's would dial for us, unchecked), no redirects
// (a hook's answer is its answer), timeout for the whole exchange.
func NewClient(d *net.Dialer, timeout time.Duration, insecure bool) *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       30 * time.Second,
		// The hook owner chose to skip verification (GitLab's
		// enable_ssl_verification false); the address checks still apply.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: insecure}, //nolint:gosec
	}
	return &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Run delivers until ctx ends, with Workers deliveries at once: whenever
// an event is queued (any replica's notification) and every Interval for
// retries that came due. A hook's deliveries still go out one at a time,
// in order (ClaimHookDelivery skips a hook whose older one is held).
func (d *Deliverer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel: each worker ends its attempt first
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake, err := d.store.Listen(ctx, channel)
	if err != nil {
		return fmt.Errorf("listening for hook deliveries: %w", err)
	}
	var mu sync.Mutex
	round := make(chan struct{}) // closed (and replaced) to wake the workers
	next := func() <-chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		return round
	}
	for range d.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				woken := next() // before draining: a wake-up meanwhile is not lost
				d.Drain(ctx)
				select {
				case <-ctx.Done():
					return
				case <-woken:
				}
			}
		}()
	}
	t := time.NewTicker(d.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-wake:
			if !ok {
				return ctx.Err()
			}
		case <-t.C:
		}
		mu.Lock()
		close(round)
		round = make(chan struct{})
		mu.Unlock()
	}
}

// Drain delivers every delivery that is due, one at a time (a hook's
// deliveries go out in order), and returns how many attempts it made. Run
// calls it from each worker.
func (d *Deliverer) Drain(ctx context.Context) int {
	n := 0
	for ctx.Err() == nil {
		del, err := d.store.ClaimHookDelivery(ctx, d.opts.Now(), d.opts.Timeout*3)
		if ci.IsNotFound(err) {
			return n
		}
		if err != nil {
			d.log.ErrorContext(ctx, "claiming a hook delivery", "err", err)
			return n
		}
		n++
		d.attempt(ctx, del)
	}
	return n
}

// attempt sends one claimed delivery and records the outcome: delivered
// on a 2xx answer; otherwise retried after Backoff·2^(attempts-1) until
// MaxAttempts, then failed.
func (d *Deliverer) attempt(ctx context.Context, del *ci.HookDelivery) {
	log := d.log.With("hook_id", del.HookID, "delivery_id", del.ID, "event", del.Event, "attempt", del.Attempts)
	h, err := d.store.ProjectHookByID(ctx, del.ProjectID, del.HookID)
	if err != nil {
		log.ErrorContext(ctx, "loading hook", "err", err)
		return // the lease runs out; a deleted hook took its deliveries with it
	}
	start := time.Now()
	del.ResponseStatus, del.ResponseBody, del.Error = 0, "", ""
	resp, err := d.send(ctx, h, del)
	del.Duration = time.Since(start)
	if err == nil {
		del.ResponseStatus = resp.status
		del.ResponseBody = resp.body
	} else {
		del.Error = describe(err)
	}
	now := d.opts.Now()
	switch {
	case err == nil && resp.status >= 200 && resp.status < 300:
		del.Status, del.FinishedAt = ci.DeliveryDelivered, &now
	case del.Attempts >= d.opts.MaxAttempts:
		del.Status, del.FinishedAt = ci.DeliveryFailed, &now
		log.WarnContext(ctx, "hook delivery failed", "status", del.ResponseStatus, "err", del.Error)
	default:
		del.Status, del.NextAttemptAt = ci.DeliveryPending, now.Add(d.backoff(del.Attempts))
		log.InfoContext(ctx, "hook delivery will be retried", "status", del.ResponseStatus, "err", del.Error, "next_attempt_at", del.NextAttemptAt)
	}
	if err := d.store.FinishHookAttempt(context.WithoutCancel(ctx), del, d.opts.Keep); err != nil {
		log.ErrorContext(ctx, "recording hook delivery", "err", err)
	}
}

func (d *Deliverer) backoff(attempts int) time.Duration {
	b := d.opts.Backoff
	for i := 1; i < attempts && b < d.opts.MaxBackoff; i++ {
		b *= 2
	}
	return min(b, d.opts.MaxBackoff)
}

type response struct {
	status int
	body   string
}

// send POSTs the payload with GitLab's headers and reads at most
// MaxResponse bytes of the answer.
func (d *Deliverer) send(ctx context.Context, h *ci.ProjectHook, del *ci.HookDelivery) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL, bytes.NewReader(del.Payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.opts.UserAgent)
	req.Header.Set("X-Gitlab-Event", del.Event)
	req.Header.Set("X-Gitlab-Event-UUID", del.UUID)
	req.Header.Set("X-Gitlab-Webhook-UUID", del.UUID)
	req.Header.Set("Idempotency-Key", del.UUID)
	req.Header.Set("X-Gitlab-Instance", d.opts.Instance)
	if h.Token != "" {
		req.Header.Set("X-Gitlab-Token", h.Token)
	}
	client := d.verified
	if !h.EnableSSLVerification {
		client = d.insecure
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, d.opts.MaxResponse))
	return &response{status: resp.StatusCode, body: excerpt(body)}, nil
}

// excerpt is body as valid UTF-8 text.
func excerpt(body []byte) string {
	s := string(body)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// describe says why an attempt got no answer, without the URL (which
// may carry a secret in its query).
func describe(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			err = inner
		}
	}
	switch {
	case errors.Is(err, ErrLocalAddress):
		return ErrLocalAddress.Error()
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timed out"
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
