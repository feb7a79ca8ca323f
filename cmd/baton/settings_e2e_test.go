package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// TestProjectSettings drives PUT /projects/:id through GitLab's client:
// the values it sets come back, they take effect (the jobs' default
// timeout, auto-cancel, the minimum role for pipeline variables on API and
// trigger pipelines), invalid values are 400 and change nothing, and the
// policy decides who may (a private project answers a stranger as a
// missing one; visibility takes an Owner). The settings page does the same
// for signed-in Maintainers.
func TestProjectSettings(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		gl, err := gitlab.NewClient(in.token, gitlab.WithBaseURL(in.url+"/api/v4"))
		if err != nil {
			t.Fatal(err)
		}
		created, _, err := gl.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("app")})
		if err != nil {
			t.Fatalf("CreateProject: %v", err)
		}
		if created.BuildTimeout != 3600 || created.AutoCancelPendingPipelines != "enabled" || created.CIPipelineVariablesMinimumOverrideRole != "developer" {
			t.Errorf("new project's settings: build_timeout %d, auto_cancel %q, role %q; want GitLab's defaults 3600, enabled, developer",
				created.BuildTimeout, created.AutoCancelPendingPipelines, created.CIPipelineVariablesMinimumOverrideRole)
		}
		P := fmt.Sprintf("/api/v4/projects/%d", created.ID)
		member := func(name string, level int) string {
			id, tok := in.user(name)
			in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(id)}, "access_level": {fmt.Sprint(level)}}, http.StatusCreated, nil)
			return tok
		}
		dev, maint, owner := member("dev", 30), member("maint", 40), member("owner", 50)
		_, stranger := in.user("stranger")
		as := func(tok string) map[string]string { return map[string]string{"PRIVATE-TOKEN": tok} }

		// A private project answers a stranger's PUT as a missing one.
		st, privBody, _ := in.do("PUT", P, as(stranger), url.Values{"name": {"x"}})
		ms, missBody, _ := in.do("PUT", "/api/v4/projects/999999", as(stranger), url.Values{"name": {"x"}})
		if st != http.StatusNotFound || st != ms || string(privBody) != string(missBody) {
			t.Errorf("stranger's PUT: private %d %s, missing %d %s; want the same 404", st, privBody, ms, missBody)
		}

		edited, _, err := gl.Projects.EditProject(created.ID, &gitlab.EditProjectOptions{
			Name: gitlab.Ptr("App Two"), Description: gitlab.Ptr("the app"), Visibility: gitlab.Ptr(gitlab.InternalVisibility),
			CIConfigPath: gitlab.Ptr("ci/pipeline.yml"), BuildTimeout: gitlab.Ptr(int64(900)),
			AutoCancelPendingPipelines:             gitlab.Ptr("disabled"),
			CIPipelineVariablesMinimumOverrideRole: gitlab.Ptr(gitlab.CiPipelineVariablesMaintainerRole),
		})
		if err != nil {
			t.Fatalf("EditProject: %v", err)
		}
		check := func(what string, p *gitlab.Project) {
			t.Helper()
			if p.Name != "App Two" || p.Description != "the app" || p.Visibility != gitlab.InternalVisibility || p.CIConfigPath != "ci/pipeline.yml" ||
				p.BuildTimeout != 900 || p.AutoCancelPendingPipelines != "disabled" || p.CIPipelineVariablesMinimumOverrideRole != "maintainer" {
				t.Errorf("%s: name %q, description %q, visibility %q, ci_config_path %q, build_timeout %d, auto_cancel %q, role %q", what,
					p.Name, p.Description, p.Visibility, p.CIConfigPath, p.BuildTimeout, p.AutoCancelPendingPipelines, p.CIPipelineVariablesMinimumOverrideRole)
			}
		}
		check("EditProject's answer", edited)
		got, _, err := gl.Projects.GetProject(created.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		check("GetProject after EditProject", got)
		var scoped struct {
			Enabled bool `json:"ci_job_token_scope_enabled"`
		}
		in.api("PUT", P, map[string]any{"ci_job_token_scope_enabled": true}, http.StatusOK, &scoped)
		if !scoped.Enabled {
			t.Error("ci_job_token_scope_enabled did not change")
		}

		// The configuration lives where ci_config_path says; the job gets
		// the project's timeout.
		ci := "build:\n  script: [\"true\"]\n"
		r := newRepo(t, map[string]string{"ci/pipeline.yml": ci})
		r.git("push", "-q", in.pushURL("root/app"), "main")
		in.latestPipeline(created.ID)
		runner := in.runnerToken()
		var job struct {
			RunnerInfo struct {
				Timeout int `json:"timeout"`
			} `json:"runner_info"`
		}
		eventually(t, 30*time.Second, "a job", func() bool {
			status, body, _ := in.do("POST", "/api/v4/jobs/request", nil, map[string]any{"token": runner})
			return status == http.StatusCreated && json.Unmarshal(body, &job) == nil
		})
		if job.RunnerInfo.Timeout != 900 {
			t.Errorf("job timeout %d, want the project's build_timeout 900", job.RunnerInfo.Timeout)
		}

		// default_branch must be an existing branch.
		r.git("checkout", "-q", "-b", "dev")
		r.git("push", "-q", in.pushURL("root/app"), "dev")
		p, _, err := gl.Projects.EditProject(created.ID, &gitlab.EditProjectOptions{DefaultBranch: gitlab.Ptr("dev")})
		if err != nil || p.DefaultBranch != "dev" {
			t.Fatalf("EditProject default_branch: %v, %+v", err, p)
		}

		// Invalid values are 400 and change nothing.
		var before map[string]any
		in.api("GET", P, nil, http.StatusOK, &before)
		for _, body := range []any{
			url.Values{"build_timeout": {"599"}}, url.Values{"build_timeout": {"2592001"}}, url.Values{"build_timeout": {"soon"}},
			url.Values{"ci_config_path": {"../x.yml"}}, url.Values{"ci_config_path": {"/etc/passwd"}}, map[string]any{"ci_config_path": "a\x00b.yml"},
			url.Values{"auto_cancel_pending_pipelines": {"maybe"}}, url.Values{"ci_pipeline_variables_minimum_override_role": {"guest"}},
			url.Values{"visibility": {"secret"}}, url.Values{"default_branch": {"nope"}}, url.Values{"name": {" "}},
			url.Values{"name": {"ok"}, "build_timeout": {"1"}}, url.Values{},
		} {
			status, resp, _ := in.do("PUT", P, as(in.token), body)
			if status != http.StatusBadRequest {
				t.Errorf("PUT %v: %d %s, want 400", body, status, resp)
			}
		}
		var after map[string]any
		in.api("GET", P, nil, http.StatusOK, &after)
		if fmt.Sprint(before) != fmt.Sprint(after) {
			t.Errorf("refused changes changed the project:\n%v\n%v", before, after)
		}

		// Who may: Maintainers edit, Owners change the visibility.
		for _, c := range []struct {
			who  string
			tok  string
			body url.Values
			want int
		}{
			{"developer", dev, url.Values{"description": {"d"}}, http.StatusForbidden},
			{"maintainer", maint, url.Values{"description": {"d"}}, http.StatusOK},
			{"maintainer", maint, url.Values{"name": {"App Three"}}, http.StatusOK},
			{"maintainer", maint, url.Values{"visibility": {"private"}}, http.StatusForbidden},
			{"maintainer", maint, url.Values{"visibility": {"internal"}}, http.StatusOK}, // unchanged
			{"owner", owner, url.Values{"visibility": {"private"}}, http.StatusOK},
		} {
			if status, body, _ := in.do("PUT", P, as(c.tok), c.body); status != c.want {
				t.Errorf("PUT %v as %s: %d %s, want %d", c.body, c.who, status, body, c.want)
			}
		}

		// Minimum role for pipeline variables (maintainer now).
		vars := map[string]any{"ref": "main", "variables": []map[string]string{{"key": "WHO", "value": "x"}}}
		pipeline := func(tok string, body any, want int, contains string) {
			t.Helper()
			status, resp, _ := in.do("POST", P+"/pipeline", as(tok), body)
			if status != want || !strings.Contains(string(resp), contains) {
				t.Errorf("POST pipeline %v: %d %s, want %d with %q", body, status, resp, want, contains)
			}
		}
		pipeline(dev, vars, http.StatusForbidden, "ci_pipeline_variables_minimum_override_role")
		pipeline(dev, map[string]any{"ref": "main"}, http.StatusCreated, "")
		pipeline(maint, vars, http.StatusCreated, "")

		// Triggers check their owner's role: the maintainer's trigger, once
		// its owner is only a developer, may not give variables.
		var trig struct {
			Token string `json:"token"`
		}
		status, body, _ := in.do("POST", P+"/triggers", as(maint), url.Values{"description": {"t"}})
		if status != http.StatusCreated || json.Unmarshal(body, &trig) != nil {
			t.Fatalf("creating trigger: %d %s", status, body)
		}
		trigger := func(withVars bool, want int) {
			t.Helper()
			form := url.Values{"token": {trig.Token}, "ref": {"main"}}
			if withVars {
				form.Set("variables[WHO]", "trigger")
			}
			status, resp, _ := in.do("POST", P+"/trigger/pipeline", nil, form)
			if status != want || (want == http.StatusForbidden && !strings.Contains(string(resp), "ci_pipeline_variables_minimum_override_role")) {
				t.Errorf("trigger (variables %v): %d %s, want %d", withVars, status, resp, want)
			}
		}
		trigger(true, http.StatusCreated)
		var maintID struct {
			ID int64 `json:"id"`
		}
		status, body, _ = in.do("GET", "/api/v4/user", as(maint), nil)
		if status != http.StatusOK || json.Unmarshal(body, &maintID) != nil {
			t.Fatalf("GET /user as maint: %d %s", status, body)
		}
		in.api("DELETE", fmt.Sprintf("%s/members/%d", P, maintID.ID), nil, http.StatusNoContent, nil)
		in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(maintID.ID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		trigger(true, http.StatusForbidden)
		trigger(false, http.StatusCreated)

		// no_one_allowed refuses everyone, Owners and administrators too.
		in.api("PUT", P, url.Values{"ci_pipeline_variables_minimum_override_role": {"no_one_allowed"}}, http.StatusOK, nil)
		pipeline(owner, vars, http.StatusForbidden, "no_one_allowed")
		pipeline(in.token, vars, http.StatusForbidden, "no_one_allowed")
		pipeline(owner, map[string]any{"ref": "main"}, http.StatusCreated, "")

		// Auto-cancel: with it enabled a push cancels the branch's older
		// pending pipeline; disabled, it does not.
		devPipeline := func() apiPipeline {
			var pls []apiPipeline
			in.api("GET", P+"/pipelines?ref=dev", nil, http.StatusOK, &pls)
			if len(pls) == 0 {
				t.Fatal("no pipeline on dev")
			}
			return pls[0]
		}
		push := func(msg string) apiPipeline {
			t.Helper()
			old := devPipeline()
			r.commit(msg, map[string]string{"x.txt": msg})
			r.git("push", "-q", in.pushURL("root/app"), "dev")
			eventually(t, 30*time.Second, "a new pipeline on dev", func() bool { return devPipeline().ID != old.ID })
			in.main.Git.Wait() // the push's hook, which auto-cancels, has returned
			return old
		}
		old := push("kept")
		in.api("GET", fmt.Sprintf("%s/pipelines/%d", P, old.ID), nil, http.StatusOK, &old)
		if old.Status != "pending" {
			t.Errorf("auto-cancel disabled: the older dev pipeline is %s, want pending", old.Status)
		}
		in.api("PUT", P, url.Values{"auto_cancel_pending_pipelines": {"enabled"}}, http.StatusOK, nil)
		old = push("cancels")
		in.api("GET", fmt.Sprintf("%s/pipelines/%d", P, old.ID), nil, http.StatusOK, &old)
		if old.Status != "canceled" {
			t.Errorf("auto-cancel enabled: the older dev pipeline is %s, want canceled", old.Status)
		}

		// The settings page: Maintainers (here the owner) save, with CSRF;
		// developers are refused.
		W := "/root/app/-/settings"
		b := newBrowser(t, in.url)
		b.signIn(owner)
		form := url.Values{"_csrf": {b.csrf(W)}, "name": {"App Web"}, "description": {""}, "visibility": {"private"},
			"default_branch": {"main"}, "ci_config_path": {"ci/pipeline.yml"}, "build_timeout": {"1200"},
			"ci_pipeline_variables_minimum_override_role": {"owner"}}
		if status, body, _ := b.post(W, form); status != http.StatusSeeOther {
			t.Fatalf("saving settings: %d %s", status, body)
		}
		got, _, err = gl.Projects.GetProject(created.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "App Web" || got.BuildTimeout != 1200 || got.DefaultBranch != "main" || got.AutoCancelPendingPipelines != "disabled" ||
			got.CIPipelineVariablesMinimumOverrideRole != "owner" {
			t.Errorf("after the settings page: %+v", got)
		}
		form.Set("build_timeout", "5")
		if status, body, _ := b.post(W, form); status != http.StatusUnprocessableEntity || !strings.Contains(body, "build_timeout") {
			t.Errorf("settings page with a bad timeout: %d, want 422 naming build_timeout", status)
		}
		if status, _, _ := b.post(W, url.Values{"name": {"no csrf"}}); status != http.StatusForbidden {
			t.Errorf("settings page without CSRF: %d, want 403", status)
		}
		d := newBrowser(t, in.url)
		d.signIn(dev)
		if status, _, _ := d.get(W); status != http.StatusForbidden {
			t.Errorf("settings page as developer: %d, want 403", status)
		}
		s := newBrowser(t, in.url)
		s.signIn(stranger)
		if status, _, _ := s.get(W); status != http.StatusNotFound {
			t.Errorf("settings page of a private project as a stranger: %d, want 404", status)
		}
	})
}
