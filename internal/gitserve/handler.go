package gitserve

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
	"github.com/batonci/baton/internal/policy"
)

// Handler serves git's smart HTTP protocol for Baton's projects:
// GET /<namespace path>/<project path>[.git]/info/refs?service=git-upload-pack|git-receive-pack,
// POST .../git-upload-pack and POST .../git-receive-pack, by running
// `git http-backend`. Request and response bodies are streamed.
//
// Dumb-protocol requests are refused: info/refs without a service is 403,
// any other path 404.
type Handler struct {
	Repos *Repos
	// Resolve finds the project by its full path ("group/sub/app");
	// KindNotFound if none.
	Resolve func(ctx context.Context, fullPath string) (*ci.Project, error)
	// Authorize checks Basic credentials (both empty for an anonymous
	// request) for the route's ability on the project: policy.ReadCode
	// (clone, fetch) or policy.PushCode (push).
	// It returns nil to allow; KindUnauthorized to ask for credentials
	// (401 with WWW-Authenticate: Basic realm="Baton"); KindForbidden (403)
	// or KindNotFound (404, for a private project the caller cannot see).
	Authorize func(ctx context.Context, p *ci.Project, username, password string, a policy.Ability) error
	// AuthorizeUser, if set, is used instead of Authorize. It answers the
	// same way and also returns the Baton username the request acts as
	// ("" for anonymous), which becomes the pusher given to OnPush and
	// git's REMOTE_USER. Use it when the Basic username is not the
	// identity (a token as password with any username, as GitLab allows):
	// with plain Authorize the pusher is whatever Basic username was sent.
	AuthorizeUser func(ctx context.Context, p *ci.Project, username, password string, a policy.Ability) (pusher string, err error)
	// OnPush, if set, is called after a successful receive-pack with the
	// refs it changed, deletions included and flagged. Every update was
	// checked against the repository afterwards: a ref git rejected is not
	// reported, and a push that changed nothing calls nothing.
	//
	// It runs in its own goroutine once the git response has been written,
	// so it never delays the client; its context carries the request's
	// values but is not cancelled when the request ends. Wait waits for it.
	OnPush func(ctx context.Context, p *ci.Project, pusherUsername string, updates []RefUpdate)
	// MaxPushBytes, when positive, is the largest pack a push may send:
	// git's own receive.maxInputSize, given to receive-pack, which refuses a
	// larger pack with "pack exceeds maximum allowed size" before any ref
	// changes (and deletes what it received of it).
	MaxPushBytes int64
	// CheckPush, if set, decides a push's ref updates before git receives
	// anything (protected branches and tags): the Basic credentials are
	// those Authorize accepted for writing. See PushDecision.
	CheckPush func(ctx context.Context, p *ci.Project, username, password string, updates []RefUpdate) (PushDecision, error)
	// Logger receives errors and push records; nil discards them.
	Logger *slog.Logger

	hooks sync.WaitGroup
}

// Wait blocks until every OnPush call started so far has returned. Call it
// on shutdown, after the HTTP server stopped accepting requests.
func (h *Handler) Wait() { h.hooks.Wait() }

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fullPath, rest, ok := Match(r.URL.Path)
	if !ok {
		plainError(w, http.StatusNotFound, "Not Found")
		return
	}
	rt, status := h.routeOf(r, rest)
	if status != 0 {
		msg := http.StatusText(status)
		if status == http.StatusForbidden {
			// Only info/refs without ?service= lands here.
			msg = "Baton serves git over smart HTTP only; please upgrade your git client"
		}
		plainError(w, status, msg)
		return
	}
	log := h.logger().With("project_path", fullPath, "service", rt.service)
	if rt.body >= 0 {
		if r.ContentLength > rt.body {
			w.Header().Set("Connection", "close")
			plainError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large: a push may send at most --max-push-size bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, rt.body)
	}

	username, password, _ := r.BasicAuth()
	project, err := h.Resolve(r.Context(), fullPath)
	if ci.IsNotFound(err) {
		// Answer exactly as for a private project the caller may not see:
		// check the credentials against a stand-in, so that anonymous
		// callers and wrong credentials are asked for credentials (401) and
		// only valid ones learn "not found".
		if _, aerr := h.authorize(r.Context(), &ci.Project{FullPath: fullPath, Visibility: ci.VisibilityPrivate}, username, password, rt.ability); aerr != nil && !ci.IsNotFound(aerr) && ci.KindOf(aerr) != ci.KindInternal {
			err = aerr
		}
	}
	if err != nil {
		h.refuse(w, log, err)
		return
	}
	log = log.With("project_id", project.ID)
	pusher, err := h.authorize(r.Context(), project, username, password, rt.ability)
	if err != nil {
		h.refuse(w, log, err)
		return
	}

	if _, err := h.Repos.existing(project.ID); err != nil {
		// The project exists but its repository does not: Baton's state
		// is inconsistent, which an operator should hear about.
		log.Error("opening project repository", "error", err)
		h.refuse(w, log, err)
		return
	}

	var sniffer *commandSniffer
	var body io.Reader = r.Body
	var hooks *hookEnv
	if rest == restReceivePack {
		if h.CheckPush != nil {
			var handled bool
			if body, hooks, handled = h.checkPush(w, r, log, project, username, password); handled {
				return
			}
		}
		sniffer = newCommandSniffer(body, isGzip(r))
		body = sniffer
	}
	ok = h.runBackend(w, r, log, project.ID, rest, body, pusher, hooks)
	if sniffer == nil {
		return
	}
	commands, perr := sniffer.Result()
	if !ok {
		return
	}
	if perr != nil {
		log.Warn("parsing pushed ref updates", "error", perr, "parsed", len(commands))
	}
	if len(commands) == 0 {
		return
	}
	h.hooks.Add(1)
	ctx := context.WithoutCancel(r.Context())
	go func() {
		defer h.hooks.Done()
		defer func() {
			// A failing hook must not take the server down with it.
			if v := recover(); v != nil {
				log.Error("handling push", "panic", v)
			}
		}()
		h.afterPush(ctx, log, project, pusher, commands)
	}()
}

// afterPush keeps the commands git applied and reports them to OnPush.
func (h *Handler) afterPush(ctx context.Context, log *slog.Logger, p *ci.Project, pusher string, commands []RefUpdate) {
	refs := make([]string, 0, len(commands))
	for _, c := range commands {
		refs = append(refs, c.Ref)
	}
	targets, err := h.Repos.refTargets(ctx, h.Repos.Path(p.ID), refs)
	if err != nil {
		log.Error("verifying pushed refs", "error", err)
		return
	}
	applied := make([]RefUpdate, 0, len(commands))
	for _, c := range commands {
		sha, exists := targets[c.Ref]
		if (c.Deleted && !exists) || (!c.Deleted && sha == c.NewSHA) {
			applied = append(applied, c)
		}
	}
	for _, u := range applied {
		log.Info("ref pushed", "ref", u.Ref, "old_sha", u.OldSHA, "new_sha", u.NewSHA, "pusher", pusher)
	}
	if len(applied) == 0 || h.OnPush == nil {
		return
	}
	h.OnPush(ctx, p, pusher, applied)
}

// authorize asks AuthorizeUser, or else Authorize, and returns the pusher.
func (h *Handler) authorize(ctx context.Context, p *ci.Project, username, password string, a policy.Ability) (string, error) {
	if h.AuthorizeUser != nil {
		return h.AuthorizeUser(ctx, p, username, password, a)
	}
	return username, h.Authorize(ctx, p, username, password, a)
}

// refuse answers a failed Resolve or Authorize with the status httpx maps
// the error's kind to, as plain text that git shows its user.
func (h *Handler) refuse(w http.ResponseWriter, log *slog.Logger, err error) {
	status, msg := httpx.ErrorStatus(err)
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="Baton"`)
		if ci.MessageOf(err) == "" {
			msg = "HTTP Basic: Access denied"
		}
	case http.StatusNotFound:
		msg = "The project you were looking for could not be found or you don't have permission to view it."
	case http.StatusInternalServerError:
		log.Error("authorizing git request", "error", err)
	}
	plainError(w, status, msg)
}

// plainError writes msg as text/plain, which git shows to its user as "remote: msg".
func plainError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.New(slog.DiscardHandler)
}
