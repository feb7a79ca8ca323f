package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

// Sessions are signed cookies, not rows: the cookie holds the hash of the
// personal access token the user signed in with and an expiry, signed with
// an HMAC key kept in the settings table (so every replica shares it). Each
// request checks the token against the store, so revoking or expiring the
// token ends its sessions.
const (
	sessionCookie     = "baton_session"
	loginCookie       = "baton_login" // double-submit CSRF token of the sign-in form
	settingSessionKey = "web_session_key"
	sessionTTL        = 7 * 24 * time.Hour
	csrfField         = "_csrf"
)

// session is a verified session cookie.
type session struct {
	tokenHash string
	expires   int64
	csrf      string
}

// sessionKey returns the signing key, creating it in the settings on first use.
func (s *Server) sessionKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	v, err := s.Store.Setting(ctx, settingSessionKey)
	if ci.IsNotFound(err) || (err == nil && v == "") {
		buf := make([]byte, 32)
		if _, err := rand.Read(buf); err != nil {
			return nil, fmt.Errorf("creating session key: %w", err)
		}
		if err := s.Store.SetSetting(ctx, settingSessionKey, hex.EncodeToString(buf)); err != nil {
			return nil, fmt.Errorf("storing session key: %w", err)
		}
		v, err = s.Store.Setting(ctx, settingSessionKey) // another replica may have won
	}
	if err != nil {
		return nil, fmt.Errorf("reading session key: %w", err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 16 {
		return nil, fmt.Errorf("session key in settings is malformed")
	}
	s.key = key
	return key, nil
}

func mac(key []byte, parts ...string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(strings.Join(parts, "\x00")))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// sessionPrincipal verifies the session cookie, if any. A missing, forged or
// expired cookie, or one whose token was revoked, is simply no session.
func (s *Server) sessionPrincipal(r *http.Request) (*session, *auth.Principal, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, nil, nil
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 3 {
		return nil, nil, nil
	}
	key, err := s.sessionKey(r.Context())
	if err != nil {
		return nil, nil, err
	}
	if !hmac.Equal([]byte(parts[2]), []byte(mac(key, "session", parts[0], parts[1]))) {
		return nil, nil, nil
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	now := s.Now()
	if err != nil || now.Unix() >= exp {
		return nil, nil, nil
	}
	tok, err := s.Store.PersonalTokenByHash(r.Context(), parts[0])
	if ci.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if !tok.Active(now) {
		return nil, nil, nil
	}
	u, err := s.Store.UserByID(r.Context(), tok.UserID)
	if err != nil {
		return nil, nil, err
	}
	sess := &session{tokenHash: parts[0], expires: exp, csrf: mac(key, "csrf", parts[0], parts[1])}
	return sess, &auth.Principal{User: u, Token: tok}, nil
}

// setSession signs the user in with the token that hashes to hash.
func (s *Server) setSession(c *req, tok *ci.PersonalToken) error {
	key, err := s.sessionKey(c.r.Context())
	if err != nil {
		return err
	}
	exp := s.Now().Add(sessionTTL)
	if tok.ExpiresAt != nil && tok.ExpiresAt.Before(exp) {
		exp = *tok.ExpiresAt
	}
	e := strconv.FormatInt(exp.Unix(), 10)
	http.SetCookie(c.w, &http.Cookie{Name: sessionCookie, Value: tok.TokenHash + "." + e + "." + mac(key, "session", tok.TokenHash, e),
		Path: "/", Expires: exp, HttpOnly: true, Secure: c.r.TLS != nil, SameSite: http.SameSiteLaxMode})
	return nil
}

func clearCookie(c *req, name, path string) {
	http.SetCookie(c.w, &http.Cookie{Name: name, Value: "", Path: path, MaxAge: -1, HttpOnly: true,
		Secure: c.r.TLS != nil, SameSite: http.SameSiteLaxMode})
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
		HttpOnly: true, Secure: c.r.TLS != nil, SameSite: http.SameSiteStrictMode})
	status := http.StatusOK
	if problem != "" {
		status = http.StatusUnauthorized
	}
	return s.render(c, status, "signin", "Sign in", map[string]any{"Nonce": nonce, "Problem": problem,
		"Next": safeNext(c.r.URL.Query().Get("next"))})
}

// safeNext keeps redirects after sign-in on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/"
	}
	return next
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
	clearCookie(c, loginCookie, "/-/sign_in")
	http.Redirect(c.w, c.r, safeNext(c.r.PostForm.Get("next")), http.StatusSeeOther)
	return nil
}

func (s *Server) signOut(c *req) error {
	if err := s.checkCSRF(c); err != nil {
		return err
	}
	clearCookie(c, sessionCookie, "/")
	http.Redirect(c.w, c.r, "/", http.StatusSeeOther)
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
