package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestAutomationPages: a signed-in Maintainer creates a schedule and a
// webhook through the pages' forms (with their CSRF tokens), runs the
// schedule and tests the hook, and the pages show what happened; a form
// without the CSRF token changes nothing; a stranger sees neither page.
func TestAutomationPages(t *testing.T) {
	in := startBaton(t, engines()[0], func(c *Config) { c.AllowLocalWebhooks, c.WebhookPoll = true, 20*time.Millisecond })
	pid, _ := in.project("pages", map[string]string{".gitlab-ci.yml": scheduledPipelineConfig})
	b := newBrowser(t, in.url)
	b.signIn(in.token)
	const S, H = "/root/pages/-/pipeline_schedules", "/root/pages/-/hooks"
	if st, _, _ := b.post(S, url.Values{"description": {"no csrf"}, "ref": {"main"}, "cron": {"0 3 * * *"}}); st != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d, want 403", st)
	}
	form := url.Values{"_csrf": {b.csrf(S)}, "description": {"nightly from the page"}, "ref": {"main"}, "cron": {"0 3 * * 1-5"},
		"cron_timezone": {"Europe/Berlin"}, "active": {"true"}}
	if st, body, _ := b.post(S, form); st != http.StatusSeeOther {
		t.Fatalf("creating a schedule: %d %s", st, body)
	}
	form.Set("cron", "61 * * * *")
	if st, body, _ := b.post(S, form); st != http.StatusUnprocessableEntity || !strings.Contains(body, "cron is invalid") {
		t.Errorf("invalid cron: %d", st)
	}
	var scs []struct {
		ID int64 `json:"id"`
	}
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules", pid), nil, http.StatusOK, &scs)
	if len(scs) != 1 {
		t.Fatalf("%d schedules, want 1", len(scs))
	}
	if st, _, h := b.post(fmt.Sprintf("%s/%d/play", S, scs[0].ID), url.Values{"_csrf": {b.csrf(S)}}); st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "/-/pipelines/") {
		t.Errorf("run now: %d %s", st, h.Get("Location"))
	}
	if n := len(schedulePipelines(t, in, pid)); n != 1 {
		t.Errorf("%d scheduled pipelines after Run now, want 1", n)
	}
	st, page, _ := b.get(S)
	if st != http.StatusOK || !strings.Contains(page, "nightly from the page") || !strings.Contains(page, "Europe/Berlin") {
		t.Errorf("schedules page: %d", st)
	}

	rc := newReceiver(t, 0)
	if st, body, _ := b.post(H, url.Values{"_csrf": {b.csrf(H)}, "url": {rc.srv.URL}, "token": {"tok"}, "pipeline_events": {"true"}}); st != http.StatusSeeOther {
		t.Fatalf("adding a hook: %d %s", st, body)
	}
	var hs []struct {
		ID int64 `json:"id"`
	}
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/hooks", pid), nil, http.StatusOK, &hs)
	if len(hs) != 1 {
		t.Fatalf("%d hooks", len(hs))
	}
	if st, _, _ := b.post(fmt.Sprintf("%s/%d/test", H, hs[0].ID), url.Values{"_csrf": {b.csrf(H)}, "trigger": {"pipeline_events"}}); st != http.StatusSeeOther {
		t.Errorf("test: %d", st)
	}
	eventually(t, 15*time.Second, "the test delivery on the page", func() bool {
		_, page, _ := b.get(H)
		return strings.Contains(page, "Pipeline Hook") && strings.Contains(page, "delivered")
	})
	if got := rc.all(); len(got) != 1 || got[0].token != "tok" {
		t.Errorf("receiver got %d requests", len(got))
	}

	// A stranger sees neither page, as for a missing project.
	_, tok := in.user("stranger")
	sb := newBrowser(t, in.url)
	sb.signIn(tok)
	for _, p := range []string{S, H} {
		if st, _, _ := sb.get(p); st != http.StatusNotFound {
			t.Errorf("stranger GET %s: %d, want 404", p, st)
		}
	}
}
