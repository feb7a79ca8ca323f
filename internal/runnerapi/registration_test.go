package runnerapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// registered is the register/verify answer with the runner's strict types.
type registered struct {
	ID             int64   `json:"id"`
	Token          string  `json:"token"`
	TokenExpiresAt *string `json:"token_expires_at"`
}

func TestLegacyRegistration(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	regToken, err := e.srv.RegistrationToken(ctx)
	if err != nil || !strings.HasPrefix(regToken, auth.PrefixRegistration) {
		t.Fatalf("RegistrationToken = %q, %v", regToken, err)
	}
	if again, _ := e.srv.RegistrationToken(ctx); again != regToken {
		t.Fatalf("second RegistrationToken = %q, want the first %q", again, regToken)
	}

	// What `gitlab-runner register -r TOKEN --tag-list "a, b" --maximum-timeout 900` sends.
	body := map[string]any{
		"token": regToken, "description": "my runner", "tag_list": "a, b", "run_untagged": false,
		"locked": true, "paused": false, "maximum_timeout": 900, "info": runnerInfoBody,
	}
	t.Run("bad token", func(t *testing.T) {
		bad := map[string]any{"token": "nope", "run_untagged": true, "locked": false, "paused": false}
		expectJSON(t, e.do("POST", "/api/v4/runners", bad), http.StatusForbidden, nil)
	})

	resp := e.do("POST", "/api/v4/runners", body, "Accept", "application/json")
	raw := expect(t, resp, http.StatusCreated)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("register Content-Type %q", ct)
	}
	if !strings.Contains(string(raw), `"token_expires_at":null`) {
		t.Fatalf("register body %s: token_expires_at must be null", raw)
	}
	var reg registered
	if err := json.Unmarshal(raw, &reg); err != nil || reg.ID == 0 || !strings.HasPrefix(reg.Token, auth.PrefixRunner) {
		t.Fatalf("register body %s: %v", raw, err)
	}
	rn, err := e.db.RunnerByID(ctx, reg.ID)
	if err != nil {
		t.Fatalf("loading runner: %v", err)
	}
	if !reflect.DeepEqual(rn.Tags, []string{"a", "b"}) || rn.RunUntagged || !rn.Locked || rn.MaximumTimeout != 900 ||
		rn.Description != "my runner" || rn.RunnerType != ci.RunnerInstance || rn.TokenHash != auth.Hash(reg.Token) {
		t.Fatalf("stored runner %+v", rn)
	}

	verify := func(tok string) *http.Response {
		return e.do("POST", "/api/v4/runners/verify", map[string]any{"token": tok, "system_id": "s_0123456789ab", "info": runnerInfoBody},
			"Runner-Token", tok, "Accept", "application/json")
	}
	t.Run("verify", func(t *testing.T) {
		var v registered
		expectJSON(t, verify(reg.Token), http.StatusOK, &v)
		if v.ID != reg.ID || v.Token != reg.Token || v.TokenExpiresAt != nil {
			t.Fatalf("verify = %+v", v)
		}
		expectJSON(t, verify("glrt-unknown"), http.StatusForbidden, nil)
	})

	t.Run("reset token", func(t *testing.T) {
		var v registered
		expectJSON(t, e.do("POST", "/api/v4/runners/reset_authentication_token", map[string]any{"token": reg.Token}), http.StatusCreated, &v)
		if v.Token == "" || v.Token == reg.Token {
			t.Fatalf("reset gave %+v", v)
		}
		expectJSON(t, verify(reg.Token), http.StatusForbidden, nil)
		expectJSON(t, verify(v.Token), http.StatusOK, nil)
		reg.Token = v.Token
	})

	t.Run("unregister manager keeps the runner", func(t *testing.T) {
		expect(t, e.do("DELETE", "/api/v4/runners/managers", map[string]any{"token": reg.Token, "system_id": "s_0123456789ab"}), http.StatusNoContent)
		expectJSON(t, verify(reg.Token), http.StatusOK, nil)
		expectJSON(t, e.do("DELETE", "/api/v4/runners/managers", map[string]any{"token": "x"}), http.StatusForbidden, nil)
	})

	t.Run("unregister", func(t *testing.T) {
		expect(t, e.do("DELETE", "/api/v4/runners", map[string]any{"token": reg.Token}), http.StatusNoContent)
		expectJSON(t, verify(reg.Token), http.StatusForbidden, nil)
		expectJSON(t, e.do("DELETE", "/api/v4/runners", map[string]any{"token": reg.Token}), http.StatusForbidden, nil)
	})
}

func TestUserRunners(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dev := &ci.User{Username: "dev", Email: "dev@example.com"}
	maint := &ci.User{Username: "maint", Email: "maint@example.com"}
	for _, u := range []*ci.User{dev, maint} {
		if err := e.db.CreateUser(ctx, u); err != nil {
			t.Fatalf("creating user: %v", err)
		}
	}
	if err := e.db.SetMember(ctx, &ci.Member{UserID: dev.ID, ProjectID: e.project.ID, AccessLevel: ci.AccessDeveloper}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SetMember(ctx, &ci.Member{UserID: maint.ID, ProjectID: e.project.ID, AccessLevel: ci.AccessMaintainer}); err != nil {
		t.Fatal(err)
	}
	devPAT, maintPAT := e.token(dev, ci.ScopeCreateRunner), e.token(maint, ci.ScopeCreateRunner)
	readPAT := e.token(e.admin, ci.ScopeReadAPI)

	cases := []struct {
		name   string
		pat    string
		body   map[string]any
		status int
	}{
		{"admin instance runner, tags as array", e.pat, map[string]any{"runner_type": "instance_type", "tag_list": []string{"x", "y"}, "description": "i"}, http.StatusCreated},
		{"admin instance runner, tags as string", e.pat, map[string]any{"runner_type": "instance_type", "tag_list": "x,y"}, http.StatusCreated},
		{"maintainer project runner", maintPAT, map[string]any{"runner_type": "project_type", "project_id": e.project.ID}, http.StatusCreated},
		{"developer project runner", devPAT, map[string]any{"runner_type": "project_type", "project_id": e.project.ID}, http.StatusForbidden},
		{"non-admin instance runner", maintPAT, map[string]any{"runner_type": "instance_type"}, http.StatusForbidden},
		{"missing runner_type", e.pat, map[string]any{}, http.StatusBadRequest},
		{"project runner without project", e.pat, map[string]any{"runner_type": "project_type"}, http.StatusBadRequest},
		{"read_api scope", readPAT, map[string]any{"runner_type": "instance_type"}, http.StatusForbidden},
		{"no token", "", map[string]any{"runner_type": "instance_type"}, http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reg registered
			expectJSON(t, e.do("POST", "/api/v4/user/runners", c.body, "Private-Token", c.pat), c.status, &reg)
			if c.status != http.StatusCreated {
				return
			}
			if reg.ID == 0 || !strings.HasPrefix(reg.Token, auth.PrefixRunner) {
				t.Fatalf("created %+v", reg)
			}
			// gitlab-runner register --token glrt-... verifies it.
			var v registered
			expectJSON(t, e.do("POST", "/api/v4/runners/verify", map[string]any{"token": reg.Token}), http.StatusOK, &v)
			if v.ID != reg.ID {
				t.Fatalf("verify id %d, want %d", v.ID, reg.ID)
			}
			rn, _ := e.db.RunnerByID(ctx, reg.ID)
			if tags, ok := c.body["tag_list"]; ok && !reflect.DeepEqual(rn.Tags, []string{"x", "y"}) {
				t.Fatalf("tags %q from %v", rn.Tags, tags)
			}
		})
	}

	t.Run("list, update, reset, delete", func(t *testing.T) {
		var list []map[string]any
		resp := e.do("GET", "/api/v4/runners?per_page=100", nil, "Private-Token", e.pat)
		expectJSON(t, resp, http.StatusOK, &list)
		if len(list) != 4 || resp.Header.Get("X-Total") != "4" { // env's runner + 3 created
			t.Fatalf("listed %d runners (X-Total %q): %v", len(list), resp.Header.Get("X-Total"), list)
		}
		for _, k := range []string{"id", "description", "active", "paused", "is_shared", "runner_type", "name", "online", "status", "ip_address"} {
			if _, ok := list[0][k]; !ok {
				t.Fatalf("runner entity lacks %q: %v", k, list[0])
			}
		}
		expectJSON(t, e.do("GET", "/api/v4/runners", nil, "Private-Token", maintPAT), http.StatusForbidden, nil)

		id := int64(list[0]["id"].(float64))
		path := "/api/v4/runners/" + itoa(id)
		var got runnerJSON
		expectJSON(t, e.do("PUT", path, map[string]any{"paused": true, "tag_list": "p,q", "description": "new"}, "Private-Token", e.pat), http.StatusOK, &got)
		if !got.Paused || got.Active || got.Description != "new" || !reflect.DeepEqual(got.TagList, []string{"p", "q"}) {
			t.Fatalf("updated %+v", got)
		}
		// Read-only tokens, even an administrator's, change nothing.
		adminRead, adminClone := e.token(e.admin, ci.ScopeReadAPI), e.token(e.admin, ci.ScopeReadRepo)
		for _, c := range []struct{ method, path, pat string }{
			{"PUT", path, adminRead},
			{"POST", path + "/reset_authentication_token", adminRead},
			{"DELETE", path, adminClone},
			{"GET", "/api/v4/runners", adminClone},
		} {
			expectJSON(t, e.do(c.method, c.path, map[string]any{"description": "pwned"}, "Private-Token", c.pat), http.StatusForbidden, nil)
		}
		expectJSON(t, e.do("GET", path, nil, "Private-Token", adminRead), http.StatusOK, nil)
		var tok registered
		expectJSON(t, e.do("POST", path+"/reset_authentication_token", nil, "Private-Token", e.pat), http.StatusCreated, &tok)
		if rn, _ := e.db.RunnerByID(ctx, id); rn.TokenHash != auth.Hash(tok.Token) {
			t.Fatalf("reset token not stored")
		}
		expect(t, e.do("DELETE", path, nil, "Private-Token", e.pat), http.StatusNoContent)
		expectJSON(t, e.do("GET", path, nil, "Private-Token", e.pat), http.StatusNotFound, nil)
	})
}

func TestResetRegistrationToken(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old, err := e.srv.RegistrationToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	register := func(tok string) *http.Response {
		return e.do("POST", "/api/v4/runners", map[string]any{"token": tok, "run_untagged": true, "locked": false, "paused": false})
	}
	reset := func(pat string) *http.Response {
		return e.do("POST", "/api/v4/runners/reset_registration_token", nil, "Private-Token", pat)
	}
	expectJSON(t, reset(e.token(e.admin, ci.ScopeReadAPI)), http.StatusForbidden, nil)
	other := &ci.User{Username: "someone", Email: "s@example.com"}
	if err := e.db.CreateUser(ctx, other); err != nil {
		t.Fatal(err)
	}
	expectJSON(t, reset(e.token(other, ci.ScopeAPI)), http.StatusForbidden, nil)
	var got registered
	expectJSON(t, reset(e.pat), http.StatusCreated, &got)
	if !strings.HasPrefix(got.Token, auth.PrefixRegistration) || got.Token == old {
		t.Fatalf("reset gave %q (old %q)", got.Token, old)
	}
	if now, _ := e.srv.RegistrationToken(ctx); now != got.Token {
		t.Fatalf("RegistrationToken = %q after reset to %q", now, got.Token)
	}
	expectJSON(t, register(old), http.StatusForbidden, nil)
	expectJSON(t, register(got.Token), http.StatusCreated, nil)
}
