package web

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

// post sends a form with the session cookie.
func (f *fixture) post(path, cookie string, form url.Values) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	w := httptest.NewRecorder()
	f.ui.ServeHTTP(w, r)
	return w
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf is the CSRF token on the page at path for the session.
func (f *fixture) csrf(t *testing.T, path, cookie string) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(f.get(path, cookie).Body.String())
	if m == nil {
		t.Fatalf("no CSRF field on %s", path)
	}
	return m[1]
}

// signedIn reports whether cookie is a live session of root: the private
// project shows (anonymous visitors get 404).
func (f *fixture) signedIn(cookie string) bool {
	return f.get("/root/app", cookie).Code == http.StatusOK
}

func (f *fixture) sessions(t *testing.T) []*ci.Session {
	t.Helper()
	list, err := f.db.ListSessions(context.Background(), f.project.CreatorID)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestSessions(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		f := newFixtureOn(t, db, 5, nil)
		ctx := context.Background()

		t.Run("the cookie holds a secret, the row its hash", func(t *testing.T) {
			list := f.sessions(t)
			if len(list) != 1 || list[0].SecretHash != auth.Hash(f.cookie) || strings.Contains(list[0].SecretHash, f.cookie) {
				t.Fatalf("sessions %+v for cookie %q", list, f.cookie)
			}
			if list[0].UserAgent != "Go-http-client/1.1 (fixture)" || list[0].IP != "192.0.2.1" {
				t.Errorf("session records UA %q and IP %q", list[0].UserAgent, list[0].IP)
			}
		})

		t.Run("sign-out ends a copied cookie too", func(t *testing.T) {
			cookie := f.signIn(t, f.token, "laptop")
			copied := cookie
			if !f.signedIn(copied) {
				t.Fatal("fresh session does not work")
			}
			if w := f.post("/-/sign_out", cookie, url.Values{"_csrf": {f.csrf(t, "/", cookie)}}); w.Code != http.StatusSeeOther {
				t.Fatalf("sign out: %d", w.Code)
			}
			if f.signedIn(copied) {
				t.Error("the copied cookie still works after sign-out")
			}
			if _, err := db.SessionByHash(ctx, auth.Hash(copied)); !ci.IsNotFound(err) {
				t.Errorf("session row after sign-out: %v", err)
			}
		})

		t.Run("sessions page lists and revokes", func(t *testing.T) {
			other := f.signIn(t, f.token, "Other <b>Browser</b>")
			w := f.get("/-/user/sessions", f.cookie)
			body := w.Body.String()
			if w.Code != 200 || !strings.Contains(body, "Other &lt;b&gt;Browser&lt;/b&gt;") || !strings.Contains(body, "this browser") ||
				!strings.Contains(body, "192.0.2.1") {
				t.Fatalf("sessions page: %d %.2000s", w.Code, body)
			}
			if w := f.get("/-/user/sessions", ""); w.Code != http.StatusSeeOther {
				t.Errorf("sessions page anonymous: %d, want 303 to sign-in", w.Code)
			}
			row, err := db.SessionByHash(ctx, auth.Hash(other))
			if err != nil {
				t.Fatal(err)
			}
			revoke := fmt.Sprintf("/-/user/sessions/%d/revoke", row.ID)
			if w := f.post(revoke, f.cookie, url.Values{}); w.Code != http.StatusForbidden {
				t.Errorf("revoke without CSRF token: %d, want 403", w.Code)
			}
			if w := f.post(revoke, "", url.Values{"_csrf": {f.csrf(t, "/", f.cookie)}}); w.Code != http.StatusForbidden {
				t.Errorf("revoke without session: %d, want 403", w.Code)
			}
			if !f.signedIn(other) {
				t.Fatal("refused revokes ended the session")
			}
			if w := f.post(revoke, f.cookie, url.Values{"_csrf": {f.csrf(t, "/", f.cookie)}}); w.Code != http.StatusSeeOther {
				t.Fatalf("revoke: %d %.300s", w.Code, w.Body.String())
			}
			if f.signedIn(other) {
				t.Error("revoked session still works")
			}
			if !f.signedIn(f.cookie) {
				t.Error("revoking another session ended this one")
			}
		})

		t.Run("another user's session cannot be revoked", func(t *testing.T) {
			bob := &ci.User{Username: "bob", Name: "Bob"}
			if err := db.CreateUser(ctx, bob); err != nil {
				t.Fatal(err)
			}
			secret, hash := auth.NewToken(auth.PrefixPersonal)
			if err := db.CreatePersonalToken(ctx, &ci.PersonalToken{UserID: bob.ID, Name: "t", Scopes: []string{ci.ScopeAPI}, TokenHash: hash}); err != nil {
				t.Fatal(err)
			}
			bobCookie := f.signIn(t, secret, "bob")
			row, _ := db.SessionByHash(ctx, auth.Hash(bobCookie))
			w := f.post(fmt.Sprintf("/-/user/sessions/%d/revoke", row.ID), f.cookie, url.Values{"_csrf": {f.csrf(t, "/", f.cookie)}})
			if w.Code != http.StatusNotFound {
				t.Errorf("revoking bob's session as root: %d, want 404", w.Code)
			}
			if _, err := db.SessionByHash(ctx, auth.Hash(bobCookie)); err != nil {
				t.Errorf("bob's session is gone: %v", err)
			}
			if body := f.get("/-/user/sessions", f.cookie).Body.String(); strings.Contains(body, ">bob<") {
				t.Errorf("root's sessions page lists bob's session")
			}
		})

		t.Run("revoking the token ends its sessions", func(t *testing.T) {
			secret, hash := auth.NewToken(auth.PrefixPersonal)
			tok := &ci.PersonalToken{UserID: f.project.CreatorID, Name: "short", Scopes: []string{ci.ScopeReadAPI}, TokenHash: hash}
			if err := db.CreatePersonalToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			cookie := f.signIn(t, secret, "revoke me")
			if !f.signedIn(cookie) {
				t.Fatal("session does not work")
			}
			if _, err := db.SQL().Exec(fmt.Sprintf(`UPDATE personal_tokens SET revoked = TRUE WHERE id = %d`, tok.ID)); err != nil {
				t.Fatal(err)
			}
			if f.signedIn(cookie) {
				t.Error("session of a revoked token still works")
			}
			if _, err := db.SessionByHash(ctx, auth.Hash(cookie)); !ci.IsNotFound(err) {
				t.Errorf("session row of a revoked token: %v", err)
			}
		})

		t.Run("bounded per user", func(t *testing.T) {
			first := f.signIn(t, f.token, "first")
			for i := 0; i < MaxSessionsPerUser; i++ {
				f.signIn(t, f.token, fmt.Sprintf("browser %d", i))
			}
			if n := len(f.sessions(t)); n != MaxSessionsPerUser {
				t.Errorf("%d sessions, want %d", n, MaxSessionsPerUser)
			}
			if f.signedIn(first) {
				t.Error("the oldest session survived")
			}
		})
	})
}

// TestSessionExpiry moves the UI's clock: a session ends after SessionIdle
// without use and SessionMaxAge after sign-in, whichever comes first.
func TestSessionExpiry(t *testing.T) {
	storetest.ForEachEngine(t, func(t *testing.T, db *store.DB) {
		var skew time.Duration
		f := newFixtureOn(t, db, 1, func(d *Deps) {
			d.SessionIdle, d.SessionMaxAge = 2*time.Hour, 5*time.Hour
			d.Now = func() time.Time { return time.Now().Add(skew) }
		})
		for _, tc := range []struct {
			name  string
			steps []time.Duration // clock offsets of requests after sign-in
			alive []bool
		}{
			{"used within the idle time", []time.Duration{time.Hour, 2*time.Hour + 30*time.Minute, 3*time.Hour + 45*time.Minute}, []bool{true, true, true}},
			{"idle too long", []time.Duration{2*time.Hour + time.Minute, 0}, []bool{false, false}},
			{"absolute limit despite use", []time.Duration{time.Hour + 50*time.Minute, 3*time.Hour + 40*time.Minute, 5*time.Hour + time.Minute}, []bool{true, true, false}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				skew = 0
				cookie := f.signIn(t, f.token, tc.name)
				for i, at := range tc.steps {
					skew = at
					if got := f.signedIn(cookie); got != tc.alive[i] {
						t.Fatalf("request %d at +%v: signed in %v, want %v", i, at, got, tc.alive[i])
					}
				}
				skew = 0
				if tc.alive[len(tc.alive)-1] == false && f.signedIn(cookie) {
					t.Error("an ended session came back")
				}
			})
		}
	})
}

// TestCookieSecure: cookies are Secure when the request came over TLS or
// when Baton's external URL is https (TLS ended at a proxy).
func TestCookieSecure(t *testing.T) {
	for _, tc := range []struct {
		external string
		tls      bool
		want     bool
	}{
		{"http://baton.test", false, false},
		{"http://baton.test", true, true},
		{"https://baton.test", false, true},
		{"HTTPS://baton.test", false, true},
		{"https://baton.test", true, true},
	} {
		t.Run(fmt.Sprintf("%s tls=%v", tc.external, tc.tls), func(t *testing.T) {
			f := newFixtureOn(t, storetest.OpenSQLite(t), 1, func(d *Deps) { d.ExternalURL = tc.external })
			// The sign-in page's nonce cookie, the session cookie and the
			// sign-out's cleared cookie.
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/-/sign_in", nil)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			f.ui.ServeHTTP(w, r)
			nonce := w.Result().Cookies()[0]
			form := url.Values{"_csrf": {nonce.Value}, "token": {f.token}}
			r = httptest.NewRequest(http.MethodPost, "/-/sign_in", strings.NewReader(form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(nonce)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w2 := httptest.NewRecorder()
			f.ui.ServeHTTP(w2, r)
			var session *http.Cookie
			for _, ck := range w2.Result().Cookies() {
				if ck.Name == sessionCookie {
					session = ck
				}
			}
			if session == nil {
				t.Fatalf("no session cookie: %d", w2.Code)
			}
			r = httptest.NewRequest(http.MethodPost, "/-/sign_out", strings.NewReader(url.Values{"_csrf": {csrfOf(session.Value)}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.AddCookie(session)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w3 := httptest.NewRecorder()
			f.ui.ServeHTTP(w3, r)
			cleared := w3.Result().Cookies()
			if w3.Code != http.StatusSeeOther || len(cleared) == 0 {
				t.Fatalf("sign out: %d", w3.Code)
			}
			for _, ck := range []*http.Cookie{nonce, session, cleared[0]} {
				if ck.Secure != tc.want {
					t.Errorf("cookie %s: Secure %v, want %v", ck.Name, ck.Secure, tc.want)
				}
				if !ck.HttpOnly {
					t.Errorf("cookie %s is not HttpOnly", ck.Name)
				}
			}
		})
	}
}
