package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// tokenCI: two build jobs with archives (release also publishes "notes"),
// and a deploy job that mints artifact tokens with its own CI_JOB_TOKEN and
// prints them ("TOKEN name {json}"), uses the short-lived one at once, and
// checks the mint's refusals.
const tokenCI = `
stages: [build, deploy]
release:
  stage: build
  script:
    - mkdir -p out && echo "release of $CI_PIPELINE_ID" > out/app.txt
    - echo "notes of $CI_PIPELINE_ID" > notes.txt
    - 'curl -sf --upload-file notes.txt -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_API_V4_URL/jobs/$CI_JOB_ID/artifacts/publish/notes?filename=notes.txt"'
  artifacts:
    paths: [out/]
other:
  stage: build
  script:
    - mkdir -p out && echo "not for the token" > out/app.txt
  artifacts:
    paths: [out/]
mint:
  stage: deploy
  script:
    - 'mint() { curl -s -w "\n%{http_code}" -H "JOB-TOKEN: $CI_JOB_TOKEN" -H "Content-Type: application/json" -d "$1" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/artifact_tokens" | tr "\n" " "; }'
    - echo "TOKEN main $(mint '{"jobs":["release"],"allowed_ips":["127.0.0.1/32"]}')"
    - echo "TOKEN short $(mint '{"jobs":["release"],"expires_in":2}')"
    - echo "TOKEN revoke $(mint '{"jobs":["release"]}')"
    - echo "TOKEN tenet $(mint '{"jobs":["release"],"allowed_ips":["10.0.0.0/8"]}')"
    - echo "TOKEN twice $(mint '{"jobs":["release"],"max_uses":2}')"
    - echo "TOKEN notes $(mint '{"jobs":["release"],"artifacts":["notes"]}')"
    - echo "TOKEN nojob $(mint '{"jobs":["nope"]}')"
    - echo "TOKEN toolong $(mint '{"jobs":["release"],"expires_in":7200}')"
    - 'short=$(mint "{\"jobs\":[\"release\"],\"expires_in\":2}" | sed "s/.*\"token\":\"\([^\"]*\)\".*/\1/")'
    - 'echo "short read: $(curl -s -o /dev/null -w "%{http_code}" -H "PRIVATE-TOKEN: $short" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/artifacts/raw/out/app.txt?job=release")"'
`

type mintedToken struct {
	ID      int64    `json:"id"`
	Token   string   `json:"token"`
	URL     string   `json:"url"`
	Jobs    []string `json:"jobs"`
	State   string   `json:"state"`
	Uses    int64    `json:"uses"`
	MaxUses *int64   `json:"max_uses"`
	status  int
	body    string
}

// mintedTokens reads the deploy job's "TOKEN name body status" lines.
func mintedTokens(t *testing.T, log string) map[string]mintedToken {
	out := map[string]mintedToken{}
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "TOKEN ") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		name, code := f[1], f[len(f)-1]
		body := strings.Join(f[2:len(f)-1], " ")
		var m mintedToken
		_ = json.Unmarshal([]byte(body), &m)
		fmt.Sscan(code, &m.status)
		m.body = body
		out[name] = m
	}
	return out
}

// TestArtifactTokens runs tokenCI with Baton's runner on both engines: a
// job mints tokens, the job ends, and an outside client (this test, from
// 127.0.0.1) reads the named job's artifacts with them through every
// artifact route, by header and by signed link, and nothing else; the
// tokens fail after expiry, revocation, from a disallowed network and
// after their uses; Maintainers list, revoke and audit them.
func TestArtifactTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, func(c *Config) { c.MaxArtifactTokenTTL = time.Hour })
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("tok", map[string]string{".gitlab-ci.yml": tokenCI})
		pl := in.latestPipeline(pid)
		done := in.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled")
		jobs := in.jobs(pid, pl.ID, false)
		if done.Status != "success" {
			for n, js := range jobs {
				t.Logf("--- %s (%s)\n%s", n, js[0].Status, in.trace(pid, js[0].ID))
			}
			t.Fatalf("pipeline %s", done.Status)
		}
		release, other, minter := jobs["release"][0], jobs["other"][0], jobs["mint"][0]
		log := in.trace(pid, minter.ID)
		toks := mintedTokens(t, log)
		for _, name := range []string{"main", "short", "revoke", "tenet", "twice", "notes"} {
			tk := toks[name]
			if tk.status != http.StatusCreated || !strings.HasPrefix(tk.Token, "glatk-") || tk.State != "active" ||
				!strings.Contains(tk.URL, "sig="+tk.Token) {
				t.Fatalf("mint %s: %d %s", name, tk.status, tk.body)
			}
		}
		if tk := toks["nojob"]; tk.status != http.StatusBadRequest || !strings.Contains(tk.body, `no job \"nope\"`) {
			t.Errorf("mint for a job not in the pipeline: %d %s", tk.status, tk.body)
		}
		if tk := toks["toolong"]; tk.status != http.StatusBadRequest || !strings.Contains(tk.body, "max-artifact-token-ttl") {
			t.Errorf("mint beyond the TTL: %d %s", tk.status, tk.body)
		}
		// The short token worked while fresh, inside the job.
		if !strings.Contains(log, "short read: 200") {
			t.Errorf("the job's read with its fresh short token did not answer 200:\n%s", log)
		}

		want := fmt.Sprintf("release of %d\n", pl.ID)
		notes := fmt.Sprintf("notes of %d\n", pl.ID)
		hdr := func(tok string) map[string]string { return map[string]string{"PRIVATE-TOKEN": tok} }
		main := toks["main"].Token
		base := fmt.Sprintf("/api/v4/projects/%d", pid)

		t.Run("reads the named job through every artifact route", func(t *testing.T) {
			raw := map[string]string{
				base + fmt.Sprintf("/pipelines/%d/artifacts/raw/out/app.txt?job=release", pl.ID):              want,
				base + fmt.Sprintf("/repository/commits/%s/artifacts/raw/out/app.txt?job=release", pl.SHA):    want,
				base + "/jobs/artifacts/main/raw/out/app.txt?job=release":                                     want,
				base + fmt.Sprintf("/jobs/%d/artifacts/out/app.txt", release.ID):                              want,
				base + fmt.Sprintf("/pipelines/%d/artifacts/raw/out/app.txt?job=release&wait=5", pl.ID):       want,
				base + fmt.Sprintf("/pipelines/%d/artifacts/raw/notes.txt?job=release&artifact=notes", pl.ID): notes,
			}
			for path, body := range raw {
				for _, how := range []string{"header", "sig", "bearer"} {
					p, h := path, hdr(main)
					switch how {
					case "sig":
						p, h = path+sep(path)+"sig="+url.QueryEscape(main), nil
					case "bearer":
						h = map[string]string{"Authorization": "Bearer " + main}
					}
					status, got, head := in.do("GET", p, h, nil)
					if status != http.StatusOK || string(got) != body {
						t.Errorf("%s GET %s: %d %q, want %q", how, path, status, got, body)
					}
					if rp := head.Get("Referrer-Policy"); rp != "no-referrer" {
						t.Errorf("%s GET %s: Referrer-Policy %q", how, path, rp)
					}
				}
			}
			for _, path := range []string{
				base + fmt.Sprintf("/pipelines/%d/artifacts?job=release", pl.ID),
				base + fmt.Sprintf("/repository/commits/%s/artifacts?job=release", pl.SHA),
				base + "/jobs/artifacts/main/download?job=release",
				base + fmt.Sprintf("/jobs/%d/artifacts", release.ID),
			} {
				if status, got, _ := in.do("GET", path, hdr(main), nil); status != http.StatusOK || !zipHolds(got, "out/app.txt", want) {
					t.Errorf("GET %s: %d, %d bytes", path, status, len(got))
				}
			}
			for _, path := range []string{
				base + fmt.Sprintf("/pipelines/%d/artifacts/tree?job=release&path=out", pl.ID),
				base + fmt.Sprintf("/pipelines/%d/artifacts/manifest?job=release", pl.ID),
				base + fmt.Sprintf("/repository/commits/%s/artifacts/manifest?job=release", pl.SHA),
				base + fmt.Sprintf("/jobs/%d/artifacts/tree?path=out", release.ID),
			} {
				if status, got, _ := in.do("GET", path, hdr(main), nil); status != http.StatusOK || !strings.Contains(string(got), "app.txt") {
					t.Errorf("GET %s: %d %s", path, status, got)
				}
			}
			// The mint's signed link, as given.
			u, _ := url.Parse(toks["main"].URL)
			if status, got, _ := in.do("GET", u.RequestURI(), nil, nil); status != http.StatusOK || !zipHolds(got, "out/app.txt", want) {
				t.Errorf("signed link %s: %d", toks["main"].URL, status)
			}
		})

		t.Run("anything else answers as absent", func(t *testing.T) {
			_, absentBody, _ := in.do("GET", "/api/v4/projects/99999/pipelines/1/artifacts?job=release", hdr(main), nil)
			for _, path := range []string{
				base + fmt.Sprintf("/pipelines/%d/artifacts?job=other", pl.ID),
				base + fmt.Sprintf("/pipelines/%d/artifacts/raw/out/app.txt?job=other", pl.ID),
				base + fmt.Sprintf("/jobs/%d/artifacts", other.ID),
				base + fmt.Sprintf("/jobs/%d/artifacts", minter.ID),
				base + fmt.Sprintf("/repository/commits/%s/artifacts?job=other", pl.SHA),
				base + "/jobs/artifacts/main/download?job=other",
				base + fmt.Sprintf("/pipelines/%d/artifacts?job=release", pl.ID+1000),
				base + fmt.Sprintf("/pipelines/%d/artifacts/raw/nope.txt?job=nope", pl.ID),
				"/api/v4/projects/99999/pipelines/1/artifacts?job=release",
			} {
				status, body, _ := in.do("GET", path, hdr(main), nil)
				if status != http.StatusNotFound || string(body) != string(absentBody) {
					t.Errorf("GET %s: %d %s, want 404 %s", path, status, body, absentBody)
				}
			}
			// The notes token reads the published notes, not the archive.
			nt := hdr(toks["notes"].Token)
			if status, got, _ := in.do("GET", base+fmt.Sprintf("/pipelines/%d/artifacts/raw/notes.txt?job=release&artifact=notes", pl.ID), nt, nil); status != http.StatusOK || string(got) != notes {
				t.Errorf("notes token on notes: %d %q", status, got)
			}
			if status, body, _ := in.do("GET", base+fmt.Sprintf("/pipelines/%d/artifacts?job=release", pl.ID), nt, nil); status != http.StatusNotFound || string(body) != string(absentBody) {
				t.Errorf("notes token on the archive: %d %s", status, body)
			}
		})

		t.Run("refused after expiry", func(t *testing.T) {
			path := base + fmt.Sprintf("/pipelines/%d/artifacts/raw/out/app.txt?job=release", pl.ID)
			short := toks["short"]
			// Wait on the token's state, as its maintainers see it.
			eventually(t, 30*time.Second, "the short token to expire", func() bool {
				var tk mintedToken
				in.api("GET", fmt.Sprintf("%s/artifact_tokens/%d", base, short.ID), nil, http.StatusOK, &tk)
				return tk.State == "expired"
			})
			if status, _, _ := in.do("GET", path, hdr(short.Token), nil); status != http.StatusUnauthorized {
				t.Errorf("expired token: %d, want 401", status)
			}
		})

		t.Run("refused after revocation", func(t *testing.T) {
			path := base + fmt.Sprintf("/pipelines/%d/artifacts/raw/out/app.txt?job=release", pl.ID)
			rv := toks["revoke"]
			if status, _, _ := in.do("GET", path, hdr(rv.Token), nil); status != http.StatusOK {
				t.Fatalf("before revocation: %d", status)
			}
			in.api("DELETE", fmt.Sprintf("%s/artifact_tokens/%d", base, rv.ID), nil, http.StatusNoContent, nil)
			for _, h := range []map[string]string{hdr(rv.Token), nil} {
				p := path
				if h == nil {
					p += "&sig=" + rv.Token
				}
				if status, _, _ := in.do("GET", p, h, nil); status != http.StatusUnauthorized {
					t.Errorf("revoked token: %d, want 401", status)
				}
			}
		})

		t.Run("refused from a network it does not allow", func(t *testing.T) {
			path := base + fmt.Sprintf("/pipelines/%d/artifacts/raw/out/app.txt?job=release", pl.ID)
			if status, _, _ := in.do("GET", path, hdr(toks["tenet"].Token), nil); status != http.StatusUnauthorized {
				t.Errorf("10.0.0.0/8 token from 127.0.0.1: %d, want 401", status)
			}
		})

		t.Run("refused after its uses", func(t *testing.T) {
			path := base + fmt.Sprintf("/pipelines/%d/artifacts/raw/out/app.txt?job=release", pl.ID)
			tw := toks["twice"]
			var got []int
			for range 3 {
				status, _, _ := in.do("GET", path, hdr(tw.Token), nil)
				got = append(got, status)
			}
			if fmt.Sprint(got) != "[200 200 401]" {
				t.Errorf("max_uses 2: %v, want [200 200 401]", got)
			}
		})

		t.Run("maintainers list and audit; others may not", func(t *testing.T) {
			var list []mintedToken
			in.api("GET", base+"/artifact_tokens", nil, http.StatusOK, &list)
			states := map[int64]string{}
			for _, tk := range list {
				if tk.Token != "" {
					t.Errorf("list shows the secret of token %d", tk.ID)
				}
				states[tk.ID] = tk.State
			}
			if len(list) != 7 || states[toks["revoke"].ID] != "revoked" || states[toks["twice"].ID] != "used_up" ||
				states[toks["main"].ID] != "active" {
				t.Errorf("list: %d tokens, states %v", len(list), states)
			}
			var uses []struct {
				RemoteAddr string `json:"remote_addr"`
				Route      string `json:"route"`
				Status     int    `json:"status"`
				Bytes      int64  `json:"bytes"`
			}
			in.api("GET", fmt.Sprintf("%s/artifact_tokens/%d/uses", base, toks["twice"].ID), nil, http.StatusOK, &uses)
			if len(uses) != 2 || uses[0].RemoteAddr != "127.0.0.1" || uses[0].Status != 200 || uses[0].Bytes != int64(len(want)) ||
				uses[0].Route != "GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/raw/{path...}" {
				t.Errorf("uses: %+v", uses)
			}
			devID, dev := in.user("dev")
			mID, maint := in.user("maint")
			in.api("POST", base+"/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
			in.api("POST", base+"/members", url.Values{"user_id": {fmt.Sprint(mID)}, "access_level": {"40"}}, http.StatusCreated, nil)
			for who, code := range map[string]int{dev: http.StatusForbidden, maint: http.StatusOK} {
				if status, body, _ := in.do("GET", base+"/artifact_tokens", hdr(who), nil); status != code {
					t.Errorf("list as %s: %d %s, want %d", who[:6], status, body, code)
				}
			}
			if status, _, _ := in.do("DELETE", fmt.Sprintf("%s/artifact_tokens/%d", base, toks["main"].ID), hdr(dev), nil); status != http.StatusForbidden {
				t.Errorf("developer revoke: %d, want 403", status)
			}
			// A user (even root) does not mint: only a running job does.
			if status, body, _ := in.do("POST", fmt.Sprintf("%s/pipelines/%d/artifact_tokens", base, pl.ID), hdr(in.token), map[string]any{"jobs": []string{"release"}}); status != http.StatusForbidden {
				t.Errorf("root mint: %d %s, want 403", status, body)
			}
		})

		t.Run("web page lists and revokes", func(t *testing.T) {
			b := newBrowser(t, in.url)
			b.signIn(in.token)
			page := "/root/tok/-/artifact_tokens"
			if status, _, head := b.get(fmt.Sprintf("/root/tok/-/jobs/%d/artifacts/raw/out/app.txt", release.ID)); status != http.StatusOK || head.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("web raw artifact: %d, Referrer-Policy %q", status, head.Get("Referrer-Policy"))
			}
			status, body, _ := b.get(page)
			nt := toks["notes"]
			if status != http.StatusOK || !strings.Contains(body, fmt.Sprintf(`id="token-%d"`, nt.ID)) ||
				!strings.Contains(body, "/api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/raw/{path...}") ||
				strings.Contains(body, "glatk-") {
				t.Fatalf("artifact tokens page %d:\n%s", status, body)
			}
			status, _, _ = b.post(fmt.Sprintf("%s/%d/revoke", page, nt.ID), url.Values{"_csrf": {b.csrf(page)}})
			if status != http.StatusSeeOther {
				t.Fatalf("revoke from the page: %d", status)
			}
			path := base + fmt.Sprintf("/pipelines/%d/artifacts/raw/notes.txt?job=release&artifact=notes", pl.ID)
			if status, _, _ := in.do("GET", path, hdr(nt.Token), nil); status != http.StatusUnauthorized {
				t.Errorf("token revoked on the page: %d, want 401", status)
			}
			devID, dev := in.user("dev2")
			in.api("POST", base+"/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
			d := newBrowser(t, in.url)
			d.signIn(dev)
			if status, body, _ := d.get(page); status == http.StatusOK || strings.Contains(body, "token-") {
				t.Errorf("a Developer sees the artifact tokens page: %d", status)
			}
		})

		t.Run("route matrix", func(t *testing.T) {
			artifactTokenRouteMatrix(t, in, pid, pl, release.ID, main)
		})
	})
}

func sep(path string) string {
	if strings.Contains(path, "?") {
		return "&"
	}
	return "?"
}

// tokenReads are the routes an artifact token reads through; every other
// route of the API's table answers it 401 or 404.
var tokenReads = map[string]bool{
	"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts":                true,
	"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/raw/{path...}":  true,
	"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/tree":           true,
	"GET /api/v4/projects/{id}/pipelines/{pipeline_id}/artifacts/manifest":       true,
	"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts":               true,
	"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts/raw/{path...}": true,
	"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts/tree":          true,
	"GET /api/v4/projects/{id}/repository/commits/{sha}/artifacts/manifest":      true,
	"GET /api/v4/projects/{id}/jobs/{job_id}/{rest...}":                          true,
}

// artifactTokenRouteMatrix asks every route of the API's route table with
// a valid artifact token (in PRIVATE-TOKEN, as Bearer and as ?sig=; and in
// JOB-TOKEN, where it reads nothing) with
// the token's own project, pipeline and job in the path: the artifact reads
// answer 200, everything else 401 or 404. The runner API's routes, asked
// the same way, refuse it as any unknown token.
func artifactTokenRouteMatrix(t *testing.T, in *instance, pid int64, pl apiPipeline, jobID int64, token string) {
	routes, runnerRoutes := routeTable{}, routeTable{}
	in.main.API.Register(routes)
	in.main.RunnerAPI.Register(runnerRoutes)
	for p, h := range runnerRoutes {
		routes[p] = h
	}
	if len(routes) < 100 {
		t.Fatalf("only %d routes recorded", len(routes))
	}
	seen := 0
	for pattern := range routes {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "GET", pattern
		}
		path = strings.NewReplacer("{id}", fmt.Sprint(pid), "{pipeline_id}", fmt.Sprint(pl.ID), "{job_id}", fmt.Sprint(jobID),
			"{sha}", pl.SHA, "{ref}", "main", "{path...}", "out/app.txt", "{rest...}", "artifacts", "{file_path}", ".gitlab-ci.yml").Replace(path)
		for strings.Contains(path, "{") {
			i := strings.Index(path, "{")
			j := strings.Index(path[i:], "}")
			path = path[:i] + "1" + path[i+j+1:]
		}
		path += "?job=release&path=out"
		for _, how := range []string{"header", "bearer", "sig", "job-token"} {
			var h map[string]string
			p := path
			switch how {
			case "job-token":
				// Not where a personal token goes: no route reads it.
				h = map[string]string{"JOB-TOKEN": token}
			case "header":
				h = map[string]string{"PRIVATE-TOKEN": token}
			case "bearer":
				h = map[string]string{"Authorization": "Bearer " + token}
			case "sig":
				p += "&sig=" + url.QueryEscape(token)
			}
			var body any
			if method != "GET" && method != "DELETE" {
				body = map[string]any{"jobs": []string{"release"}, "name": "x", "ref": "main"}
			}
			status, resp, _ := in.do(method, p, h, body)
			if tokenReads[pattern] && how != "job-token" {
				if status != http.StatusOK {
					t.Errorf("%s %s (%s): %d %s, want 200", method, p, how, status, resp)
				}
				seen++
				continue
			}
			if _, runner := runnerRoutes[pattern]; runner {
				// The runner protocol answers an unknown runner or job
				// token as GitLab does (403; 400 for an upload without
				// its file): never served.
				if status != http.StatusForbidden && status != http.StatusBadRequest && status != http.StatusUnauthorized && status != http.StatusNotFound {
					t.Errorf("runner API %s %s (%s): %d %.200s, want 400, 401, 403 or 404", method, p, how, status, resp)
				}
				continue
			}
			if status != http.StatusUnauthorized && status != http.StatusNotFound {
				t.Errorf("%s %s (%s): %d %.200s, want 401 or 404", method, p, how, status, resp)
			}
		}
	}
	if seen != 3*len(tokenReads) {
		t.Errorf("%d allowed reads asked, want %d", seen, 3*len(tokenReads))
	}
	// The web UI takes sessions (and header tokens on its downloads), never
	// an artifact token: its pages and downloads of the project stay
	// closed to it.
	for _, path := range []string{"/root/tok", "/root/tok/-/pipelines", fmt.Sprintf("/root/tok/-/pipelines/%d", pl.ID),
		fmt.Sprintf("/root/tok/-/jobs/%d/artifacts/download", jobID), fmt.Sprintf("/root/tok/-/jobs/%d/artifacts/raw/out/app.txt", jobID),
		fmt.Sprintf("/root/tok/-/pipelines/%d/artifacts/download?job=release", pl.ID), "/root/tok/-/jobs/artifacts/main/download?job=release",
		"/root/tok/-/artifact_tokens"} {
		for _, how := range []string{"header", "sig"} {
			p, h := path, map[string]string{"PRIVATE-TOKEN": token}
			if how == "sig" {
				p, h = path+sep(path)+"sig="+url.QueryEscape(token), nil
			}
			if status, _, _ := in.do("GET", p, h, nil); status != http.StatusUnauthorized && status != http.StatusNotFound {
				t.Errorf("web GET %s (%s): %d, want 401 or 404", path, how, status)
			}
		}
	}
	// The token is not a personal or job token anywhere else either.
	if _, err := in.main.Auth.PersonalPrincipal(t.Context(), token); err == nil {
		t.Error("the artifact token authenticates as a personal token")
	}
	if _, err := in.main.Auth.JobPrincipal(t.Context(), token); err == nil {
		t.Error("the artifact token authenticates as a job token")
	}
}

// replicaTokenCI mints one token of five uses and prints it.
const replicaTokenCI = `
stages: [build, deploy]
build:
  stage: build
  script:
    - mkdir -p out && echo "built" > out/app.txt
  artifacts:
    paths: [out/]
mint:
  stage: deploy
  script:
    - 'echo "TOKEN five $(curl -s -w "\n%{http_code}" -H "JOB-TOKEN: $CI_JOB_TOKEN" -d "jobs[]=build&max_uses=5" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/artifact_tokens" | tr "\n" " ")"'
`

// TestArtifactTokenUsesAcrossReplicas: two Baton servers on one PostgreSQL
// database (and one data directory); 24 concurrent reads with a token of
// max_uses 5, alternating between them, succeed exactly 5 times, and the
// uses list holds those 5.
func TestArtifactTokenUsesAcrossReplicas(t *testing.T) {
	pg := engines()[1]
	var dataDir, dbURL string
	in := startBaton(t, engine{pg.name, func(t *testing.T, dir string) string {
		dataDir, dbURL = dir, pg.url(t, dir)
		return dbURL
	}})
	in.startRunner(in.runnerToken(), 2)
	pid, _ := in.project("rep", map[string]string{".gitlab-ci.yml": replicaTokenCI})
	pl := in.latestPipeline(pid)
	if done := in.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled"); done.Status != "success" {
		t.Fatalf("pipeline %s", done.Status)
	}
	jobs := in.jobs(pid, pl.ID, false)
	tk := mintedTokens(t, in.trace(pid, jobs["mint"][0].ID))["five"]
	if tk.status != http.StatusCreated || tk.MaxUses == nil || *tk.MaxUses != 5 {
		t.Fatalf("mint: %d %s", tk.status, tk.body)
	}

	// The second replica: the same database and data directory.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &Main{Logger: testLogger(t)}
	b.Config.bind(flagSetForTest())
	b.Config.Listen, b.Config.DataDir, b.Config.DatabaseURL = ln.Addr().String(), dataDir, dbURL
	if err := b.Open(context.Background()); err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := b.Serve(context.Background(), ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })

	path := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts/raw/out/app.txt?job=build", pid, pl.ID)
	codes := make(chan int, 24)
	var wg sync.WaitGroup
	for i := range 24 {
		base := in.url
		if i%2 == 1 {
			base = b.Config.ExternalURL
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", base+path, nil)
			req.Header.Set("PRIVATE-TOKEN", tk.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	got := map[int]int{}
	for c := range codes {
		got[c]++
	}
	if got[http.StatusOK] != 5 || got[http.StatusUnauthorized] != 19 {
		t.Errorf("answers %v, want 5 × 200 and 19 × 401", got)
	}
	var uses []struct {
		Status int `json:"status"`
	}
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/artifact_tokens/%d/uses", pid, tk.ID), nil, http.StatusOK, &uses)
	if len(uses) != 5 {
		t.Errorf("%d uses recorded, want 5", len(uses))
	}
}

// TestArtifactTokenWait: a wait= read by artifact token is woken by the
// upload it waits for, and a token revoked while its request waits gets
// 401 when the upload wakes it, never the bytes.
func TestArtifactTokenWait(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		h := in.holdJobs("a", "b", "c")
		var tk mintedToken
		status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifact_tokens", h.project, h.pipeline),
			map[string]string{"JOB-TOKEN": h.tokens["a"]}, map[string]any{"jobs": []string{"b", "c"}})
		if status != http.StatusCreated || json.Unmarshal(body, &tk) != nil {
			t.Fatalf("mint: %d %s", status, body)
		}
		base := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts", h.project, h.pipeline)
		hdr := map[string]string{"PRIVATE-TOKEN": tk.Token}

		waiter := in.getAsync(base+"?job=b&wait=300", hdr)
		in.waiting(1)
		want := h.upload("b")
		if got := <-waiter; got.status != http.StatusOK || !bytes.Equal(got.body, want) {
			t.Fatalf("woken read: %d, %d bytes", got.status, len(got.body))
		}
		in.waiting(0)

		waiter = in.getAsync(base+"?job=c&wait=300", hdr)
		in.waiting(1)
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/artifact_tokens/%d", h.project, tk.ID), nil, http.StatusNoContent, nil)
		h.upload("c")
		if got := <-waiter; got.status != http.StatusUnauthorized {
			t.Fatalf("read by a token revoked while waiting: %d, %d bytes; want 401", got.status, len(got.body))
		}
	})
}
