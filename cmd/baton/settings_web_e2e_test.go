package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestGroupAndInstanceVariablesPages drives /-/groups/<group>/settings/ci_cd
// and /-/admin/ci_cd: a group's Owner and an administrator add,
// change and delete variables through CSRF-checked forms, the API sees
// them, a masked value never appears in the HTML; a group Maintainer may
// not read them, a stranger finds a private group missing, and only
// administrators reach the instance's page.
func TestGroupAndInstanceVariablesPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, withSecretsKey(testSecretsKey))
		var group struct {
			ID int64 `json:"id"`
		}
		in.api("POST", "/api/v4/groups", url.Values{"name": {"Team"}, "path": {"team"}, "visibility": {"private"}}, http.StatusCreated, &group)
		ownerID, ownerTok := in.user("gowner")
		maintID, maintTok := in.user("gmaint")
		_, strangerTok := in.user("stranger")
		for id, lvl := range map[int64]string{ownerID: "50", maintID: "40"} {
			in.api("POST", fmt.Sprintf("/api/v4/groups/%d/members", group.ID), url.Values{"user_id": {fmt.Sprint(id)}, "access_level": {lvl}}, http.StatusCreated, nil)
		}
		secret := "Group-Html-Never-Sees-42"
		for _, c := range []struct {
			name, page, api, token string
		}{
			{"group", "/-/groups/team/settings/ci_cd", fmt.Sprintf("/api/v4/groups/%d/variables", group.ID), ownerTok},
			{"instance", "/-/admin/ci_cd", "/api/v4/admin/ci/variables", in.token},
		} {
			b := newBrowser(t, in.url)
			b.signIn(c.token)
			tok := b.csrf(c.page)
			if st, body, _ := b.post(c.page+"/variables", url.Values{"_csrf": {"x" + tok}, "key": {"A"}, "value": {"b"}}); st != http.StatusForbidden {
				t.Errorf("%s: a wrong CSRF token: %d %.200s", c.name, st, body)
			}
			add := url.Values{"_csrf": {tok}, "key": {"DEPLOY_SECRET"}, "value": {secret}, "masked": {"true"}, "protected": {"true"}, "description": {"d"}}
			if st, body, _ := b.post(c.page+"/variables", add); st != http.StatusSeeOther {
				t.Fatalf("%s: adding: %d %.300s", c.name, st, body)
			}
			if st, body, _ := b.post(c.page+"/variables", url.Values{"_csrf": {tok}, "key": {"PLAIN"}, "value": {"plain-value"}}); st != http.StatusSeeOther {
				t.Fatalf("%s: adding a plain variable: %d %.300s", c.name, st, body)
			}
			st, body, _ := b.get(c.page)
			if st != http.StatusOK || strings.Contains(body, secret) || !strings.Contains(body, "DEPLOY_SECRET") ||
				!strings.Contains(body, "*****") || !strings.Contains(body, "plain-value") {
				t.Errorf("%s page (%d) shows the masked value or lacks the variables:\n%s", c.name, st, body)
			}
			st, body, _ = b.post(c.page+"/variables", url.Values{"_csrf": {tok}, "key": {"SHORT"}, "value": {"tiny"}, "masked": {"true"}})
			if st != http.StatusUnprocessableEntity || !strings.Contains(body, "cannot be masked") {
				t.Errorf("%s: an unmaskable value: %d %.300s", c.name, st, body)
			}
			if st, body, _ := b.post(c.page+"/variables/update", url.Values{"_csrf": {tok}, "key": {"DEPLOY_SECRET"}, "original_environment_scope": {"*"},
				"value": {""}, "masked": {"true"}, "description": {"changed"}}); st != http.StatusSeeOther {
				t.Fatalf("%s: updating: %d %.300s", c.name, st, body)
			}
			var v struct {
				Value       string `json:"value"`
				Protected   bool   `json:"protected"`
				Masked      bool   `json:"masked"`
				Description string `json:"description"`
			}
			in.api("GET", c.api+"/DEPLOY_SECRET", nil, http.StatusOK, &v)
			if v.Value != secret || v.Protected || !v.Masked || v.Description != "changed" {
				t.Errorf("%s: after the update: %+v", c.name, v)
			}
			if _, body, _ = b.get(c.page); strings.Contains(body, secret) {
				t.Errorf("%s: the page shows the masked value after an update", c.name)
			}
			if st, body, _ := b.post(c.page+"/variables/delete", url.Values{"_csrf": {tok}, "key": {"PLAIN"}, "environment_scope": {"*"}}); st != http.StatusSeeOther {
				t.Fatalf("%s: deleting: %d %.300s", c.name, st, body)
			}
			in.api("GET", c.api+"/PLAIN", nil, http.StatusNotFound, nil)
		}

		// Who else: a group Maintainer is refused (Owners only), a stranger
		// finds the private group as missing as one that does not exist,
		// only administrators see the instance's variables.
		for _, c := range []struct {
			who, token, path string
			want             int
		}{
			{"group maintainer", maintTok, "/-/groups/team/settings/ci_cd", http.StatusForbidden},
			{"stranger", strangerTok, "/-/groups/team/settings/ci_cd", http.StatusNotFound},
			{"group owner", ownerTok, "/-/admin/ci_cd", http.StatusForbidden},
		} {
			b := newBrowser(t, in.url)
			b.signIn(c.token)
			st, body, _ := b.get(c.path)
			if st != c.want || strings.Contains(body, "DEPLOY_SECRET") {
				t.Errorf("%s GET %s: %d, want %d", c.who, c.path, st, c.want)
			}
			if st, _, _ := b.post(c.path+"/variables", url.Values{"_csrf": {b.csrf("/")}, "key": {"X"}, "value": {"y"}}); st != c.want {
				t.Errorf("%s POST %s/variables: %d, want %d", c.who, c.path, st, c.want)
			}
			if c.want == http.StatusNotFound {
				ms, mb, _ := b.get("/-/groups/nope/settings/ci_cd")
				if ms != st || mb != strings.ReplaceAll(body, "team", "nope") {
					t.Errorf("a private group answers %d, a missing one %d (bodies differ: %v)", st, ms, mb != body)
				}
			}
		}
	})
}

// TestProtectedTagsAndHookEditPages: a Maintainer protects a tag (with a
// wildcard and who may create) on the settings page and unprotects it, and
// edits a webhook (URL, token, events, SSL verification) whose next test
// delivery goes to the new URL with the new token and is listed on the
// edit page; a Developer can do neither.
func TestProtectedTagsAndHookEditPages(t *testing.T) {
	// No default branch protection: the test counts the branch rules.
	in := startBaton(t, engines()[0], func(c *Config) { c.AllowLocalWebhooks, c.WebhookPoll = true, 20*time.Millisecond },
		withDefaultBranchProtection("none"))
	pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": "build:\n  script: [true]\n"})
	in.latestPipeline(pid) // the hook's test event needs one
	b := newBrowser(t, in.url)
	b.signIn(in.token)
	const settings, hooks = "/root/app/-/settings", "/root/app/-/hooks"
	tok := b.csrf(settings)
	if st, body, _ := b.post(settings+"/protected_tags", url.Values{"_csrf": {tok}, "name": {"v*"}, "create_access_level": {"30"}}); st != http.StatusSeeOther {
		t.Fatalf("protecting a tag: %d %.300s", st, body)
	}
	if st, body, _ := b.post(settings+"/protected_tags", url.Values{"_csrf": {tok}, "name": {"v*"}, "create_access_level": {"40"}}); st != http.StatusUnprocessableEntity || !strings.Contains(body, "protected already") {
		t.Errorf("protecting it twice: %d", st)
	}
	if st, _, _ := b.post(settings+"/protected_tags", url.Values{"_csrf": {tok}, "name": {"bad name"}, "create_access_level": {"40"}}); st != http.StatusUnprocessableEntity {
		t.Errorf("an invalid tag name: %d", st)
	}
	var pts []struct {
		Name               string `json:"name"`
		CreateAccessLevels []struct {
			AccessLevel int `json:"access_level"`
		} `json:"create_access_levels"`
	}
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/protected_tags", pid), nil, http.StatusOK, &pts)
	if len(pts) != 1 || pts[0].Name != "v*" || len(pts[0].CreateAccessLevels) != 1 || pts[0].CreateAccessLevels[0].AccessLevel != 30 {
		t.Errorf("protected tags after the form: %+v", pts)
	}
	var pbs []any
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/protected_branches", pid), nil, http.StatusOK, &pbs)
	if len(pbs) != 0 {
		t.Errorf("the tag form protected a branch: %v", pbs)
	}
	if _, body, _ := b.get(settings); !strings.Contains(body, `<tr data-tag="v*"><td><code>v*</code></td><td>Developers &#43; Maintainers</td>`) {
		t.Errorf("the settings page lacks the protected tag")
	}

	// A Developer may not protect or unprotect, nor edit hooks.
	devID, devTok := in.user("dev")
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
	d := newBrowser(t, in.url)
	d.signIn(devTok)
	dtok := d.csrf("/")
	if st, _, _ := d.post(settings+"/protected_tags/delete", url.Values{"_csrf": {dtok}, "name": {"v*"}}); st != http.StatusForbidden {
		t.Errorf("a Developer unprotecting: %d", st)
	}
	if st, _, _ := b.post(settings+"/protected_tags/delete", url.Values{"_csrf": {tok}, "name": {"v*"}}); st != http.StatusSeeOther {
		t.Errorf("unprotecting: %d", st)
	}
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/protected_tags", pid), nil, http.StatusOK, &pts)
	if len(pts) != 0 {
		t.Errorf("protected tags after unprotecting: %+v", pts)
	}

	// Hook editing.
	first, second := newReceiver(t, 0), newReceiver(t, 0)
	var h struct {
		ID int64 `json:"id"`
	}
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/hooks", pid), url.Values{"url": {first.srv.URL}, "token": {"old-token"}}, http.StatusCreated, &h)
	edit := fmt.Sprintf("%s/%d/edit", hooks, h.ID)
	st, body, _ := b.get(edit)
	if st != http.StatusOK || !strings.Contains(body, first.srv.URL) || strings.Contains(body, "old-token") {
		t.Fatalf("edit page: %d (shows the token: %v)", st, strings.Contains(body, "old-token"))
	}
	if st, _, _ := d.get(edit); st != http.StatusForbidden {
		t.Errorf("a Developer's edit page: %d", st)
	}
	if st, _, _ := d.post(edit, url.Values{"_csrf": {dtok}, "url": {second.srv.URL}}); st != http.StatusForbidden {
		t.Errorf("a Developer's edit: %d", st)
	}
	etok := b.csrf(edit)
	if st, body, _ := b.post(edit, url.Values{"_csrf": {etok}, "url": {"ftp://example.com/x"}, "pipeline_events": {"true"}}); st != http.StatusUnprocessableEntity || strings.Contains(body, "old-token") {
		t.Errorf("an invalid URL: %d", st)
	}
	form := url.Values{"_csrf": {etok}, "url": {second.srv.URL + "/new"}, "token": {"new-token"}, "pipeline_events": {"true"}, "job_events": {"true"},
		"enable_ssl_verification": {"true"}}
	if st, body, _ := b.post(edit, form); st != http.StatusSeeOther {
		t.Fatalf("editing: %d %.300s", st, body)
	}
	type hookJSON struct {
		URL            string `json:"url"`
		PushEvents     bool   `json:"push_events"`
		PipelineEvents bool   `json:"pipeline_events"`
		JobEvents      bool   `json:"job_events"`
		SSL            bool   `json:"enable_ssl_verification"`
	}
	var got hookJSON
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/hooks/%d", pid, h.ID), nil, http.StatusOK, &got)
	if want := (hookJSON{second.srv.URL + "/new", false, true, true, true}); got != want {
		t.Errorf("after the edit: %+v, want %+v", got, want)
	}
	// An empty token keeps the stored one; SSL verification off.
	form.Del("token")
	form.Del("enable_ssl_verification")
	if st, body, _ := b.post(edit, form); st != http.StatusSeeOther {
		t.Fatalf("editing again: %d %.300s", st, body)
	}
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/hooks/%d", pid, h.ID), nil, http.StatusOK, &got)
	if got.SSL {
		t.Errorf("SSL verification still on after unchecking it")
	}
	if st, body, _ := b.post(fmt.Sprintf("%s/%d/test", hooks, h.ID), url.Values{"_csrf": {b.csrf(hooks)}, "trigger": {"push_events"}}); st != http.StatusSeeOther {
		t.Errorf("test: %d %s", st, body)
	}
	eventually(t, 15*time.Second, "the test delivery on the edit page", func() bool {
		_, page, _ := b.get(edit)
		return strings.Contains(page, `id="deliveries"`) && strings.Contains(page, "Push Hook") && strings.Contains(page, "delivered")
	})
	if g := second.all(); len(g) != 1 || g[0].token != "new-token" || g[0].event != "Push Hook" {
		t.Errorf("the new receiver got %+v", g)
	}
	if g := first.all(); len(g) != 0 {
		t.Errorf("the old receiver got %d requests", len(g))
	}
}
