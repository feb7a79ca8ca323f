package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// TestTokenInURLIsAnonymous: a token in the query string (where it leaks
// into logs, browser history and Referer headers) or in a header opens no
// web page; every page answers exactly as it does an anonymous visitor.
func TestTokenInURLIsAnonymous(t *testing.T) {
	f := newFixture(t, 8)
	ctx := context.Background()
	jobs, _, err := f.db.ListJobs(ctx, ci.JobFilter{PipelineID: f.pipeline.ID})
	if err != nil {
		t.Fatal(err)
	}
	var running *ci.Job
	for _, j := range jobs {
		if j.Status == ci.StatusRunning {
			running = j
		}
	}
	jobSecret, hash := auth.NewToken(auth.PrefixJob)
	running.TokenHash = hash
	if err := f.db.UpdateJob(ctx, running, ci.StatusRunning); err != nil {
		t.Fatal(err)
	}
	if p, err := f.ui.Auth.JobPrincipal(ctx, jobSecret); err != nil || p.Job.ID != running.ID {
		t.Fatalf("job token does not authenticate: %v", err)
	}
	pl := fmt.Sprintf("/root/app/-/pipelines/%d", f.pipeline.ID)
	job := fmt.Sprintf("/root/app/-/jobs/%d", running.ID)
	pages := []struct {
		path string
		anon int
	}{
		{"/root/app", 404}, {"/root/app/-/pipelines", 404}, {pl, 404}, {job, 404}, {job + "/raw", 404},
		{job + "/artifacts/browse", 404}, {job + "/artifacts/file/a.txt", 404},
		{job + "/artifacts/download", 404}, {job + "/artifacts/raw/a.txt", 404},
		{pl + "/artifacts/download?job=x", 404}, {"/root/app/-/jobs/artifacts/main/download?job=x", 404},
		{fmt.Sprintf("/-/ui/pipelines/%d.json", f.pipeline.ID), 404},
		{fmt.Sprintf("/-/ui/jobs/%d/trace.json", running.ID), 404},
		{"/-/admin", 303}, {"/-/runners", 303}, {"/-/projects/new", 303}, {"/-/user/sessions", 303},
	}
	creds := []struct {
		name   string
		query  string
		header [2]string
	}{
		{name: "private_token parameter", query: "private_token=" + f.token},
		{name: "job_token parameter", query: "job_token=" + jobSecret},
		{name: "PRIVATE-TOKEN header", header: [2]string{"PRIVATE-TOKEN", f.token}},
		{name: "Authorization header", header: [2]string{"Authorization", "Bearer " + f.token}},
	}
	for _, pg := range pages {
		anon := f.get(pg.path, "")
		if anon.Code != pg.anon {
			t.Errorf("%s anonymous: %d, want %d", pg.path, anon.Code, pg.anon)
		}
		if signedIn := f.get(pg.path, f.cookie); signedIn.Code == pg.anon && pg.anon == 303 {
			t.Errorf("%s signed in: %d, same as anonymous", pg.path, signedIn.Code)
		}
		for _, c := range creds {
			artifact := pg.path == job+"/artifacts/download" || pg.path == job+"/artifacts/raw/a.txt" ||
				pg.path == pl+"/artifacts/download?job=x" || pg.path == "/root/app/-/jobs/artifacts/main/download?job=x"
			if artifact && c.query == "" {
				continue // artifact downloads take header tokens, like GitLab's (cmd/baton TestWebUI)
			}
			t.Run(pg.path+" "+c.name, func(t *testing.T) {
				path := pg.path
				if c.query != "" {
					sep := "?"
					if strings.Contains(path, "?") {
						sep = "&"
					}
					path += sep + c.query
				}
				r := httptest.NewRequest(http.MethodGet, path, nil)
				if c.header[0] != "" {
					r.Header.Set(c.header[0], c.header[1])
				}
				w := httptest.NewRecorder()
				f.ui.ServeHTTP(w, r)
				if w.Code != anon.Code {
					t.Errorf("status %d, want %d as for anonymous visitors", w.Code, anon.Code)
				}
				if loc := w.Header().Get("Location"); pg.anon == 303 && !strings.HasPrefix(loc, "/-/sign_in?next=") {
					t.Errorf("Location %q, want the sign-in page", loc)
				}
			})
		}
	}
}
