package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/artifacts"
	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/policy"
	"github.com/batonci/baton/internal/scheduler"
	"github.com/batonci/baton/internal/store"
	"github.com/batonci/baton/internal/store/storetest"
)

func TestRenderLog(t *testing.T) {
	for _, tc := range []struct {
		name    string
		log     string
		final   bool
		want    []string
		notWant []string
	}{
		{name: "ansi colours", log: "\x1b[31mred\x1b[0m plain\n", want: []string{`<span class="term-fg31">red</span>`, `id="L1"`}},
		{name: "hostile markup is escaped", log: "<script>alert(1)</script> <img src=x onerror=alert(1)>\n",
			want: []string{"&lt;script&gt;alert(1)", "&lt;img src=x onerror=alert(1)&gt;"}, notWant: []string{"<script>", "<img"}},
		{name: "sections nest and close", log: "section_start:100:build\r\x1b[0KBuilding\nstep\nsection_end:107:build\r\x1b[0K\nafter\n",
			want: []string{`<details class="section" data-section="build" data-start="100" open>`, "Building", `<span class="sdur">7s</span>`, "</details><div class=\"line\" id=\"L3\">"}},
		{name: "collapsed section", log: "section_start:1:x[collapsed=true]\r\x1b[0Khead\n", want: []string{`data-open="1">`}, notWant: []string{" open>"}},
		{name: "hostile section name is escaped", log: "section_start:1:a\"b\r\x1b[0Kh\n", notWant: []string{`a"b`}},
		{name: "unterminated line waits while running", log: "one\ntwo", want: []string{"one"}, notWant: []string{"two"}},
		{name: "unterminated line shown when final", log: "one\ntwo", final: true, want: []string{"two", `id="L2"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, _ := parseLog([]byte(tc.log), 1, tc.final)
			got := string(renderLog(lines))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %q in\n%s", w, got)
				}
			}
		})
	}
}

// fixture is a UI over a real SQLite store with one project whose pipeline
// has n jobs in 5 stages, each needing a job of the previous stage.
type fixture struct {
	ui       *Server
	db       *store.DB
	token    string // root's personal access token
	cookie   string // a session of root, signed in with token
	project  *ci.Project
	pipeline *ci.Pipeline
}

func newFixture(tb testing.TB, n int) *fixture {
	tb.Helper()
	return newFixtureOn(tb, storetest.OpenSQLite(tb), n, nil)
}

// newFixtureOn builds the fixture on db; tweak, if set, adjusts the UI's
// dependencies first.
func newFixtureOn(tb testing.TB, db *store.DB, n int, tweak func(*Deps)) *fixture {
	tb.Helper()
	ctx := context.Background()
	u := &ci.User{Username: "root", Name: "Admin", Email: "a@example.com", Admin: true}
	if err := db.CreateUser(ctx, u); err != nil {
		tb.Fatal(err)
	}
	secret, hash := auth.NewToken(auth.PrefixPersonal)
	if err := db.CreatePersonalToken(ctx, &ci.PersonalToken{UserID: u.ID, Name: "t", Scopes: []string{ci.ScopeAPI}, TokenHash: hash}); err != nil {
		tb.Fatal(err)
	}
	ns, err := db.NamespaceOfUser(ctx, u.ID)
	if err != nil {
		tb.Fatal(err)
	}
	proj := &ci.Project{NamespaceID: ns.ID, Name: "app", Path: "app", Visibility: ci.VisibilityPrivate, CreatorID: u.ID, CIConfigPath: ".gitlab-ci.yml"}
	if err := db.CreateProject(ctx, proj); err != nil {
		tb.Fatal(err)
	}
	pl := &ci.Pipeline{ProjectID: proj.ID, Ref: "main", SHA: strings.Repeat("ab", 20), Source: ci.SourcePush, Status: ci.StatusRunning, UserID: u.ID, CommitTitle: "<b>hostile</b> title"}
	statuses := []ci.Status{ci.StatusSuccess, ci.StatusFailed, ci.StatusRunning, ci.StatusPending, ci.StatusManual, ci.StatusCanceled, ci.StatusSkipped, ci.StatusCreated}
	var jobs []*ci.Job
	for i := range n {
		stage := i % 5
		spec := ci.JobSpec{Name: fmt.Sprintf("job <%d>", i), Stage: fmt.Sprintf("stage%d", stage), When: ci.WhenOnSuccess, Script: []string{"true"}}
		if stage > 0 {
			spec.HasNeeds = true
			spec.Needs = []ci.Need{{Job: fmt.Sprintf("job <%d>", i-1), Artifacts: true}}
		}
		jobs = append(jobs, &ci.Job{Name: spec.Name, Stage: spec.Stage, StageIdx: stage, Status: statuses[i%len(statuses)], Spec: spec, Attempt: 1, UserID: u.ID})
	}
	if err := db.CreatePipeline(ctx, pl, jobs); err != nil {
		tb.Fatal(err)
	}
	a := auth.New(db, nil)
	sched := scheduler.New(db, scheduler.Options{})
	d := Deps{Store: db, Auth: a, Policy: policy.New(db), Scheduler: sched, Artifacts: &artifacts.Service{Store: db}, ExternalURL: "http://baton.test",
		RegistrationToken: func(context.Context) (string, error) { return "GR1348941x", nil }}
	if tweak != nil {
		tweak(&d)
	}
	ui := New(d)
	f := &fixture{ui: ui, db: db, token: secret, project: proj, pipeline: pl}
	f.cookie = f.signIn(tb, secret, "Go-http-client/1.1 (fixture)")
	return f
}

// signIn goes through the sign-in form with token and returns the session
// cookie's value.
func (f *fixture) signIn(tb testing.TB, token, userAgent string) string {
	tb.Helper()
	w := httptest.NewRecorder()
	f.ui.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/-/sign_in", nil))
	var nonce string
	for _, ck := range w.Result().Cookies() {
		if ck.Name == loginCookie {
			nonce = ck.Value
		}
	}
	form := url.Values{"_csrf": {nonce}, "token": {token}, "next": {"/"}}
	r := httptest.NewRequest(http.MethodPost, "/-/sign_in", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("User-Agent", userAgent)
	r.AddCookie(&http.Cookie{Name: loginCookie, Value: nonce})
	w = httptest.NewRecorder()
	f.ui.ServeHTTP(w, r)
	for _, ck := range w.Result().Cookies() {
		if ck.Name == sessionCookie && ck.Value != "" {
			return ck.Value
		}
	}
	tb.Fatalf("sign-in gave no session cookie: %d %.300s", w.Code, w.Body.String())
	return ""
}

// get requests path with the session cookie (none if "").
func (f *fixture) get(path, cookie string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if cookie != "" {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
	}
	w := httptest.NewRecorder()
	f.ui.ServeHTTP(w, r)
	return w
}

func TestPages(t *testing.T) {
	f := newFixture(t, 40)
	pl := fmt.Sprintf("/root/app/-/pipelines/%d", f.pipeline.ID)
	for _, tc := range []struct {
		name, path, cookie string
		want               int
	}{
		{"projects anonymous", "/", "", 200},
		{"private project anonymous", "/root/app", "", 404},
		{"private pipeline anonymous", pl, "", 404},
		{"private pipeline json anonymous", fmt.Sprintf("/-/ui/pipelines/%d.json", f.pipeline.ID), "", 404},
		{"project", "/root/app", f.cookie, 200},
		{"pipelines", "/root/app/-/pipelines?status=running", f.cookie, 200},
		{"bad status filter", "/root/app/-/pipelines?status=nope", f.cookie, 400},
		{"pipeline", pl, f.cookie, 200},
		{"pipeline of another project", "/root/other/-/pipelines/1", f.cookie, 404},
		{"unknown pipeline", "/root/app/-/pipelines/999", f.cookie, 404},
		{"runners", "/-/runners", f.cookie, 200},
		{"admin", "/-/admin", f.cookie, 200},
		{"admin anonymous", "/-/admin", "", 303},
		{"static", "/-/static/app.js", "", 200},
		{"static traversal", "/-/static/../web.go", "", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.get(tc.path, tc.cookie)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %.300s", w.Code, tc.want, w.Body.String())
			}
			body := w.Body.String()
			if strings.Contains(body, "<b>hostile</b>") || strings.Contains(body, "job <") {
				t.Fatalf("unescaped hostile text in %s", tc.path)
			}
		})
	}
	t.Run("graph", func(t *testing.T) {
		body := f.get(pl, f.cookie).Body.String()
		if n := strings.Count(body, `class="node st-`); n != 40 {
			t.Errorf("%d nodes, want 40", n)
		}
		if n := strings.Count(body, `class="edge st-`); n != 32 {
			t.Errorf("%d edges, want 32", n)
		}
	})
	t.Run("post without session or csrf token", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			cookie string
			header bool
			want   int
		}{
			{"token header is no session", "", true, http.StatusNotFound}, // anonymous: the private project is hidden
			{"session without csrf token", f.cookie, false, http.StatusForbidden},
		} {
			r := httptest.NewRequest(http.MethodPost, pl+"/cancel", strings.NewReader("_csrf=x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.header {
				r.Header.Set("PRIVATE-TOKEN", f.token)
			}
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: sessionCookie, Value: tc.cookie})
			}
			w := httptest.NewRecorder()
			f.ui.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.want)
			}
		}
	})
}

// TestPipelinePageRenderTime reports how long the pipeline page of a
// 200-job pipeline takes to render (store reads included); it asserts only
// that the page renders, never a time.
func TestPipelinePageRenderTime(t *testing.T) {
	f := newFixture(t, 200)
	path := fmt.Sprintf("/root/app/-/pipelines/%d", f.pipeline.ID)
	f.get(path, f.cookie) // warm the session key and SQLite caches
	const runs = 20
	start := time.Now()
	for range runs {
		if w := f.get(path, f.cookie); w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	t.Logf("pipeline page with 200 jobs: %v per render (average of %d)", time.Since(start)/runs, runs)
}

func BenchmarkPipelinePage200Jobs(b *testing.B) {
	f := newFixture(b, 200)
	path := fmt.Sprintf("/root/app/-/pipelines/%d", f.pipeline.ID)
	b.ResetTimer()
	for b.Loop() {
		if w := f.get(path, f.cookie); w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
}
