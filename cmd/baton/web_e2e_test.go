package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// browser is an HTTP client with a cookie jar that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	resp, err := b.c.PostForm(b.base+path, form)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

var hiddenCSRF = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// csrf is the CSRF token of the first form on a page.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	_, body, _ := b.get(path)
	m := hiddenCSRF.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no CSRF field on %s", path)
	}
	return m[1]
}

// copy is a second browser holding a copy of b's cookies.
func (b *browser) copy() *browser {
	c := newBrowser(b.t, b.base)
	u, _ := url.Parse(b.base)
	c.c.Jar.SetCookies(u, b.c.Jar.Cookies(u))
	return c
}

// signIn signs in with token through the sign-in form.
func (b *browser) signIn(token string) {
	b.t.Helper()
	nonce := b.csrf("/-/sign_in")
	status, body, h := b.post("/-/sign_in", url.Values{"_csrf": {nonce}, "token": {token}, "next": {"/"}})
	if status != http.StatusSeeOther {
		b.t.Fatalf("sign in: status %d, want 303; %s", status, body)
	}
	ck := h.Get("Set-Cookie")
	for _, want := range []string{"baton_session=", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(ck, want) {
			b.t.Fatalf("session cookie %q lacks %s", ck, want)
		}
	}
}

const hostileJob = `<script>window.pwned=1</script>`

// webCI builds an artifact with a hostile HTML page and prints hostile,
// coloured log lines.
const webCI = `
stages: [build, test]
"` + hostileJob + `":
  stage: build
  script:
    - printf '\033[31mred alert\033[0m <img src=x onerror=alert(1)>\n'
    - mkdir -p public/sub
    - printf '<script>window.pwned=1;fetch("/pwned")</script><p>hello</p>' > public/index.html
    - echo plain text > public/sub/notes.txt
  artifacts:
    paths: [public/]
check:
  stage: test
  needs: ["` + hostileJob + `"]
  script: [echo checked]
`

// TestWebUI drives the web UI over HTTP: visibility, sign-in, CSRF,
// escaping of hostile names and logs, and the artifact routes' headers.
func TestWebUI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("webapp", map[string]string{".gitlab-ci.yml": webCI})
		pl := in.latestPipeline(pid)
		in.waitPipeline(pid, pl.ID, 2*time.Minute, "success")
		jobs := in.jobs(pid, pl.ID, false)
		build := jobs[hostileJob][0]

		anon := newBrowser(t, in.url)
		user := newBrowser(t, in.url)
		user.signIn(in.token)
		plPath := fmt.Sprintf("/root/webapp/-/pipelines/%d", pl.ID)
		jobPath := fmt.Sprintf("/root/webapp/-/jobs/%d", build.ID)

		t.Run("anonymous", func(t *testing.T) {
			for _, tc := range []struct {
				path string
				want int
			}{
				{"/", 200}, {"/-/sign_in", 200}, {"/-/static/style.css", 200},
				{"/root/webapp", 404}, {plPath, 404}, {jobPath, 404},
				{jobPath + "/artifacts/raw/public/index.html", 404},
				{fmt.Sprintf("/-/ui/pipelines/%d.json", pl.ID), 404},
				{"/-/runners", 303}, {"/-/admin", 303}, {"/nope/nothing", 404},
			} {
				t.Run(tc.path, func(t *testing.T) {
					if status, body, _ := anon.get(tc.path); status != tc.want {
						t.Fatalf("status %d, want %d; %.300s", status, tc.want, body)
					}
				})
			}
		})

		t.Run("signed in pages", func(t *testing.T) {
			for _, path := range []string{"/", "/root/webapp", "/root/webapp/-/pipelines", "/root/webapp/-/pipelines?status=success&ref=main",
				plPath, jobPath, jobPath + "/artifacts/browse", jobPath + "/artifacts/browse/public",
				jobPath + "/artifacts/file/public/index.html", "/-/runners", "/-/admin", "/-/projects/new"} {
				t.Run(path, func(t *testing.T) {
					status, body, h := user.get(path)
					if status != http.StatusOK {
						t.Fatalf("status %d; %.500s", status, body)
					}
					if !strings.Contains(h.Get("Content-Security-Policy"), "script-src 'self'") {
						t.Errorf("CSP %q", h.Get("Content-Security-Policy"))
					}
					if strings.Contains(body, "<script>window.pwned") || strings.Contains(body, "<img src=x") {
						t.Fatalf("page contains unescaped hostile markup")
					}
				})
			}
		})

		t.Run("pipeline graph", func(t *testing.T) {
			_, body, _ := user.get(plPath)
			for _, want := range []string{`class="node st-success"`, "&lt;script&gt;window.pwned=1&lt;/script&gt;", `class="edge st-success"`,
				fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=", pid, pl.ID), "/repository/commits/" + pl.SHA + "/artifacts?job="} {
				if !strings.Contains(body, want) {
					t.Errorf("pipeline page lacks %q", want)
				}
			}
		})

		t.Run("job log", func(t *testing.T) {
			_, body, _ := user.get(jobPath)
			for _, want := range []string{`class="term-fg31"`, "red alert", "&lt;img src=x onerror=alert(1)&gt;", `<details class="section"`, `id="L1"`} {
				if !strings.Contains(body, want) {
					t.Errorf("job page lacks %q", want)
				}
			}
			status, raw, h := user.get(jobPath + "/raw")
			if status != 200 || !strings.Contains(raw, "red alert") || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
				t.Errorf("raw log: %d %s %.200q", status, h.Get("Content-Type"), raw)
			}
			status, js, _ := user.get(fmt.Sprintf("/-/ui/jobs/%d/trace.json?offset=0&line=1", build.ID))
			if status != 200 || !strings.Contains(js, `"finished":true`) || !strings.Contains(js, "red alert") {
				t.Errorf("trace.json: %d %.300s", status, js)
			}
		})

		t.Run("artifacts are sandboxed", func(t *testing.T) {
			for _, path := range []string{
				jobPath + "/artifacts/raw/public/index.html",
				"/root/webapp/-/jobs/artifacts/main/raw/public/index.html?job=" + url.QueryEscape(hostileJob),
				plPath + "/artifacts/raw/public/index.html?job=" + url.QueryEscape(hostileJob),
			} {
				status, body, h := user.get(path)
				if status != 200 || !strings.Contains(body, "window.pwned") {
					t.Fatalf("%s: status %d body %.100q", path, status, body)
				}
				if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("%s: Content-Type %q", path, ct)
				}
				if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") {
					t.Errorf("%s: CSP %q", path, csp)
				}
				if h.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("%s: no nosniff", path)
				}
			}
			_, body, _ := user.get(jobPath + "/artifacts/file/public/index.html")
			if !strings.Contains(body, "&lt;script&gt;window.pwned=1;fetch(&#34;/pwned&#34;)&lt;/script&gt;") {
				t.Errorf("preview does not show the file escaped: %.2000s", body)
			}
			status, _, h := user.get(jobPath + "/artifacts/download")
			if status != 200 || h.Get("Content-Type") != "application/zip" {
				t.Errorf("download: %d %s", status, h.Get("Content-Type"))
			}
			// Scripts download artifacts from the web URLs with a token in a
			// header, as from GitLab's; a token in the query string opens no
			// web route (it leaks into logs and Referer headers).
			for _, q := range []string{"?private_token=" + in.token, "?job_token=" + in.token} {
				if status, _, _ := anon.get(jobPath + "/artifacts/download" + q); status != 404 {
					t.Errorf("download with a token parameter %s: %d, want 404", q[:strings.Index(q, "=")], status)
				}
			}
			if status, _, h := in.doNoRedirect("GET", jobPath+"/artifacts/download", map[string]string{"PRIVATE-TOKEN": in.token}); status != 200 || h.Get("Content-Type") != "application/zip" {
				t.Errorf("download with a PRIVATE-TOKEN header: %d %s", status, h.Get("Content-Type"))
			}
			if status, _, _ := in.doNoRedirect("GET", jobPath+"/artifacts/download", map[string]string{"PRIVATE-TOKEN": "glpat-wrong"}); status != 401 {
				t.Errorf("download with a wrong PRIVATE-TOKEN header: %d, want 401", status)
			}
			for _, page := range []string{"/root/webapp", plPath, jobPath, jobPath + "/artifacts/browse"} {
				if status, _, _ := in.doNoRedirect("GET", page, map[string]string{"PRIVATE-TOKEN": in.token}); status != 404 {
					t.Errorf("page %s with a PRIVATE-TOKEN header: %d, want 404 (pages need a session)", page, status)
				}
				if status, _, _ := anon.get(page + "?private_token=" + in.token); status != 404 {
					t.Errorf("page %s with a private_token parameter: %d, want 404", page, status)
				}
			}
			if status, _, h := anon.get("/-/admin?private_token=" + in.token); status != 303 || !strings.HasPrefix(h.Get("Location"), "/-/sign_in") {
				t.Errorf("admin page with a private_token parameter: %d %s, want the sign-in redirect", status, h.Get("Location"))
			}
		})

		t.Run("csrf", func(t *testing.T) {
			token := user.csrf(plPath)
			for _, tc := range []struct {
				name string
				b    *browser
				form url.Values
				want int
			}{
				{"no token", user, url.Values{}, 403},
				{"wrong token", user, url.Values{"_csrf": {"x" + token}}, 403},
				{"anonymous on a private project", anon, url.Values{"_csrf": {token}}, 404},
				{"good", user, url.Values{"_csrf": {token}}, 303},
			} {
				t.Run(tc.name, func(t *testing.T) {
					status, body, _ := tc.b.post(jobPath+"/retry", tc.form)
					if status != tc.want {
						t.Fatalf("status %d, want %d; %.300s", status, tc.want, body)
					}
				})
			}
			// Only the good request retried the job.
			if n := len(in.jobs(pid, pl.ID, true)[hostileJob]); n != 2 {
				t.Errorf("%d attempts of the job after one accepted and three refused retries, want 2", n)
			}
			if status, _, _ := user.post("/-/sign_in", url.Values{"token": {in.token}}); status != 403 {
				t.Errorf("sign-in without its CSRF nonce: %d, want 403", status)
			}
		})

		t.Run("create project", func(t *testing.T) {
			token := user.csrf("/-/projects/new")
			status, body, h := user.post("/-/projects", url.Values{"_csrf": {token}, "name": {"Made In UI"}, "visibility": {"public"}})
			if status != 303 || h.Get("Location") != "/root/made-in-ui" {
				t.Fatalf("create: %d %s %.300s", status, h.Get("Location"), body)
			}
			if status, _, _ := anon.get("/root/made-in-ui"); status != 200 {
				t.Errorf("public project for anonymous: %d", status)
			}
		})

		t.Run("sign out", func(t *testing.T) {
			b := newBrowser(t, in.url)
			b.signIn(in.token)
			copied := b.copy() // e.g. stolen from the browser's profile
			if status, _, _ := copied.get("/root/webapp"); status != 200 {
				t.Fatalf("copied cookie before sign-out: %d", status)
			}
			token := b.csrf("/")
			if status, _, _ := b.post("/-/sign_out", url.Values{"_csrf": {token}}); status != 303 {
				t.Fatalf("sign out: %d", status)
			}
			if status, _, _ := b.get("/root/webapp"); status != 404 {
				t.Errorf("after sign-out: %d, want 404", status)
			}
			if status, _, _ := copied.get("/root/webapp"); status != 404 {
				t.Errorf("copied cookie after sign-out: %d, want 404 (the session must end server-side)", status)
			}
		})
	})
}
