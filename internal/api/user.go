package api

import (
	"net/http"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/httpx"
)

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.mustPrincipal(r); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"version": ci.ServerVersion(s.Version), "revision": s.Version,
		"kas": map[string]any{"enabled": false}, "enterprise": false})
	return nil
}

func (s *Server) getCurrentUser(w http.ResponseWriter, r *http.Request) error {
	p, err := s.instanceFor(r)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, s.user(p, p.User))
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	caller, err := s.instanceFor(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	username, err := q.Required("username")
	if err != nil {
		return err
	}
	if err := validPath("user", username); err != nil {
		return err
	}
	admin, err := q.Bool("admin", false)
	if err != nil {
		return err
	}
	u := &ci.User{Username: username, Name: q.Get("name"), Email: q.Get("email"), Admin: admin}
	if u.Name == "" {
		u.Name = username
	}
	if err := s.Store.CreateUser(r.Context(), u); err != nil {
		if ci.IsConflict(err) {
			return ci.Errorf(ci.KindConflict, "409 Username %q has already been taken", username)
		}
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, s.user(caller, u))
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := s.mustPrincipal(r)
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	name, err := q.Required("username")
	if err != nil {
		return err
	}
	out := []*userEntity{}
	u, err := s.Store.UserByUsername(r.Context(), name)
	if err == nil {
		out = append(out, s.user(p, u))
	} else if !ci.IsNotFound(err) {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

type tokenEntity struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Revoked   bool       `json:"revoked"`
	CreatedAt *time.Time `json:"created_at"`
	Scopes    []string   `json:"scopes"`
	UserID    int64      `json:"user_id"`
	Active    bool       `json:"active"`
	ExpiresAt *string    `json:"expires_at"`
	Token     string     `json:"token,omitempty"`
}

var validScopes = map[string]bool{ci.ScopeAPI: true, ci.ScopeReadAPI: true, ci.ScopeCreateRunner: true,
	ci.ScopeReadRepo: true, ci.ScopeWriteRepo: true}

// createUserToken is POST /users/:user_id/personal_access_tokens (admins).
func (s *Server) createUserToken(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.instanceFor(r); err != nil {
		return err
	}
	uid, err := pathID(r, "user_id")
	if err != nil {
		return err
	}
	u, err := s.Store.UserByID(r.Context(), uid)
	if ci.IsNotFound(err) {
		return ci.Errorf(ci.KindNotFound, "404 User Not Found")
	}
	if err != nil {
		return err
	}
	q, err := httpx.ReadParams(r)
	if err != nil {
		return err
	}
	name, err := q.Required("name")
	if err != nil {
		return err
	}
	scopes := q.List("scopes")
	if len(scopes) == 0 {
		return ci.Errorf(ci.KindInvalid, "400 Bad request - scopes is missing")
	}
	for _, sc := range scopes {
		if !validScopes[sc] {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - scopes does not have a valid value: %q", sc)
		}
	}
	tok := &ci.PersonalToken{UserID: u.ID, Name: name, Scopes: scopes}
	if raw := q.Get("expires_at"); raw != "" {
		t, err := time.Parse("2006-01-02", raw)
		if err != nil {
			return ci.Errorf(ci.KindInvalid, "400 Bad request - expires_at is invalid: %q (YYYY-MM-DD)", raw)
		}
		tok.ExpiresAt = &t
	}
	secret, hash := auth.NewToken(auth.PrefixPersonal)
	tok.TokenHash = hash
	if err := s.Store.CreatePersonalToken(r.Context(), tok); err != nil {
		return err
	}
	e := tokenEntity{ID: tok.ID, Name: tok.Name, CreatedAt: utc(&tok.CreatedAt), Scopes: tok.Scopes, UserID: u.ID, Active: true, Token: secret}
	if tok.ExpiresAt != nil {
		d := tok.ExpiresAt.Format("2006-01-02")
		e.ExpiresAt = &d
	}
	httpx.WriteJSON(w, http.StatusCreated, e)
	return nil
}
