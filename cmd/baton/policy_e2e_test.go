package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The roles of the authorization matrix, in the order of each row's codes.
var matrixRoles = []string{"anon", "guest", "reporter", "developer", "maintainer", "owner", "admin", "read_api",
	"admin_read_api", "job_own", "job_allowed", "job_foreign", "job_finished", "runner"}

// webRoles sign in to the web UI; job and runner tokens do not open pages.
var webRoles = matrixRoles[:9]

// matrixJob is a job handed out through the runner protocol: its id and
// its token.
type matrixJob struct {
	ID    int64  `json:"id"`
	Token string `json:"token"`
}

// requestJob asks for the next job as a runner would.
func (in *instance) requestJob(runnerToken string) matrixJob {
	in.t.Helper()
	var j matrixJob
	eventually(in.t, 30*time.Second, "a job to hand out", func() bool {
		status, body, _ := in.do("POST", "/api/v4/jobs/request", nil, map[string]any{"token": runnerToken, "info": map[string]any{"features": map[string]any{"upload_multiple_artifacts": true}}})
		if status != http.StatusCreated {
			return false
		}
		if err := json.Unmarshal(body, &j); err != nil {
			in.t.Fatal(err)
		}
		return true
	})
	return j
}

// finishJob uploads an archive holding one file (when withArtifact) and
// reports the job successful, as a runner would.
func (in *instance) finishJob(j matrixJob, withArtifact bool) {
	in.t.Helper()
	if withArtifact {
		var zbuf bytes.Buffer
		zw := zip.NewWriter(&zbuf)
		f, _ := zw.Create("out/secret.txt")
		_, _ = f.Write([]byte("the build's output\n"))
		_ = zw.Close()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		part, _ := mw.CreateFormFile("file", "artifacts.zip")
		_, _ = part.Write(zbuf.Bytes())
		_ = mw.Close()
		req, _ := http.NewRequest("POST", in.url+fmt.Sprintf("/api/v4/jobs/%d/artifacts?artifact_format=zip&artifact_type=archive", j.ID), &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("JOB-TOKEN", j.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			in.t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			in.t.Fatalf("artifact upload: %d", resp.StatusCode)
		}
	}
	if status, body, _ := in.do("PUT", fmt.Sprintf("/api/v4/jobs/%d", j.ID), nil, map[string]any{"token": j.Token, "state": "success", "exit_code": 0}); status != http.StatusOK {
		in.t.Fatalf("finishing job %d: %d %s", j.ID, status, body)
	}
}

// TestAuthorizationMatrix asks every surface (API, web UI) the same
// questions as every role and checks the answer GitLab's permission table
// gives: the one policy decides for both, and private things answer as
// missing ones.
func TestAuthorizationMatrix(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, withSecretsKey(testSecretsKey))
		ci := "stages: [test]\nbuild:\n  script: [make]\n  artifacts: {paths: [out/]}\nwork:\n  script: [sleep 1]\nfin:\n  script: [true]\n"
		var group struct {
			ID int64 `json:"id"`
		}
		in.api("POST", "/api/v4/groups", url.Values{"name": {"Team"}, "path": {"team"}}, http.StatusCreated, &group)
		project := func(name, ci string) apiProject {
			var p apiProject
			in.api("POST", "/api/v4/projects", url.Values{"name": {name}, "namespace_id": {fmt.Sprint(group.ID)}}, http.StatusCreated, &p)
			r := newRepo(t, map[string]string{".gitlab-ci.yml": ci})
			r.git("push", "-q", in.pushURL("team/"+name), "main")
			return p
		}
		runner := in.runnerToken()
		app := project("app", ci)
		jobs := map[string]matrixJob{}
		for range 3 {
			j := in.requestJob(runner)
			var info struct {
				Name string `json:"name"`
			}
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d", app.ID, j.ID), nil, http.StatusOK, &info)
			jobs[info.Name] = j
		}
		in.finishJob(jobs["build"], true)
		in.finishJob(jobs["fin"], false)
		pl := in.latestPipeline(app.ID)
		// Other projects' running jobs: one allow-listed by app, one not.
		lib := project("lib", "one:\n  script: [true]\n")
		allowed := in.requestJob(runner)
		project("other", "one:\n  script: [true]\n")
		foreign := in.requestJob(runner)
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/job_token_scope/allowlist", app.ID), url.Values{"target_project_id": {fmt.Sprint(lib.ID)}}, http.StatusCreated, nil)

		tokens := map[string]map[string]string{"anon": nil, "runner": {"PRIVATE-TOKEN": runner}}
		browsers := map[string]*browser{"anon": newBrowser(t, in.url)}
		userIDs := map[string]int64{}
		for lvl, role := range map[int]string{10: "guest", 20: "reporter", 30: "developer", 40: "maintainer", 50: "owner"} {
			id, tok := in.user(role)
			userIDs[role] = id
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", app.ID), url.Values{"user_id": {fmt.Sprint(id)}, "access_level": {fmt.Sprint(lvl)}}, http.StatusCreated, nil)
			tokens[role] = map[string]string{"PRIVATE-TOKEN": tok}
		}
		tokens["admin"] = map[string]string{"PRIVATE-TOKEN": in.token}
		readToken := func(userID int64) string {
			var tok struct {
				Token string `json:"token"`
			}
			in.api("POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", userID), url.Values{"name": {"ro"}, "scopes[]": {"read_api"}}, http.StatusCreated, &tok)
			return tok.Token
		}
		tokens["read_api"] = map[string]string{"PRIVATE-TOKEN": readToken(userIDs["maintainer"])}
		var root struct {
			ID int64 `json:"id"`
		}
		in.api("GET", "/api/v4/user", nil, http.StatusOK, &root)
		tokens["admin_read_api"] = map[string]string{"PRIVATE-TOKEN": readToken(root.ID)}
		newbie, _ := in.user("newbie")
		tokens["job_own"] = map[string]string{"JOB-TOKEN": jobs["work"].Token}
		tokens["job_allowed"] = map[string]string{"JOB-TOKEN": allowed.Token}
		tokens["job_foreign"] = map[string]string{"JOB-TOKEN": foreign.Token}
		tokens["job_finished"] = map[string]string{"JOB-TOKEN": jobs["fin"].Token}
		for _, role := range webRoles[1:] {
			b := newBrowser(t, in.url)
			b.signIn(tokens[role]["PRIVATE-TOKEN"])
			browsers[role] = b
		}
		// A second pipeline for the changes, so the matrix's job tokens live on.
		var pl2 apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", app.ID), url.Values{"ref": {"main"}}, http.StatusCreated, &pl2)

		var trig struct {
			ID int64 `json:"id"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", app.ID), url.Values{"description": {"matrix"}}, http.StatusCreated, &trig)

		var sched, hook struct {
			ID int64 `json:"id"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules", app.ID), url.Values{"description": {"m"}, "ref": {"main"}, "cron": {"0 4 * * *"}}, http.StatusCreated, &sched)
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/hooks", app.ID), url.Values{"url": {"https://hooks.example.com/m"}}, http.StatusCreated, &hook)

		P := fmt.Sprintf("/api/v4/projects/%d", app.ID)
		W := "/team/app"
		build, work := jobs["build"].ID, jobs["work"].ID
		// Codes per role in matrixRoles order (web rows: webRoles order).
		const readPipelines = "404 403 200 200 200 200 200 200 200 200 200 404 401 401"
		api := []struct {
			method, path string
			body         url.Values
			codes        string
		}{
			{"GET", P, nil, "404 200 200 200 200 200 200 200 200 200 200 404 401 401"},
			{"GET", P + "/pipelines", nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipelines/%d", P, pl.ID), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipelines/%d/jobs", P, pl.ID), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/jobs/%d", P, work), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/jobs/%d/trace", P, work), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/jobs/%d/artifacts", P, build), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/jobs/%d/artifacts/out/secret.txt", P, build), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipelines/%d/artifacts?job=build", P, pl.ID), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipelines/%d/artifacts/raw/out/secret.txt?job=build", P, pl.ID), nil, readPipelines},
			{"GET", P + "/triggers", nil, "404 403 403 403 200 200 200 200 200 403 403 404 401 401"},
			{"GET", P + "/job_token_scope/allowlist", nil, "404 403 403 403 200 200 200 200 200 403 403 404 401 401"},
			{"GET", fmt.Sprintf("%s/pipelines/%d/variables", P, pl.ID), nil, "404 403 403 200 200 200 200 200 200 403 403 404 401 401"},
			{"GET", fmt.Sprintf("%s/triggers/%d", P, trig.ID), nil, "404 403 403 403 200 200 200 200 200 403 403 404 401 401"},
			{"GET", P + "/members/all", nil, "404 200 200 200 200 200 200 200 200 200 200 404 401 401"},
			{"GET", P + "/runners", nil, "404 403 403 403 200 200 200 403 403 403 403 404 401 401"},
			{"GET", P + "/repository/tree", nil, readPipelines},
			{"GET", P + "/repository/files/.gitlab-ci.yml?ref=main", nil, readPipelines},
			{"GET", P + "/repository/commits/main/statuses", nil, readPipelines},
			{"POST", P + "/statuses/main", url.Values{"state": {"success"}}, "404 403 403 201 201 201 201 403 403 403 403 404 401 401"},
			{"GET", "/api/v4/user", nil, "401 200 200 200 200 200 200 200 200 403 403 403 401 401"},
			{"GET", "/api/v4/groups", nil, "200 200 200 200 200 200 200 200 200 403 403 403 401 401"},
			{"GET", "/api/v4/runners/all", nil, "401 403 403 403 403 403 200 403 200 403 403 403 401 401"},
			{"POST", P + "/pipeline", url.Values{"ref": {"main"}}, "404 403 403 201 201 201 201 403 403 403 403 404 401 401"},
			{"POST", fmt.Sprintf("%s/pipelines/%d/cancel", P, pl2.ID), nil, "404 403 403 200 200 200 200 403 403 403 403 404 401 401"},
			{"POST", fmt.Sprintf("%s/jobs/%d/artifacts/keep", P, build), nil, "404 403 403 200 200 200 200 403 403 403 403 404 401 401"},
			{"POST", P + "/triggers", url.Values{"description": {"t"}}, "404 403 403 403 201 201 201 403 403 403 403 404 401 401"},
			{"POST", P + "/members", url.Values{"user_id": {fmt.Sprint(newbie)}, "access_level": {"10"}}, "404 403 403 403 201 201 201 403 403 403 403 404 401 401"},
			{"POST", "/api/v4/runners/reset_registration_token", nil, "401 403 403 403 403 403 201 403 403 403 403 403 401 401"},
			{"POST", fmt.Sprintf("%s/jobs/%d/erase", P, build), nil, "404 403 403 403 201 201 201 403 403 403 403 404 401 401"},
			{"PUT", P, url.Values{"description": {"changed"}}, "404 403 403 403 200 200 200 403 403 403 403 404 401 401"},
			{"PUT", P, url.Values{"visibility": {"private"}}, "404 403 403 403 200 200 200 403 403 403 403 404 401 401"}, // unchanged: no Owner needed
			// CI/CD variables: Maintainers (values are secrets, so reading too), never job tokens;
			// allowed writes here are 400 (a value that cannot be masked).
			{"GET", P + "/variables", nil, "404 403 403 403 200 200 200 200 200 403 403 404 401 401"},
			{"POST", P + "/variables", url.Values{"key": {"K"}, "value": {"short"}, "masked": {"true"}}, "404 403 403 403 400 400 400 403 403 403 403 404 401 401"},
			{"GET", fmt.Sprintf("/api/v4/groups/%d/variables", group.ID), nil, "404 404 404 404 404 404 200 404 200 404 404 404 401 401"},
			{"GET", "/api/v4/admin/ci/variables", nil, "401 403 403 403 403 403 200 403 200 403 403 403 401 401"},
			{"GET", P + "/protected_branches", nil, "404 403 200 200 200 200 200 200 200 200 200 404 401 401"},
			{"POST", P + "/protected_branches", url.Values{"name": {"main"}, "push_access_level": {"20"}}, "404 403 403 403 400 400 400 403 403 403 403 404 401 401"},
			{"GET", P + "/pipeline_schedules", nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipeline_schedules/%d/pipelines", P, sched.ID), nil, readPipelines},
			{"POST", P + "/pipeline_schedules", url.Values{"description": {"d"}, "ref": {"main"}, "cron": {"0 4 * * *"}}, "404 403 403 201 201 201 201 403 403 403 403 404 401 401"},
			{"GET", P + "/hooks", nil, "404 403 403 403 200 200 200 200 200 403 403 404 401 401"},
			{"GET", P + "/artifact_tokens", nil, "404 403 403 403 200 200 200 200 200 403 403 404 401 401"},
			{"POST", P + "/hooks", url.Values{"url": {"https://hooks.example.com/x"}}, "404 403 403 403 201 201 201 403 403 403 403 404 401 401"},
			// The routes the API gained with environments, releases, the
			// repository reads and the pipeline reports: reads are 200 at
			// their ability's level; writes are asked with a body the
			// handler refuses (400), so that an allowed caller changes
			// nothing and every row still tells allowed from refused.
			{"GET", fmt.Sprintf("%s/hooks/%d", P, hook.ID), nil, "404 403 403 403 200 200 200 200 200 403 403 404 401 401"},
			{"GET", fmt.Sprintf("%s/pipeline_schedules/%d", P, sched.ID), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipelines/%d/test_report", P, pl.ID), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipelines/%d/test_report_summary", P, pl.ID), nil, readPipelines},
			{"GET", fmt.Sprintf("%s/pipelines/%d/bridges", P, pl.ID), nil, readPipelines},
			{"POST", fmt.Sprintf("%s/jobs/%d/unschedule", P, work), nil, "404 403 403 400 400 400 400 403 403 403 403 404 401 401"}, // not a delayed job
			{"GET", P + "/ci/lint", nil, readPipelines},
			{"POST", P + "/ci/lint", url.Values{"content": {"job:\n  script: [true]\n"}}, "404 403 403 200 200 200 200 403 403 403 403 404 401 401"},
			{"GET", P + "/repository/branches", nil, readPipelines},
			{"GET", P + "/repository/tags", nil, readPipelines},
			{"GET", P + "/repository/commits", nil, readPipelines},
			{"GET", P + "/repository/compare?from=main&to=main", nil, readPipelines},
			{"GET", P + "/protected_tags", nil, readPipelines},
			{"GET", P + "/environments", nil, readPipelines},
			{"POST", P + "/environments", nil, "404 403 403 400 400 400 400 403 403 403 403 404 401 401"}, // no name
			{"GET", P + "/deployments", nil, readPipelines},
			{"GET", P + "/resource_groups", nil, readPipelines},
			{"GET", P + "/releases", nil, "404 200 200 200 200 200 200 200 200 200 200 404 401 401"},
			{"POST", P + "/releases", nil, "404 403 403 400 400 400 400 403 403 403 403 404 401 401"}, // no tag_name
		}
		for _, rt := range api {
			codes := strings.Fields(rt.codes)
			for i, role := range matrixRoles {
				status, body, _ := in.do(rt.method, rt.path, tokens[role], rt.body)
				if fmt.Sprint(status) != codes[i] {
					t.Errorf("API %s %s as %s: %d, want %s (%.200s)", rt.method, rt.path, role, status, codes[i], body)
				}
			}
		}

		const webRead = "404 403 200 200 200 200 200 200 200"
		web := []struct {
			method, path, codes string
		}{
			{"GET", W, "404 200 200 200 200 200 200 200 200"},
			{"GET", W + "/-/pipelines", webRead},
			{"GET", fmt.Sprintf("%s/-/pipelines/%d", W, pl.ID), webRead},
			{"GET", fmt.Sprintf("%s/-/jobs/%d", W, work), webRead},
			{"GET", fmt.Sprintf("%s/-/jobs/%d/raw", W, work), webRead},
			{"GET", fmt.Sprintf("/-/ui/pipelines/%d.json", pl.ID), webRead},
			{"GET", fmt.Sprintf("/-/ui/jobs/%d/trace.json?offset=0&line=0", work), webRead},
			{"GET", fmt.Sprintf("%s/-/jobs/%d/artifacts/browse", W, build), "404 403 404 404 404 404 404 404 404"},
			{"GET", "/-/admin", "303 403 403 403 403 403 200 403 403"},
			{"GET", "/-/runners", "303 403 403 403 403 403 200 403 200"},
			{"POST", fmt.Sprintf("%s/-/pipelines/%d/retry", W, pl2.ID), "404 403 403 303 303 303 303 403 403"},
			{"GET", W + "/-/settings", "404 403 403 403 200 200 200 403 403"},
			{"GET", W + "/-/settings/ci_cd", "404 403 403 403 200 200 200 200 200"},
			{"POST", W + "/-/settings/ci_cd/variables", "404 403 403 403 422 422 422 403 403"},
			{"GET", W + "/-/pipeline_schedules", webRead},
			{"GET", W + "/-/hooks", "404 403 403 403 200 200 200 200 200"},
			{"GET", W + "/-/artifact_tokens", "404 403 403 403 200 200 200 200 200"},
			{"GET", fmt.Sprintf("%s/-/hooks/%d/edit", W, hook.ID), "404 403 403 403 200 200 200 403 403"},
			{"POST", fmt.Sprintf("%s/-/hooks/%d/edit", W, hook.ID), "404 403 403 403 422 422 422 403 403"},
			{"POST", W + "/-/settings/protected_tags", "404 403 403 403 422 422 422 403 403"},
			{"GET", "/-/groups/team/settings/ci_cd", "404 404 404 404 404 404 200 404 200"},
			{"POST", "/-/groups/team/settings/ci_cd/variables", "404 404 404 404 404 404 422 403 403"}, // a read_api token may not write, as in the API
			{"GET", "/-/admin/ci_cd", "303 403 403 403 403 403 200 403 200"},
			{"POST", "/-/admin/ci_cd/variables", "401 403 403 403 403 403 422 403 403"},
			{"GET", W + "/badges/main/pipeline.svg", "404 404 200 200 200 200 200 200 200"}, // refusals are a missing badge
		}
		for _, rt := range web {
			codes := strings.Fields(rt.codes)
			for i, role := range webRoles {
				b := browsers[role]
				var status int
				var body string
				if rt.method == "GET" {
					status, body, _ = b.get(rt.path)
				} else {
					form := url.Values{}
					if role != "anon" {
						form.Set("_csrf", b.csrf(W))
					}
					status, body, _ = b.post(rt.path, form)
				}
				if fmt.Sprint(status) != codes[i] {
					t.Errorf("web %s %s as %s: %d, want %s (%.200s)", rt.method, rt.path, role, status, codes[i], body)
				}
			}
		}
	})
}

// TestPrivateLooksMissing: on every surface, a private project (and its
// pipelines and jobs) answers a caller who may not see it exactly as a
// project that does not exist: same status, same body.
func TestPrivateLooksMissing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		var secret apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"secret"}}, http.StatusCreated, &secret)
		r := newRepo(t, map[string]string{".gitlab-ci.yml": "build:\n  script: [true]\n"})
		r.git("push", "-q", in.pushURL("root/secret"), "main")
		pl := in.latestPipeline(secret.ID)
		_, stranger := in.user("stranger")
		var trig struct {
			Token string `json:"token"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/triggers", secret.ID), url.Values{"description": {"t"}}, http.StatusCreated, &trig)
		var sched, hook struct {
			ID int64 `json:"id"`
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules", secret.ID), url.Values{"description": {"s"}, "ref": {"main"}, "cron": {"0 4 * * *"}}, http.StatusCreated, &sched)
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/hooks", secret.ID), url.Values{"url": {"https://hooks.example.com/s"}}, http.StatusCreated, &hook)
		in.api("POST", "/api/v4/groups", url.Values{"name": {"secret"}, "path": {"secret"}}, http.StatusCreated, nil)
		// A project runner of the private project, and a project of the
		// stranger's own, where they may enable and disable runners.
		var secretRunner struct {
			ID int64 `json:"id"`
		}
		in.api("POST", "/api/v4/user/runners", url.Values{"runner_type": {"project_type"}, "project_id": {fmt.Sprint(secret.ID)}}, http.StatusCreated, &secretRunner)
		var mine apiProject
		if status, body, _ := in.do("POST", "/api/v4/projects", map[string]string{"PRIVATE-TOKEN": stranger}, url.Values{"name": {"mine"}}); status != http.StatusCreated {
			t.Fatalf("stranger's project: %d %s", status, body)
		} else if err := json.Unmarshal(body, &mine); err != nil {
			t.Fatal(err)
		}
		as := map[string]map[string]string{"anonymous": nil, "stranger": {"PRIVATE-TOKEN": stranger}}
		for who, h := range as {
			for _, c := range []struct {
				name, method, private, missing string
				body                           any
			}{
				{"project", "GET", fmt.Sprintf("/api/v4/projects/%d", secret.ID), "/api/v4/projects/999999", nil},
				{"project by path", "GET", "/api/v4/projects/root%2Fsecret", "/api/v4/projects/root%2Fnope", nil},
				{"pipelines", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", secret.ID), "/api/v4/projects/999999/pipelines", nil},
				{"artifacts", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=build", secret.ID, pl.ID), fmt.Sprintf("/api/v4/projects/999999/pipelines/%d/artifacts?job=build", pl.ID), nil},
				{"trigger without token", "POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", secret.ID), "/api/v4/projects/999999/trigger/pipeline", url.Values{"ref": {"main"}}},
				{"trigger with a wrong token", "POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", secret.ID), "/api/v4/projects/999999/trigger/pipeline", url.Values{"ref": {"main"}, "token": {"glptt-wrong"}}},
				{"trigger with a job token", "POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", secret.ID), "/api/v4/projects/999999/trigger/pipeline", url.Values{"ref": {"main"}, "token": {"glcbt-nope"}}},
				{"trigger with a malformed body", "POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", secret.ID), "/api/v4/projects/999999/trigger/pipeline", "{not json"},
				{"trigger with another project's token", "POST", "/api/v4/projects/root%2Fnope/trigger/pipeline", "/api/v4/projects/999999/trigger/pipeline", url.Values{"ref": {"main"}, "token": {trig.Token}}},
				{"mint an artifact token", "POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifact_tokens", secret.ID, pl.ID), fmt.Sprintf("/api/v4/projects/999999/pipelines/%d/artifact_tokens", pl.ID), url.Values{"jobs": {"build"}}},
				{"artifact tokens", "GET", fmt.Sprintf("/api/v4/projects/%d/artifact_tokens", secret.ID), "/api/v4/projects/999999/artifact_tokens", nil},
				{"artifacts with an artifact token", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=build&sig=glatk-wrong", secret.ID, pl.ID), fmt.Sprintf("/api/v4/projects/999999/pipelines/%d/artifacts?job=build&sig=glatk-wrong", pl.ID), nil},
				{"branches", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/branches", secret.ID), "/api/v4/projects/999999/repository/branches", nil},
				{"file", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/files/.gitlab-ci.yml/raw?ref=main", secret.ID), "/api/v4/projects/999999/repository/files/.gitlab-ci.yml/raw?ref=main", nil},
				{"commit", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s", secret.ID, pl.SHA), fmt.Sprintf("/api/v4/projects/999999/repository/commits/%s", pl.SHA), nil},
				{"compare", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/compare?from=main&to=main", secret.ID), "/api/v4/projects/999999/repository/compare?from=main&to=main", nil},
				{"statuses", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/commits/%s/statuses", secret.ID, pl.SHA), fmt.Sprintf("/api/v4/projects/999999/repository/commits/%s/statuses", pl.SHA), nil},
				{"report a status", "POST", fmt.Sprintf("/api/v4/projects/%d/statuses/%s", secret.ID, pl.SHA), fmt.Sprintf("/api/v4/projects/999999/statuses/%s", pl.SHA), url.Values{"state": {"success"}}},
				{"schedule pipelines", "GET", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules/%d/pipelines", secret.ID, sched.ID), fmt.Sprintf("/api/v4/projects/999999/pipeline_schedules/%d/pipelines", sched.ID), nil},
				{"enable a private project's runner", "POST", fmt.Sprintf("/api/v4/projects/%d/runners?runner_id=%d", mine.ID, secretRunner.ID), fmt.Sprintf("/api/v4/projects/%d/runners?runner_id=999999", mine.ID), nil},
				{"disable a private project's runner", "DELETE", fmt.Sprintf("/api/v4/projects/%d/runners/%d", mine.ID, secretRunner.ID), fmt.Sprintf("/api/v4/projects/%d/runners/999999", mine.ID), nil},
				{"variables", "GET", fmt.Sprintf("/api/v4/projects/%d/variables", secret.ID), "/api/v4/projects/999999/variables", nil},
				{"protected branches", "GET", fmt.Sprintf("/api/v4/projects/%d/protected_branches", secret.ID), "/api/v4/projects/999999/protected_branches", nil},
				{"protected tags", "GET", fmt.Sprintf("/api/v4/projects/%d/protected_tags", secret.ID), "/api/v4/projects/999999/protected_tags", nil},
				{"trigger", "GET", fmt.Sprintf("/api/v4/projects/%d/triggers/1", secret.ID), "/api/v4/projects/999999/triggers/1", nil},
				{"environments", "GET", fmt.Sprintf("/api/v4/projects/%d/environments", secret.ID), "/api/v4/projects/999999/environments", nil},
				{"environment", "GET", fmt.Sprintf("/api/v4/projects/%d/environments/1", secret.ID), "/api/v4/projects/999999/environments/1", nil},
				{"deployments", "GET", fmt.Sprintf("/api/v4/projects/%d/deployments", secret.ID), "/api/v4/projects/999999/deployments", nil},
				{"resource groups", "GET", fmt.Sprintf("/api/v4/projects/%d/resource_groups", secret.ID), "/api/v4/projects/999999/resource_groups", nil},
				{"releases", "GET", fmt.Sprintf("/api/v4/projects/%d/releases", secret.ID), "/api/v4/projects/999999/releases", nil},
				{"release", "GET", fmt.Sprintf("/api/v4/projects/%d/releases/v1", secret.ID), "/api/v4/projects/999999/releases/v1", nil},
				{"release links", "GET", fmt.Sprintf("/api/v4/projects/%d/releases/v1/assets/links", secret.ID), "/api/v4/projects/999999/releases/v1/assets/links", nil},
				{"schedule", "GET", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules/%d", secret.ID, sched.ID), fmt.Sprintf("/api/v4/projects/999999/pipeline_schedules/%d", sched.ID), nil},
				{"hook", "GET", fmt.Sprintf("/api/v4/projects/%d/hooks/%d", secret.ID, hook.ID), fmt.Sprintf("/api/v4/projects/999999/hooks/%d", hook.ID), nil},
				{"hook events", "GET", fmt.Sprintf("/api/v4/projects/%d/hooks/%d/events", secret.ID, hook.ID), fmt.Sprintf("/api/v4/projects/999999/hooks/%d/events", hook.ID), nil},
				{"members all", "GET", fmt.Sprintf("/api/v4/projects/%d/members/all", secret.ID), "/api/v4/projects/999999/members/all", nil},
				{"runners", "GET", fmt.Sprintf("/api/v4/projects/%d/runners", secret.ID), "/api/v4/projects/999999/runners", nil},
				{"tags", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/tags", secret.ID), "/api/v4/projects/999999/repository/tags", nil},
				{"commits", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/commits", secret.ID), "/api/v4/projects/999999/repository/commits", nil},
				{"tree", "GET", fmt.Sprintf("/api/v4/projects/%d/repository/tree", secret.ID), "/api/v4/projects/999999/repository/tree", nil},
				{"ci lint", "GET", fmt.Sprintf("/api/v4/projects/%d/ci/lint", secret.ID), "/api/v4/projects/999999/ci/lint", nil},
				{"test report", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/test_report", secret.ID, pl.ID), fmt.Sprintf("/api/v4/projects/999999/pipelines/%d/test_report", pl.ID), nil},
				{"test report summary", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/test_report_summary", secret.ID, pl.ID), fmt.Sprintf("/api/v4/projects/999999/pipelines/%d/test_report_summary", pl.ID), nil},
				{"bridges", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/bridges", secret.ID, pl.ID), fmt.Sprintf("/api/v4/projects/999999/pipelines/%d/bridges", pl.ID), nil},
				{"artifact token", "GET", fmt.Sprintf("/api/v4/projects/%d/artifact_tokens/1", secret.ID), "/api/v4/projects/999999/artifact_tokens/1", nil},
				{"artifact token uses", "GET", fmt.Sprintf("/api/v4/projects/%d/artifact_tokens/1/uses", secret.ID), "/api/v4/projects/999999/artifact_tokens/1/uses", nil},
				{"ci lint content", "POST", fmt.Sprintf("/api/v4/projects/%d/ci/lint", secret.ID), "/api/v4/projects/999999/ci/lint", url.Values{"content": {"job:\n  script: [true]\n"}}},
				{"group variables", "GET", "/api/v4/groups/secret/variables", "/api/v4/groups/nope/variables", nil},
				{"web project", "GET", "/root/secret", "/root/nope", nil},
				{"web hook edit", "GET", fmt.Sprintf("/root/secret/-/hooks/%d/edit", hook.ID), fmt.Sprintf("/root/nope/-/hooks/%d/edit", hook.ID), nil},
				{"web protected tags", "POST", "/root/secret/-/settings/protected_tags", "/root/nope/-/settings/protected_tags", url.Values{"name": {"v*"}}},
				{"web group variables", "GET", "/-/groups/secret/settings/ci_cd", "/-/groups/nope/settings/ci_cd", nil},
				{"web group variables form", "POST", "/-/groups/secret/settings/ci_cd/variables", "/-/groups/nope/settings/ci_cd/variables", url.Values{"key": {"K"}}},
				{"web pipeline", "GET", fmt.Sprintf("/root/secret/-/pipelines/%d", pl.ID), "/root/nope/-/pipelines/1", nil},
				{"pipeline json", "GET", fmt.Sprintf("/-/ui/pipelines/%d.json", pl.ID), "/-/ui/pipelines/999999.json", nil},
				{"trace json", "GET", fmt.Sprintf("/-/ui/jobs/%d/trace.json?offset=0&line=0", pl.ID), "/-/ui/jobs/999999/trace.json?offset=0&line=0", nil},
				{"pipeline events", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/events", secret.ID, pl.ID), fmt.Sprintf("/api/v4/projects/999999/pipelines/%d/events", pl.ID), nil},
				{"web pipeline events", "GET", fmt.Sprintf("/-/ui/pipelines/%d/events", pl.ID), "/-/ui/pipelines/999999/events", nil},
				{"web log events", "GET", fmt.Sprintf("/-/ui/jobs/%d/trace/events", pl.ID), "/-/ui/jobs/999999/trace/events", nil},
				{"git refs", "GET", "/root/secret.git/info/refs?service=git-upload-pack", "/root/nope.git/info/refs?service=git-upload-pack", nil},
			} {
				ps, pb, _ := in.do(c.method, c.private, h, c.body)
				ms, mb, _ := in.do(c.method, c.missing, h, c.body)
				// Pages echo their own path (a sign-in link's next=).
				pb = bytes.ReplaceAll(pb, []byte("secret"), []byte("nope"))
				if ps != ms || string(pb) != string(mb) || ps < 400 {
					t.Errorf("%s, %s: private answers %d %q, missing %d %q", who, c.name, ps, pb, ms, mb)
				}
			}
		}
		// Git with credentials: wrong ones are asked again on both, a
		// stranger's valid ones learn "not found" on both.
		for who, cred := range map[string]string{"wrong password": "x:glpat-wrong", "stranger": "stranger:" + stranger} {
			base := strings.Replace(in.url, "http://", "http://"+cred+"@", 1)
			get := func(path string) (int, string) {
				resp, err := http.Get(base + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var b bytes.Buffer
				_, _ = b.ReadFrom(resp.Body)
				return resp.StatusCode, b.String()
			}
			ps, pb := get("/root/secret.git/info/refs?service=git-upload-pack")
			ms, mb := get("/root/nope.git/info/refs?service=git-upload-pack")
			if ps != ms || pb != mb || ps < 400 {
				t.Errorf("git as %s: private %d %q, missing %d %q", who, ps, pb, ms, mb)
			}
		}
	})
}

// TestMembershipRules: GitLab's rules for who may grant, change and remove
// which role, and that a trigger dies with its owner's access.
func TestMembershipRules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		var group struct {
			ID int64 `json:"id"`
		}
		in.api("POST", "/api/v4/groups", url.Values{"name": {"Org"}, "path": {"org"}}, http.StatusCreated, &group)
		var app apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"app"}, "namespace_id": {fmt.Sprint(group.ID)}}, http.StatusCreated, &app)
		r := newRepo(t, map[string]string{".gitlab-ci.yml": "build:\n  script: [true]\n"})
		r.git("push", "-q", in.pushURL("org/app"), "main")
		P := fmt.Sprintf("/api/v4/projects/%d", app.ID)
		maintID, maint := in.user("maint")
		ownerID, owner := in.user("own")
		devID, _ := in.user("dev")
		in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(maintID)}, "access_level": {"40"}}, http.StatusCreated, nil)
		in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(ownerID)}, "access_level": {"50"}}, http.StatusCreated, nil)
		in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		asM := map[string]string{"PRIVATE-TOKEN": maint}
		asO := map[string]string{"PRIVATE-TOKEN": owner}
		for _, c := range []struct {
			name   string
			method string
			path   string
			body   url.Values
			h      map[string]string
			want   int
		}{
			{"maintainer makes themselves owner", "POST", P + "/members", url.Values{"user_id": {fmt.Sprint(maintID)}, "access_level": {"50"}}, asM, 403},
			{"maintainer demotes an owner", "POST", P + "/members", url.Values{"user_id": {fmt.Sprint(ownerID)}, "access_level": {"30"}}, asM, 403},
			{"maintainer removes an owner", "DELETE", fmt.Sprintf("%s/members/%d", P, ownerID), nil, asM, 403},
			{"maintainer deletes the project", "DELETE", P, nil, asM, 403},
			{"maintainer promotes a developer to maintainer", "POST", P + "/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"40"}}, asM, 201},
			{"maintainer demotes that maintainer", "POST", P + "/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, asM, 201},
			{"owner grants owner", "POST", P + "/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"50"}}, asO, 201},
			{"owner removes that owner", "DELETE", fmt.Sprintf("%s/members/%d", P, devID), nil, asO, 204},
			{"the group's last owner demotes themselves", "POST", fmt.Sprintf("/api/v4/groups/%d/members", group.ID), url.Values{"user_id": {"1"}, "access_level": {"40"}}, nil, 403},
		} {
			h := c.h
			if h == nil {
				h = map[string]string{"PRIVATE-TOKEN": in.token}
			}
			if status, body, _ := in.do(c.method, c.path, h, c.body); status != c.want {
				t.Errorf("%s: %d, want %d (%s)", c.name, status, c.want, body)
			}
		}
		// A trigger works while its owner may create pipelines, not after.
		var trig struct {
			Token string `json:"token"`
		}
		if status, body, _ := in.do("POST", P+"/triggers", asM, url.Values{"description": {"deploy"}}); status != 201 {
			t.Fatalf("creating a trigger: %d %s", status, body)
		} else if err := json.Unmarshal(body, &trig); err != nil {
			t.Fatal(err)
		}
		fire := func() int {
			status, _, _ := in.do("POST", P+"/trigger/pipeline", nil, url.Values{"ref": {"main"}, "token": {trig.Token}})
			return status
		}
		if got := fire(); got != 201 {
			t.Fatalf("trigger of a maintainer: %d, want 201", got)
		}
		in.api("DELETE", fmt.Sprintf("%s/members/%d", P, maintID), nil, http.StatusNoContent, nil)
		if got := fire(); got != 403 {
			t.Fatalf("trigger whose owner left the project: %d, want 403", got)
		}
	})
}
