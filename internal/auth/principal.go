package auth

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Principal is an authenticated caller: a user with a personal token, or a
// running job with its job token (acting for the user who started it).
type Principal struct {
	User  *ci.User
	Token *ci.PersonalToken // personal token callers
	Job   *ci.Job           // job token callers
}

// IsJob reports whether the caller authenticated with a job token.
func (p *Principal) IsJob() bool { return p != nil && p.Job != nil }

// Admin reports whether the caller is an administrator using a personal token.
func (p *Principal) Admin() bool { return p != nil && p.Job == nil && p.User != nil && p.User.Admin }

// UserID is the acting user's id, 0 for anonymous callers.
func (p *Principal) UserID() int64 {
	if p == nil || p.User == nil {
		return 0
	}
	return p.User.ID
}

// Store is what authentication reads and touches (store.DB).
type Store interface {
	// PersonalTokenWithUser is the token with that hash and its user.
	PersonalTokenWithUser(ctx context.Context, hash string) (*ci.PersonalToken, *ci.User, error)
	TouchPersonalToken(ctx context.Context, id int64, at time.Time) error
	JobByTokenHash(ctx context.Context, hash string) (*ci.Job, error)
	UserByID(ctx context.Context, id int64) (*ci.User, error)
}

// Authenticator turns request credentials into a Principal.
type Authenticator struct {
	store Store
	now   func() time.Time
}

// New returns an Authenticator on store; now is the clock token expiry is
// checked against (nil: time.Now).
func New(store Store, now func() time.Time) *Authenticator {
	if now == nil {
		now = time.Now
	}
	return &Authenticator{store: store, now: now}
}

// Credential finds the caller's secret in the request, in GitLab's order:
// PRIVATE-TOKEN, Authorization: Bearer, JOB-TOKEN, then the private_token and
// job_token parameters. It reports whether the secret was given as a job token.
func Credential(r *http.Request) (secret string, job bool) {
	if secret, job = HeaderCredential(r); secret != "" {
		return secret, job
	}
	q := r.URL.Query()
	if v := q.Get("private_token"); v != "" {
		return v, false
	}
	if v := q.Get("job_token"); v != "" {
		return v, true
	}
	return "", false
}

// HeaderCredential is Credential without the query parameters: PRIVATE-TOKEN,
// Authorization: Bearer, then JOB-TOKEN.
func HeaderCredential(r *http.Request) (secret string, job bool) {
	if v := r.Header.Get("Private-Token"); v != "" {
		return v, false
	}
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
		return v, strings.HasPrefix(v, PrefixJob)
	}
	if v := r.Header.Get("Job-Token"); v != "" {
		return v, true
	}
	return "", false
}

// Authenticate resolves the request's credentials. No credentials give a nil
// Principal (anonymous); wrong, expired or revoked ones are KindUnauthorized.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	secret, job := Credential(r)
	return a.authenticate(ctx, secret, job)
}

// AuthenticateHeaders is Authenticate for credentials in headers only; the
// query parameters private_token and job_token are ignored.
func (a *Authenticator) AuthenticateHeaders(ctx context.Context, r *http.Request) (*Principal, error) {
	secret, job := HeaderCredential(r)
	return a.authenticate(ctx, secret, job)
}

func (a *Authenticator) authenticate(ctx context.Context, secret string, job bool) (*Principal, error) {
	if secret == "" {
		return nil, nil
	}
	if job {
		return a.JobPrincipal(ctx, secret)
	}
	return a.PersonalPrincipal(ctx, secret)
}

// PersonalPrincipal resolves a personal access token.
func (a *Authenticator) PersonalPrincipal(ctx context.Context, secret string) (*Principal, error) {
	tok, u, err := a.store.PersonalTokenWithUser(ctx, Hash(secret))
	if ci.IsNotFound(err) {
		// GitLab lets a job token stand in the Bearer header without its prefix.
		if p, jerr := a.JobPrincipal(ctx, secret); jerr == nil {
			return p, nil
		}
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	if err != nil {
		return nil, err
	}
	now := a.now()
	if !tok.Active(now) {
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized: token expired or revoked")
	}
	if tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) > time.Minute {
		_ = a.store.TouchPersonalToken(ctx, tok.ID, now)
	}
	return &Principal{User: u, Token: tok}, nil
}

// JobPrincipal resolves a job token. It is valid only while its job is
// running or canceling.
func (a *Authenticator) JobPrincipal(ctx context.Context, secret string) (*Principal, error) {
	j, err := a.store.JobByTokenHash(ctx, Hash(secret))
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	if err != nil {
		return nil, err
	}
	if !j.Status.Active() {
		return nil, ci.Errorf(ci.KindUnauthorized, "401 Unauthorized: job token of job %d is no longer valid (job %s)", j.ID, j.Status)
	}
	p := &Principal{Job: j}
	if j.UserID != 0 {
		if u, err := a.store.UserByID(ctx, j.UserID); err == nil {
			p.User = u
		}
	}
	return p, nil
}
