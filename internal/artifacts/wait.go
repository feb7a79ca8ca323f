package artifacts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/wake"
)

// MaxWait caps the wait parameter.
const MaxWait = 300 * time.Second

// Default limits on held waits.
const (
	DefaultMaxWaiters          = 10000
	DefaultMaxWaitersPerClient = 100
)

// retryAfter is what a refused waiter is told to wait before trying again.
const retryAfter = 10

// Query is an artifact route's job, artifact, wait and
// search_recent_successful_pipelines.
type Query struct {
	Job string
	// Artifact names a published artifact of the job; "" means its archive.
	Artifact     string
	Wait         time.Duration
	SearchRecent bool
	Merge        string // "" or MergeParallel
	// Child selects a child pipeline on the pipeline routes: bridge job
	// names from the pipeline down, separated by "/".
	Child string
}

// ReadQuery reads job (required when needJob), artifact (a published
// artifact's name), wait (seconds, at most MaxWait) and
// search_recent_successful_pipelines.
func ReadQuery(r *http.Request, needJob bool) (Query, error) {
	q := r.URL.Query()
	aq := Query{Job: q.Get("job"), Artifact: q.Get("artifact"), Child: q.Get("child")}
	if len(aq.Child) > MaxChildSelector {
		return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - child must be at most %d bytes", MaxChildSelector)
	}
	if needJob && aq.Job == "" {
		return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - job is missing: name the job, e.g. ?job=build")
	}
	if q.Has("artifact") {
		if err := ci.CheckArtifactName(aq.Artifact); err != nil {
			return aq, err
		}
	}
	if raw := q.Get("wait"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 || time.Duration(n)*time.Second > MaxWait {
			return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - wait must be a number of seconds from 0 to %d", int(MaxWait.Seconds()))
		}
		aq.Wait = time.Duration(n) * time.Second
	}
	switch aq.Merge = q.Get("merge"); aq.Merge {
	case "", MergeParallel:
	default:
		return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - merge must be %q", MergeParallel)
	}
	if raw := q.Get("search_recent_successful_pipelines"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return aq, ci.Errorf(ci.KindInvalid, "400 Bad request - search_recent_successful_pipelines must be true or false")
		}
		aq.SearchRecent = b
	}
	return aq, nil
}

// pendingError is a 404 for a job that exists but has no archive (yet). It
// remembers whether waiting could still help.
type pendingError struct {
	err      *ci.Error
	waitable bool
}

func (e *pendingError) Error() string { return e.err.Error() }
func (e *pendingError) Unwrap() error { return e.err }

func noArchiveYet(scope, artifact string, j *ci.Job) error {
	return &pendingError{err: ci.Errorf(ci.KindNotFound, "404 %s has no %s yet (status: %s)", scope, what(artifact), j.Status),
		waitable: !j.Status.Finished() && j.Status != ci.StatusManual}
}

// Waitable reports whether err says that the chosen job has no archive yet
// but may still get one.
func Waitable(err error) bool {
	var pe *pendingError
	return errors.As(err, &pe) && pe.waitable
}

// WaitSpec is how a request waits for an archive.
type WaitSpec struct {
	For time.Duration // 0: answer at once
	// Where uploads wake the wait: a pipeline's (pipeline and job scopes)
	// or, when PipelineID is 0, any of the project's (commit and ref scopes).
	ProjectID, PipelineID int64
	// Clients are the keys the per-client limit counts the wait against:
	// the caller's IP, and its user or job token when it has one.
	Clients []string
	// Recheck runs on every wake-up before anything is chosen again: the
	// surface re-authorizes the caller (a job token may have expired while
	// it waited). Its error ends the wait.
	Recheck func(ctx context.Context) error
}

// Wait answers choose's result, holding the request while choose says that
// the job has no archive yet but may get one, until it does, spec.For
// passes or ctx ends. It costs no polling: it re-chooses when the Hub says
// that an archive was stored or a job finished in the scope, when the
// Hub's listener reconnected, and once at the deadline. Beyond the Hub's
// limits it is KindTooMany, with a Retry-After.
func (s *Service) Wait(ctx context.Context, spec WaitSpec, choose func(context.Context) (*Choice, error)) (*Choice, error) {
	c, err := choose(ctx)
	if err == nil || !Waitable(err) || spec.For <= 0 {
		return c, err
	}
	k := key{scope: scopeProject, id: spec.ProjectID}
	if spec.PipelineID != 0 {
		k = key{scope: scopePipeline, id: spec.PipelineID}
	}
	w, lerr := s.hub().add(k, spec.Clients)
	if lerr != nil {
		return nil, lerr
	}
	defer s.hub().remove(w)
	timer := time.NewTimer(spec.For)
	defer timer.Stop()
	expired := false
	for {
		// Registered first, chosen second: an upload between the two
		// wakes w, so none is missed.
		c, err = choose(ctx)
		if err == nil || !Waitable(err) || expired {
			return c, err
		}
		select {
		case <-w.C:
		case <-timer.C:
			expired = true
		case <-ctx.Done():
			return nil, err
		}
		if spec.Recheck != nil {
			if aerr := spec.Recheck(ctx); aerr != nil {
				return nil, aerr
			}
		}
	}
}

// LimitError is a refusal to hold one more waiter: KindTooMany, with the
// seconds to wait before retrying.
type LimitError struct{ err *ci.Error }

func (e *LimitError) Error() string { return e.err.Error() }
func (e *LimitError) Unwrap() error { return e.err }

// RetryAfter is the Retry-After to answer with, in seconds.
func (e *LimitError) RetryAfter() int { return retryAfter }

type scope byte

const (
	scopeProject  scope = 'p'
	scopePipeline scope = 'l'
)

type key struct {
	scope scope
	id    int64
}

type waiter = wake.Waiter[key]

// Hub is the one place a process's waits are held: uploads and job
// finishes wake the waits of their pipeline and project, here and, through
// Relay, on every replica sharing the database. It bounds how many waits
// are held, in all and per client.
type Hub struct {
	max, maxPerClient int
	set               *wake.Set[key]

	prefix string // this process's, to skip its own relayed messages
	mu     sync.Mutex
	send   func(payload string) // set while Relay runs
}

// NewHub returns a Hub holding at most max waits, maxPerClient per client
// key (0 means the defaults, negative no limit).
func NewHub(max, maxPerClient int) *Hub {
	if max == 0 {
		max = DefaultMaxWaiters
	}
	if maxPerClient == 0 {
		maxPerClient = DefaultMaxWaitersPerClient
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Hub{max: max, maxPerClient: maxPerClient, prefix: hex.EncodeToString(b),
		set: wake.New[key](max, maxPerClient)}
}

// Len is the number of waits held.
func (h *Hub) Len() int { return h.set.Len() }

func (h *Hub) add(k key, clients []string) (*waiter, error) {
	w, err := h.set.Add(k, clients)
	switch err {
	case wake.ErrFull:
		return nil, &LimitError{ci.Errorf(ci.KindTooMany,
			"429 Too Many Requests - the server already holds %d requests waiting for artifacts (--max-waiters); retry later or without wait", h.max)}
	case wake.ErrClientFull:
		return nil, &LimitError{ci.Errorf(ci.KindTooMany,
			"429 Too Many Requests - %d requests of this client already wait for artifacts (--max-waiters-per-client); retry later or without wait", h.maxPerClient)}
	}
	return w, err
}

func (h *Hub) remove(w *waiter) { h.set.Remove(w) }

func (h *Hub) wake(keys ...key) { h.set.Wake(keys...) }

// Notify says that an archive of a job in pipelineID of projectID was
// stored, or that such a job finished: the waits of that pipeline and
// project re-check, here at once and on other replicas through Relay.
func (h *Hub) Notify(projectID, pipelineID int64) {
	h.wake(key{scopeProject, projectID}, key{scopePipeline, pipelineID})
	h.mu.Lock()
	send := h.send
	h.mu.Unlock()
	if send != nil {
		send(fmt.Sprintf("%s %d %d", h.prefix, projectID, pipelineID))
	}
}

// Notifier carries wake-up messages between replicas sharing a database
// (store.DB: PostgreSQL LISTEN/NOTIFY, or in-process on SQLite).
type Notifier interface {
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string) (<-chan string, error)
}

// Channel is the notification channel Relay uses.
const Channel = "baton_artifacts"

// Relay is the process's one listener: until ctx ends, Notify also tells
// other replicas, and their messages wake the waits here. Every wait
// re-checks when it (re)connects, since messages may have been missed
// meanwhile. It returns nil when ctx ends, an error when listening fails
// (run it again to reconnect).
func (h *Hub) Relay(ctx context.Context, n Notifier) error {
	msgs, err := n.Listen(ctx, Channel)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", Channel, err)
	}
	h.mu.Lock()
	h.send = func(payload string) {
		// Best effort: a lost message delays other replicas' waits to
		// their deadline, no more.
		_ = n.Notify(context.WithoutCancel(ctx), Channel, payload)
	}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.send = nil
		h.mu.Unlock()
	}()
	return wake.Relay(ctx, Channel, msgs, h.set.WakeAll, func(m string) {
		f := strings.Fields(m)
		if len(f) != 3 || f[0] == h.prefix {
			return
		}
		proj, err1 := strconv.ParseInt(f[1], 10, 64)
		pl, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return
		}
		h.wake(key{scopeProject, proj}, key{scopePipeline, pl})
	})
}
