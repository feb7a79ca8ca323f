package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// Sessions are rows of the store's session table. The cookie holds a random
// secret; the row holds only its SHA-256 hash, the user, the personal token
// the user signed in with, and when it was created, last seen and ends.
// Sign-out and the Sessions page's revoke button delete the row, so a
// copied cookie dies with it. A session also ends when it has been idle for
// SessionIdle, SessionMaxAge after sign-in, or when its token is revoked or
// expires (checked on every request).
const (
	sessionCookie = "baton_session"
	loginCookie   = "baton_login" // double-submit CSRF token of the sign-in form
	csrfField     = "_csrf"

	DefaultSessionIdle   = 24 * time.Hour
	DefaultSessionMaxAge = 7 * 24 * time.Hour
	// MaxSessionsPerUser bounds each user's sessions: signing in deletes all
	// but the newest ones.
	MaxSessionsPerUser = 50
	// sessionTouchEvery is how stale a session's last-seen time may get
	// before a request writes it.
	sessionTouchEvery = time.Minute
)

// session is the verified session of a request.
type session struct {
	row  *ci.Session
	csrf string
}

func (s *Server) sessionIdle() time.Duration {
	if s.SessionIdle > 0 {
		return s.SessionIdle
	}
	return DefaultSessionIdle
}

func (s *Server) sessionMaxAge() time.Duration {
	if s.SessionMaxAge > 0 {
		return s.SessionMaxAge
	}
	return DefaultSessionMaxAge
}

// secure reports whether cookies must be Secure: when the request came over
// TLS (Baton's own, or a --trusted-proxies peer's X-Forwarded-Proto), and
// always when users reach Baton at an https URL (behind a proxy that
// terminates TLS the request itself is plain HTTP).
func (s *Server) secure(r *http.Request) bool {
	return httpx.IsHTTPS(r) || strings.HasPrefix(strings.ToLower(s.ExternalURL), "https://")
}

// csrfOf derives a session's CSRF token from its secret: pages show it,
// but it reveals nothing about the secret (the HttpOnly cookie).
func csrfOf(secret string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte("baton csrf"))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// sessionPrincipal verifies the session cookie, if any. A missing, unknown,
// ended or revoked session, or one whose token is no longer active, is
// simply no session; ended ones are deleted on the way.
func (s *Server) sessionPrincipal(r *http.Request) (*session, *auth.Principal, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, nil, nil
	}
	ctx := r.Context()
	hash := auth.Hash(ck.Value)
	row, err := s.Store.SessionByHash(ctx, hash)
	if ci.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !auth.Equal(row.SecretHash, hash) {
		return nil, nil, nil
	}
	now := s.Now()
	end := func() (*session, *auth.Principal, error) {
		if err := s.Store.DeleteSession(ctx, row.UserID, row.ID); err != nil && !ci.IsNotFound(err) {
			return nil, nil, err
		}
		return nil, nil, nil
	}
	if !now.Before(row.ExpiresAt) || now.Sub(row.LastSeenAt) > s.sessionIdle() {
		return end()
	}
	tok, err := s.Store.PersonalTokenByID(ctx, row.TokenID)
	if ci.IsNotFound(err) {
		return end()
	}
	if err != nil {
		return nil, nil, err
	}
	if !tok.Active(now) || tok.UserID != row.UserID {
		return end()
	}
	u, err := s.Store.UserByID(ctx, row.UserID)
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(row.LastSeenAt) > sessionTouchEvery {
		if err := s.Store.TouchSession(ctx, row.ID, now); err != nil && !ci.IsNotFound(err) {
			return nil, nil, err
		}
	}
	return &session{row: row, csrf: csrfOf(ck.Value)}, &auth.Principal{User: u, Token: tok}, nil
}

// setSession signs the user in with tok: a new session row and its cookie.
func (s *Server) setSession(c *req, tok *ci.PersonalToken) error {
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("creating session secret: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(buf)
	now := s.Now()
	exp := now.Add(s.sessionMaxAge())
	if tok.ExpiresAt != nil && tok.ExpiresAt.Before(exp) {
		exp = *tok.ExpiresAt
	}
	row := &ci.Session{UserID: tok.UserID, TokenID: tok.ID, SecretHash: auth.Hash(secret),
		UserAgent: truncate(c.r.UserAgent(), 255), IP: clientIP(c.r), ExpiresAt: exp}
	if err := s.Store.CreateSession(c.r.Context(), row, MaxSessionsPerUser, now.Add(-s.sessionIdle())); err != nil {
		return err
	}
	http.SetCookie(c.w, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", Expires: exp,
		HttpOnly: true, Secure: s.secure(c.r), SameSite: http.SameSiteLaxMode})
	return nil
}

func (s *Server) clearCookie(c *req, name, path string) {
	http.SetCookie(c.w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		Secure: s.secure(c.r), SameSite: http.SameSiteLaxMode})
}

// clientIP is the address the request came from: the proxy's behind one,
// unless it is in --trusted-proxies (then X-Forwarded-For's client).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return strings.ToValidUTF8(s, "")
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.ToValidUTF8(s[:n], "")
}

// checkCSRF guards every state-changing form: the caller must be signed in
// with the session cookie and send the session's CSRF token. Anything else
// is KindForbidden (403).
func (s *Server) checkCSRF(c *req) error {
	if err := parseForm(c.r); err != nil {
		return err
	}
	if c.sess == nil {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: sign in first")
	}
	if got := c.r.PostForm.Get(csrfField); got == "" || !hmac.Equal([]byte(got), []byte(c.sess.csrf)) {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: invalid or missing CSRF token, reload the page and try again")
	}
	return nil
}

// csrfToken is the token forms of this request carry ("" when signed out).
func (c *req) csrfToken() string {
	if c.sess == nil {
		return ""
	}
	return c.sess.csrf
}

func (s *Server) signInPage(c *req, problem string) error {
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("creating sign-in token: %w", err)
	}
	nonce := base64.RawURLEncoding.EncodeToString(buf)
	http.SetCookie(c.w, &http.Cookie{Name: loginCookie, Value: nonce, Path: "/-/sign_in", MaxAge: 3600,
		HttpOnly: true, Secure: s.secure(c.r), SameSite: http.SameSiteStrictMode})
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnauthorized
	}
	next := c.r.URL.Query().Get("next")
	if c.r.Method == http.MethodPost {
		next = c.r.PostForm.Get("next")
	}
	return s.render(c, status, "signin", "Sign in", map[string]any{"Nonce": nonce, "Problem": problem,
		"Next": SafeNext(next)})
}

// maxNext bounds the length of a redirect target after sign-in.
const maxNext = 2048

// SafeNext keeps redirects after sign-in on this site: it returns next if
// it is a path on this origin, "/" otherwise. Rejected are absolute and
// scheme-relative URLs ("//host", "/\host"), backslashes anywhere, control
// and other invisible characters (ASCII and Unicode), malformed
// percent-encoding, and encodings of any of these ("/%2F%2Fhost",
// "/%5Chost"), which some browsers and proxies decode before resolving.
func SafeNext(next string) string {
	if len(next) > maxNext || !pathLike(next) {
		return "/"
	}
	// Whatever a browser or proxy decodes, however often, must still be a
	// plain path.
	for dec, i := next, 0; strings.Contains(dec, "%"); i++ {
		d, err := url.PathUnescape(dec)
		if err != nil || !pathLike(d) || i == 4 {
			return "/"
		}
		dec = d
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}

// pathLike reports whether p starts with exactly one slash and holds only
// printable characters and no backslash.
func pathLike(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsRune(p, '\\') || !utf8.ValidString(p) {
		return false
	}
	for _, r := range p {
		if !unicode.IsPrint(r) { // controls, format characters, line and paragraph separators
			return false
		}
	}
	return true
}

func (s *Server) signIn(c *req) error {
	if err := parseForm(c.r); err != nil {
		return err
	}
	ck, err := c.r.Cookie(loginCookie)
	if err != nil || ck.Value == "" || !hmac.Equal([]byte(ck.Value), []byte(c.r.PostForm.Get(csrfField))) {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden: invalid or missing CSRF token, reload the sign-in page")
	}
	secret := strings.TrimSpace(c.r.PostForm.Get("token"))
	tok, err := s.Store.PersonalTokenByHash(c.r.Context(), auth.Hash(secret))
	switch {
	case secret == "" || ci.IsNotFound(err):
		return s.signInPage(c, "That token is not valid.")
	case err != nil:
		return err
	case !tok.Active(s.Now()):
		return s.signInPage(c, "That token has expired or was revoked.")
	case !tok.HasScope(ci.ScopeReadAPI):
		return s.signInPage(c, "That token needs the api or read_api scope.")
	}
	if err := s.setSession(c, tok); err != nil {
		return err
	}
	s.clearCookie(c, loginCookie, "/-/sign_in")
	http.Redirect(c.w, c.r, SafeNext(c.r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

// signOut ends the session: its row is deleted, so the cookie is worthless
// even where it was copied.
func (s *Server) signOut(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	if err := s.Store.DeleteSession(c.r.Context(), c.sess.row.UserID, c.sess.row.ID); err != nil && !ci.IsNotFound(err) {
		return err
	}
	s.clearCookie(c, sessionCookie, "/")
	http.Redirect(c.w, c.r, "/", http.StatusSeeOther)
	return nil
}

type sessionRow struct {
	*ci.Session
	Current bool
}

// sessionsPage lists the signed-in user's sessions with a revoke button each.
func (s *Server) sessionsPage(c *req) error {
	if c.sess == nil {
		return ci.Errorf(ci.KindUnauthorized, "401 Unauthorized")
	}
	list, err := s.Store.ListSessions(c.r.Context(), c.sess.row.UserID)
	if err != nil {
		return err
	}
	rows := make([]sessionRow, 0, len(list))
	for _, x := range list {
		rows = append(rows, sessionRow{Session: x, Current: x.ID == c.sess.row.ID})
	}
	return s.render(c, http.StatusOK, "sessions", "Sessions", map[string]any{"Sessions": rows,
		"Max": MaxSessionsPerUser, "Idle": s.sessionIdle().String(), "MaxAge": s.sessionMaxAge().String()})
}

// revokeSession is POST /-/user/sessions/:id/revoke. Revoking the current
// session signs out.
func (s *Server) revokeSession(c *req, raw string) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return notFound()
	}
	if err := s.Store.DeleteSession(c.r.Context(), c.sess.row.UserID, id); err != nil {
		if ci.IsNotFound(err) {
			return notFound()
		}
		return err
	}
	if id == c.sess.row.ID {
		s.clearCookie(c, sessionCookie, "/")
		http.Redirect(c.w, c.r, "/", http.StatusSeeOther)
		return nil
	}
	http.Redirect(c.w, c.r, "/-/user/sessions", http.StatusSeeOther)
	return nil
}

// parseForm parses a posted urlencoded form in memory; its body is already
// bounded (ServeHTTP). Multipart bodies are not parsed (no form needs one):
// their fields are simply absent.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		if tl := httpx.TooLarge(err); tl != nil {
			return tl
		}
		return ci.Errorf(ci.KindInvalid, "400 Bad request - malformed form")
	}
	return nil
}
