package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/batonci/baton/internal/store"
)

// TestOneFileReadStatements holds reading one file of a job's archive
// (GitLab's job scope, the benchmark's read) to its database budget: the
// token with its user, the project (with the caller's level when the
// policy needs it), the job with its archives. An administrator's token
// and a member's both cost three statements.
func TestOneFileReadStatements(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("reads", map[string]string{".gitlab-ci.yml": "build:\n  script: [echo]\n"})
		j := in.requestJob(in.runnerToken())
		in.finishJob(j, true)
		memberID, memberToken := in.user("reader")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(memberID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		path := fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts/out/secret.txt", pid, j.ID)
		h := in.main.Handler()
		read := func(token string) (int, string, int64) {
			var n atomic.Int64
			req := httptest.NewRequest("GET", path, nil).WithContext(store.WithStatementCount(context.Background(), &n))
			req.Header.Set("PRIVATE-TOKEN", token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code, rec.Body.String(), n.Load()
		}
		for _, c := range []struct {
			who, token string
			budget     int64
		}{{"administrator", in.token, 3}, {"reporter", memberToken, 3}} {
			read(c.token) // records the token's use, at most once a minute
			status, body, n := read(c.token)
			if status != http.StatusOK || body != "the build's output\n" {
				t.Fatalf("%s: %d %q", c.who, status, body)
			}
			t.Logf("%s: %d statements", c.who, n)
			if n == 0 || n > c.budget {
				t.Errorf("%s: a one-file read ran %d statements, want at most %d", c.who, n, c.budget)
			}
		}
	})
}

// TestProjectPageStatements holds the web project page to its database
// budget for a member: the project with the member's level in one query
// (not a second query for the level), the policy asked once for
// ReadProject and with no query of its own for each button's ability.
func TestProjectPageStatements(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("page", map[string]string{".gitlab-ci.yml": "build:\n  script: [echo]\n"})
		memberID, memberToken := in.user("viewer")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(memberID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		b := newBrowser(t, in.url)
		b.signIn(memberToken)
		u, _ := url.Parse(in.url)
		h := in.main.Handler()
		read := func() (int, string, int64) {
			var n atomic.Int64
			req := httptest.NewRequest("GET", "/root/page", nil).WithContext(store.WithStatementCount(context.Background(), &n))
			for _, ck := range b.c.Jar.Cookies(u) {
				req.AddCookie(ck)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec.Code, rec.Body.String(), n.Load()
		}
		read() // records the session's use, at most once a minute
		status, body, n := read()
		if status != http.StatusOK || !strings.Contains(body, "/root/page.git") {
			t.Fatalf("project page: %d %.300q", status, body)
		}
		t.Logf("project page: %d statements", n)
		if n == 0 || n > projectPageBudget {
			t.Errorf("the project page ran %d statements, want at most %d", n, projectPageBudget)
		}
	})
}

// projectPageBudget is what the page runs on both engines. It was 11 when the
// frame and the route both asked for ReadProject and every ability asked
// for the level again.
const projectPageBudget = 5

// TestListStatementsPerItem: an API list costs each item no more than the
// owner it shows. The caller is authenticated once per request, not again
// for every owner rendered (which cost a token lookup per trigger,
// schedule, release, deployment and commit status).
func TestListStatementsPerItem(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("lists", map[string]string{".gitlab-ci.yml": "build:\n  script: [echo]\n"})
		memberID, memberToken := in.user("maint")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(memberID)}, "access_level": {"40"}}, http.StatusCreated, nil)
		h := in.main.Handler()
		count := func(path string) int64 {
			var n atomic.Int64
			req := httptest.NewRequest("GET", path, nil).WithContext(store.WithStatementCount(context.Background(), &n))
			req.Header.Set("PRIVATE-TOKEN", memberToken)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %.300q", path, rec.Code, rec.Body.String())
			}
			return n.Load()
		}
		for _, c := range []struct {
			name, list string
			add        func(i int)
		}{
			{"triggers", "/triggers", func(i int) {
				in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", pid), url.Values{"description": {fmt.Sprint("t", i)}}, http.StatusCreated, nil)
			}},
			{"schedules", "/pipeline_schedules", func(i int) {
				in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules", pid), url.Values{"description": {fmt.Sprint("s", i)}, "ref": {"main"}, "cron": {"0 4 * * *"}}, http.StatusCreated, nil)
			}},
		} {
			path := fmt.Sprintf("/api/v4/projects/%d%s", pid, c.list)
			c.add(0)
			count(path) // records the token's use, at most once a minute
			one := count(path)
			for i := 1; i < 5; i++ {
				c.add(i)
			}
			five := count(path)
			t.Logf("%s: %d statements for one, %d for five", c.name, one, five)
			if perItem := float64(five-one) / 4; perItem > 1 {
				t.Errorf("%s: each item costs %.1f statements, want at most 1 (its owner)", c.name, perItem)
			}
		}
	})
}
