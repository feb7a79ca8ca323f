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
// policy needs it), the job with its archives; an administrator's token
// and a member's both cost three statements. On SQLite the server
// remembers those reads between writes, so a repeated read runs none, and
// after any write it reads them again.
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
		read := func(who, token string) int64 {
			var n atomic.Int64
			req := httptest.NewRequest("GET", path, nil).WithContext(store.WithStatementCount(context.Background(), &n))
			req.Header.Set("PRIVATE-TOKEN", token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.String() != "the build's output\n" {
				t.Fatalf("%s: %d %q", who, rec.Code, rec.Body.String())
			}
			return n.Load()
		}
		remembered := e.name == "sqlite"
		for i, c := range []struct{ who, token string }{{"administrator", in.token}, {"reporter", memberToken}} {
			read(c.who, c.token)                // records the token's use, at most once a minute: a write
			in.user(fmt.Sprint("bystander", i)) // a write: nothing is remembered now
			n := read(c.who, c.token)
			t.Logf("%s: %d statements", c.who, n)
			if n == 0 || n > 3 {
				t.Errorf("%s: a one-file read ran %d statements, want 1 to 3", c.who, n)
			}
			n = read(c.who, c.token)
			t.Logf("%s again: %d statements", c.who, n)
			if remembered && n != 0 {
				t.Errorf("%s: a repeated read on SQLite ran %d statements, want 0 (remembered)", c.who, n)
			}
			if !remembered && (n == 0 || n > 3) {
				t.Errorf("%s: a repeated read ran %d statements, want 1 to 3", c.who, n)
			}
		}
		// Any write makes the next read go to the database again.
		in.user("another")
		if n := read("reporter", memberToken); n == 0 || n > 3 {
			t.Errorf("a read after a write ran %d statements, want 1 to 3", n)
		}
	})
}

// TestRememberedReadsForgetRevokedAccess: whatever a read remembered, a
// change that takes access away is refused by the very next request, on
// both engines: a removed member, a project made private, deleted
// artifacts, a job token whose job finished. Each read is repeated first,
// so that on SQLite the answer is remembered when the change lands.
func TestRememberedReadsForgetRevokedAccess(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("forget", map[string]string{".gitlab-ci.yml": "build:\n  stage: build\n  script: [echo]\ntest:\n  stage: test\n  script: [echo]\n"})
		runner := in.runnerToken()
		build := in.requestJob(runner)
		in.finishJob(build, true)
		test := in.requestJob(runner)
		memberID, memberToken := in.user("member")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(memberID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		path := fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts/out/secret.txt", pid, build.ID)
		get := func(headers map[string]string) int {
			status, _, _ := in.do("GET", path, headers, nil)
			return status
		}
		warm := func(who string, headers map[string]string) {
			for range 3 {
				if status := get(headers); status != http.StatusOK {
					t.Fatalf("%s before the change: %d, want 200", who, status)
				}
			}
		}
		member := map[string]string{"PRIVATE-TOKEN": memberToken}
		job := map[string]string{"JOB-TOKEN": test.Token}
		anonymous := map[string]string{}

		warm("the job token", job)
		in.finishJob(test, false)
		if status := get(job); status != http.StatusUnauthorized {
			t.Errorf("a job token after its job finished: %d, want 401", status)
		}

		warm("the member", member)
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/members/%d", pid, memberID), nil, http.StatusNoContent, nil)
		if status := get(member); status != http.StatusNotFound {
			t.Errorf("a removed member: %d, want 404", status)
		}

		in.api("PUT", fmt.Sprintf("/api/v4/projects/%d", pid), url.Values{"visibility": {"public"}}, http.StatusOK, nil)
		warm("anonymous on a public project", anonymous)
		in.api("PUT", fmt.Sprintf("/api/v4/projects/%d", pid), url.Values{"visibility": {"private"}}, http.StatusOK, nil)
		if status := get(anonymous); status != http.StatusNotFound {
			t.Errorf("anonymous once the project is private: %d, want 404", status)
		}

		admin := map[string]string{"PRIVATE-TOKEN": in.token}
		warm("the administrator", admin)
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts", pid, build.ID), nil, http.StatusNoContent, nil)
		if status := get(admin); status != http.StatusNotFound {
			t.Errorf("deleted artifacts: %d, want 404", status)
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
