package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
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
