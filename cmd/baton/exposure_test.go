package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUserEntityPrivacy: user objects inside pipelines, jobs, triggers and
// user lookups carry email and is_admin only for the user themselves and
// for administrators; anonymous readers of a public project and other
// users see the public profile only.
func TestUserEntityPrivacy(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		aliceID, alice := in.user("alice")
		var proj apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"open"}, "visibility": {"public"}}, http.StatusCreated, &proj)
		newRepo(t, map[string]string{".gitlab-ci.yml": "build:\n  script: [echo hi]\n"}).git("push", "-q", in.pushURL("root/open"), "main")
		pl := in.latestPipeline(proj.ID)
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", proj.ID), url.Values{"user_id": {fmt.Sprint(aliceID)}, "access_level": {"40"}}, http.StatusCreated, nil)
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", proj.ID), url.Values{"description": {"t"}}, http.StatusCreated, nil)

		rootEmail := `"email":"admin@example.com"`
		pipeline := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", proj.ID, pl.ID)
		jobs := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs", proj.ID, pl.ID)
		triggers := fmt.Sprintf("/api/v4/projects/%d/triggers", proj.ID)
		for _, tc := range []struct {
			name, path, token string
			private           bool // whether email and is_admin are shown
			field             string
		}{
			{"anonymous pipeline", pipeline, "", false, "user"},
			{"other user's pipeline", pipeline, alice, false, "user"},
			{"admin pipeline", pipeline, in.token, true, "user"},
			{"other user's jobs", jobs, alice, false, "user"},
			{"admin jobs", jobs, in.token, true, "user"},
			{"other user's triggers", triggers, alice, false, "owner"},
			{"admin triggers", triggers, in.token, true, "owner"},
			{"other user's lookup", "/api/v4/users?username=root", alice, false, ""},
			{"admin lookup", "/api/v4/users?username=root", in.token, true, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := map[string]string{}
				if tc.token != "" {
					h["PRIVATE-TOKEN"] = tc.token
				}
				status, body, _ := in.do("GET", tc.path, h, nil)
				if status != http.StatusOK {
					t.Fatalf("status %d: %s", status, body)
				}
				for _, u := range userObjects(t, body, tc.field) {
					if u["username"] != "root" {
						t.Fatalf("user object %v is not root's", u)
					}
					_, hasEmail := u["email"]
					_, hasAdmin := u["is_admin"]
					if hasEmail != tc.private || hasAdmin != tc.private {
						t.Errorf("user object %v: email shown %v, is_admin shown %v; want %v", u, hasEmail, hasAdmin, tc.private)
					}
					if tc.private && (u["email"] != "admin@example.com" || u["is_admin"] != true) {
						t.Errorf("admin sees %v", u)
					}
				}
				if !tc.private && strings.Contains(string(body), rootEmail) {
					t.Errorf("root's email in %s", body)
				}
			})
		}
		t.Run("self", func(t *testing.T) {
			var me map[string]any
			_, body, _ := in.do("GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": alice}, nil)
			if err := json.Unmarshal(body, &me); err != nil || me["email"] != "alice@example.com" || me["is_admin"] != false {
				t.Errorf("alice's own profile: %s", body)
			}
			_, body, _ = in.do("GET", "/api/v4/users?username=alice", map[string]string{"PRIVATE-TOKEN": in.token}, nil)
			if !strings.Contains(string(body), `"email":"alice@example.com"`) {
				t.Errorf("admin's lookup of alice: %s", body)
			}
		})
	})
}

// userObjects finds the user objects in a JSON object or list: the field
// of each element, or the elements themselves when field is "".
func userObjects(t *testing.T, body []byte, field string) []map[string]any {
	t.Helper()
	var list []map[string]any
	if body[0] == '{' {
		var one map[string]any
		if err := json.Unmarshal(body, &one); err != nil {
			t.Fatal(err)
		}
		list = []map[string]any{one}
	} else if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, x := range list {
		if field == "" {
			out = append(out, x)
			continue
		}
		u, ok := x[field].(map[string]any)
		if !ok {
			t.Fatalf("no %s object in %v", field, x)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		t.Fatalf("no user objects in %s", body)
	}
	return out
}

// TestPaginationLinkIgnoresHost: the Link header's URLs start with the
// external URL whatever Host header the client sends.
func TestPaginationLinkIgnoresHost(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		for _, name := range []string{"one", "two", "three"} {
			in.api("POST", "/api/v4/projects", url.Values{"name": {name}}, http.StatusCreated, nil)
		}
		for _, host := range []string{"", "evil.example", "evil.example:443"} {
			req, err := http.NewRequest("GET", in.url+"/api/v4/projects?per_page=1&page=2&private_token="+in.token, nil)
			if err != nil {
				t.Fatal(err)
			}
			if host != "" {
				req.Host = host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			link := resp.Header.Get("Link")
			links := strings.Split(link, ", ")
			if len(links) != 4 { // prev, next, first, last
				t.Fatalf("Host %q: Link %q, want 4 links", host, link)
			}
			for _, l := range links {
				if !strings.HasPrefix(l, "<"+in.url+"/api/v4/projects?") || strings.Contains(l, "evil") || strings.Contains(l, in.token) {
					t.Errorf("Host %q: link %q does not start with the external URL %s (or leaks the token)", host, l, in.url)
				}
			}
		}
	})
}

// TestMetricsToken: with --metrics-token, GET /metrics needs it as a
// bearer token; without, /metrics stays open.
func TestMetricsToken(t *testing.T) {
	get := func(t *testing.T, in *instance, auth string) (int, string) {
		h := map[string]string{}
		if auth != "" {
			h["Authorization"] = auth
		}
		status, body, _ := in.do("GET", "/metrics", h, nil)
		return status, string(body)
	}
	t.Run("set", func(t *testing.T) {
		in := startBaton(t, engines()[0], func(c *Config) { c.MetricsToken = "m3trics-s3cret" })
		for _, tc := range []struct {
			auth string
			want int
		}{
			{"", 401},
			{"Bearer wrong", 401},
			{"Bearer m3trics-s3cre", 401},
			{"Bearer m3trics-s3cret-", 401},
			{"Basic bTNlcmljcy1zM2NyZXQ=", 401},
			{"m3trics-s3cret", 401},
			{"Bearer m3trics-s3cret", 200},
			{"bearer m3trics-s3cret", 200},
		} {
			status, body := get(t, in, tc.auth)
			if status != tc.want {
				t.Errorf("Authorization %q: %d, want %d", tc.auth, status, tc.want)
			}
			if has := strings.Contains(body, "baton_http_requests_total"); has != (tc.want == 200) {
				t.Errorf("Authorization %q: metrics shown %v", tc.auth, has)
			}
		}
		if status, _, _ := in.do("GET", "/metrics?token=m3trics-s3cret", nil, nil); status != 401 {
			t.Errorf("token in the query: %d, want 401", status)
		}
	})
	t.Run("unset", func(t *testing.T) {
		in := startBaton(t, engines()[0])
		if status, body := get(t, in, ""); status != 200 || !strings.Contains(body, "baton_http_requests_total") {
			t.Errorf("open metrics: %d", status)
		}
	})
}
