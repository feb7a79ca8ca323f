package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// testSecretsKey is the secrets key of the tests' servers (32 bytes, base64).
const testSecretsKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

func withSecretsKey(k string) option { return func(c *Config) { c.SecretsKey = k } }

// glClient is GitLab's API client for token.
func (in *instance) glClient(token string) *gitlab.Client {
	in.t.Helper()
	gl, err := gitlab.NewClient(token, gitlab.WithBaseURL(in.url+"/api/v4"))
	if err != nil {
		in.t.Fatal(err)
	}
	return gl
}

// group creates a group (below parent, if not 0) and returns its id.
func (in *instance) group(path string, parent int64) int64 {
	in.t.Helper()
	form := url.Values{"name": {path}, "path": {path}}
	if parent != 0 {
		form.Set("parent_id", fmt.Sprint(parent))
	}
	var g struct {
		ID int64 `json:"id"`
	}
	in.api("POST", "/api/v4/groups", form, http.StatusCreated, &g)
	return g.ID
}

// TestCIVariablesAPI drives the variable and protected branch routes
// through GitLab's client: what is created comes back, GitLab's rules and
// bounds answer 400, and only Maintainers (project), Owners (group) and
// administrators (instance) may read or change them; job tokens never.
func TestCIVariablesAPI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, withSecretsKey(testSecretsKey))
		gl := in.glClient(in.token)
		gid := in.group("platform", 0)
		var proj apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"app"}, "namespace_id": {fmt.Sprint(gid)}}, http.StatusCreated, &proj)

		secret := "s3cr3t-Value-42xyz"
		created, _, err := gl.ProjectVariables.CreateVariable(proj.ID, &gitlab.CreateProjectVariableOptions{
			Key: gitlab.Ptr("DEPLOY_TOKEN"), Value: gitlab.Ptr(secret), Masked: gitlab.Ptr(true), Protected: gitlab.Ptr(true),
			Description: gitlab.Ptr("deploys"), VariableType: gitlab.Ptr(gitlab.EnvVariableType)})
		if err != nil {
			t.Fatalf("CreateVariable: %v", err)
		}
		if created.Key != "DEPLOY_TOKEN" || created.Value != secret || !created.Masked || !created.Protected || created.Raw ||
			created.EnvironmentScope != "*" || created.Description != "deploys" || created.VariableType != gitlab.EnvVariableType {
			t.Errorf("created = %+v", created)
		}
		for _, env := range []string{"*", "production"} {
			if _, _, err := gl.ProjectVariables.CreateVariable(proj.ID, &gitlab.CreateProjectVariableOptions{
				Key: gitlab.Ptr("URL"), Value: gitlab.Ptr("https://" + env), EnvironmentScope: gitlab.Ptr(env),
				VariableType: gitlab.Ptr(gitlab.FileVariableType), Raw: gitlab.Ptr(true)}); err != nil {
				t.Fatalf("CreateVariable(URL, %s): %v", env, err)
			}
		}
		list, resp, err := gl.ProjectVariables.ListVariables(proj.ID, nil)
		if err != nil || len(list) != 3 || resp.TotalItems != 3 {
			t.Fatalf("ListVariables = %d variables (X-Total %d), %v", len(list), resp.TotalItems, err)
		}
		got, _, err := gl.ProjectVariables.GetVariable(proj.ID, "URL", &gitlab.GetProjectVariableOptions{Filter: &gitlab.VariableFilter{EnvironmentScope: "production"}})
		if err != nil || got.Value != "https://production" || got.VariableType != gitlab.FileVariableType || !got.Raw {
			t.Errorf("GetVariable(URL, production) = %+v, %v", got, err)
		}
		if _, resp, err := gl.ProjectVariables.GetVariable(proj.ID, "URL", nil); err == nil || resp.StatusCode != http.StatusConflict {
			t.Errorf("GetVariable(URL) of two scopes without a filter: %v", err)
		}
		upd, _, err := gl.ProjectVariables.UpdateVariable(proj.ID, "URL", &gitlab.UpdateProjectVariableOptions{
			Value: gitlab.Ptr("https://prod.example"), Filter: &gitlab.VariableFilter{EnvironmentScope: "production"}})
		if err != nil || upd.Value != "https://prod.example" || upd.EnvironmentScope != "production" || upd.VariableType != gitlab.FileVariableType {
			t.Errorf("UpdateVariable = %+v, %v", upd, err)
		}
		if got, _, _ := gl.ProjectVariables.GetVariable(proj.ID, "URL", &gitlab.GetProjectVariableOptions{Filter: &gitlab.VariableFilter{EnvironmentScope: "*"}}); got == nil || got.Value != "https://*" {
			t.Errorf("the * scope changed with production's: %+v", got)
		}
		if _, err := gl.ProjectVariables.RemoveVariable(proj.ID, "URL", &gitlab.RemoveProjectVariableOptions{Filter: &gitlab.VariableFilter{EnvironmentScope: "production"}}); err != nil {
			t.Errorf("RemoveVariable: %v", err)
		}
		if _, resp, err := gl.ProjectVariables.GetVariable(proj.ID, "URL", &gitlab.GetProjectVariableOptions{Filter: &gitlab.VariableFilter{EnvironmentScope: "production"}}); err == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("removed variable: %v", err)
		}

		// GitLab's rules: a clear 400.
		for _, tc := range []struct {
			name string
			opt  gitlab.CreateProjectVariableOptions
			msg  string
		}{
			{"too short to mask", gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("A"), Value: gitlab.Ptr("short"), Masked: gitlab.Ptr(true)}, "cannot be masked"},
			{"two lines masked", gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("A"), Value: gitlab.Ptr("line-one\nline-two"), Masked: gitlab.Ptr(true)}, "cannot be masked"},
			{"reserved", gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("CI_JOB_TOKEN"), Value: gitlab.Ptr("x")}, "predefined"},
			{"taken", gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("DEPLOY_TOKEN"), Value: gitlab.Ptr("x")}, "already been taken"},
			{"too long", gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("BIG"), Value: gitlab.Ptr(strings.Repeat("x", 10001))}, "too long"},
		} {
			_, resp, err := gl.ProjectVariables.CreateVariable(proj.ID, &tc.opt)
			if err == nil || resp.StatusCode != http.StatusBadRequest || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s: %v, want 400 saying %q", tc.name, err, tc.msg)
			}
		}

		// Group and instance variables.
		gv, _, err := gl.GroupVariables.CreateVariable(gid, &gitlab.CreateGroupVariableOptions{Key: gitlab.Ptr("REGION"), Value: gitlab.Ptr("eu-west-1"), Protected: gitlab.Ptr(true)})
		if err != nil || gv.Value != "eu-west-1" || !gv.Protected {
			t.Fatalf("GroupVariables.CreateVariable = %+v, %v", gv, err)
		}
		if got, _, err := gl.GroupVariables.GetVariable(gid, "REGION", nil); err != nil || got.Value != "eu-west-1" || got.EnvironmentScope != "*" {
			t.Errorf("GroupVariables.GetVariable = %+v, %v", got, err)
		}
		iv, _, err := gl.InstanceVariables.CreateVariable(&gitlab.CreateInstanceVariableOptions{Key: gitlab.Ptr("COMPANY"), Value: gitlab.Ptr("acme-corp-1"), Masked: gitlab.Ptr(true)})
		if err != nil || iv.Value != "acme-corp-1" || !iv.Masked {
			t.Fatalf("InstanceVariables.CreateVariable = %+v, %v", iv, err)
		}
		if iv, _, err = gl.InstanceVariables.UpdateVariable("COMPANY", &gitlab.UpdateInstanceVariableOptions{Value: gitlab.Ptr("acme-corp-2")}); err != nil || iv.Value != "acme-corp-2" || !iv.Masked {
			t.Errorf("InstanceVariables.UpdateVariable = %+v, %v", iv, err)
		}
		if ivs, _, err := gl.InstanceVariables.ListVariables(nil); err != nil || len(ivs) != 1 || ivs[0].Value != "acme-corp-2" {
			t.Errorf("InstanceVariables.ListVariables = %+v, %v", ivs, err)
		}

		// Protected branches and tags.
		pb, _, err := gl.ProtectedBranches.ProtectRepositoryBranches(proj.ID, &gitlab.ProtectRepositoryBranchesOptions{
			Name: gitlab.Ptr("release/*"), PushAccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions), MergeAccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions)})
		if err != nil || pb.Name != "release/*" || len(pb.PushAccessLevels) != 1 || pb.PushAccessLevels[0].AccessLevel != gitlab.DeveloperPermissions ||
			pb.MergeAccessLevels[0].AccessLevel != gitlab.MaintainerPermissions || pb.AllowForcePush {
			t.Fatalf("ProtectRepositoryBranches = %+v, %v", pb, err)
		}
		if _, resp, err := gl.ProtectedBranches.ProtectRepositoryBranches(proj.ID, &gitlab.ProtectRepositoryBranchesOptions{Name: gitlab.Ptr("release/*")}); err == nil || resp.StatusCode != http.StatusConflict {
			t.Errorf("protecting twice: %v", err)
		}
		if got, _, err := gl.ProtectedBranches.GetProtectedBranch(proj.ID, "release/*"); err != nil || got.ID != pb.ID {
			t.Errorf("GetProtectedBranch = %+v, %v", got, err)
		}
		if got, _, err := gl.ProtectedBranches.UpdateProtectedBranch(proj.ID, "release/*", &gitlab.UpdateProtectedBranchOptions{AllowForcePush: gitlab.Ptr(true)}); err != nil || !got.AllowForcePush {
			t.Errorf("UpdateProtectedBranch = %+v, %v", got, err)
		}
		if _, _, err := gl.ProtectedBranches.ProtectRepositoryBranches(proj.ID, &gitlab.ProtectRepositoryBranchesOptions{Name: gitlab.Ptr("main")}); err != nil {
			t.Fatal(err)
		}
		if pbs, _, err := gl.ProtectedBranches.ListProtectedBranches(proj.ID, nil); err != nil || len(pbs) != 2 || pbs[0].Name != "main" ||
			pbs[0].PushAccessLevels[0].AccessLevel != gitlab.MaintainerPermissions {
			t.Errorf("ListProtectedBranches = %+v, %v", pbs, err)
		}
		if _, err := gl.ProtectedBranches.UnprotectRepositoryBranches(proj.ID, "release/*"); err != nil {
			t.Errorf("UnprotectRepositoryBranches: %v", err)
		}
		pt, _, err := gl.ProtectedTags.ProtectRepositoryTags(proj.ID, &gitlab.ProtectRepositoryTagsOptions{Name: gitlab.Ptr("v*"), CreateAccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions)})
		if err != nil || pt.Name != "v*" || pt.CreateAccessLevels[0].AccessLevel != gitlab.MaintainerPermissions {
			t.Errorf("ProtectRepositoryTags = %+v, %v", pt, err)
		}
		if _, resp, err := gl.ProtectedBranches.ProtectRepositoryBranches(proj.ID, &gitlab.ProtectRepositoryBranchesOptions{
			Name: gitlab.Ptr("x"), PushAccessLevel: gitlab.Ptr(gitlab.AccessLevelValue(20))}); err == nil || resp.StatusCode != http.StatusBadRequest {
			t.Errorf("push_access_level 20: %v, want 400", err)
		}

		// Who may: Maintainers of the project, Owners of the group, admins.
		P := fmt.Sprintf("/api/v4/projects/%d", proj.ID)
		member := func(name string, level int) string {
			id, tok := in.user(name)
			in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(id)}, "access_level": {fmt.Sprint(level)}}, http.StatusCreated, nil)
			return tok
		}
		dev, maint := member("dev", 30), member("maint", 40)
		_, stranger := in.user("stranger")
		as := func(tok string) map[string]string { return map[string]string{"PRIVATE-TOKEN": tok} }
		for _, tc := range []struct {
			who, method, path string
			want              int
		}{
			{dev, "GET", P + "/variables", http.StatusForbidden},
			{dev, "POST", P + "/variables", http.StatusForbidden},
			{maint, "GET", P + "/variables/DEPLOY_TOKEN", http.StatusOK},
			{maint, "GET", fmt.Sprintf("/api/v4/groups/%d/variables", gid), http.StatusNotFound}, // not a group member: the group is private
			{maint, "GET", "/api/v4/admin/ci/variables", http.StatusForbidden},
			{dev, "GET", P + "/protected_branches", http.StatusOK},
			{dev, "POST", P + "/protected_branches", http.StatusForbidden},
			{stranger, "GET", P + "/variables", http.StatusNotFound},
		} {
			st, body, _ := in.do(tc.method, tc.path, as(tc.who), url.Values{"key": {"X"}, "value": {"y"}, "name": {"y"}})
			if st != tc.want {
				t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, st, body, tc.want)
			}
			if st == http.StatusOK && tc.method == "GET" && strings.Contains(tc.path, "DEPLOY_TOKEN") && !strings.Contains(string(body), secret) {
				t.Errorf("a Maintainer did not get the value: %s", body)
			}
		}
		st, privBody, _ := in.do("GET", P+"/variables", as(stranger), nil)
		ms, missBody, _ := in.do("GET", "/api/v4/projects/999999/variables", as(stranger), nil)
		if st != ms || string(privBody) != string(missBody) {
			t.Errorf("a private project's variables: %d %s; a missing one's: %d %s", st, privBody, ms, missBody)
		}
	})
}

// secretPipeline is the configuration of TestSecretVariablesInJobs: one
// job that says what it got, echoing the secret in two halves across two
// output flushes.
const secretPipeline = `variables:
  LEVEL: yaml-global
show:
  variables:
    LEVEL: yaml-job
    ONLY_YAML: from-yaml
  script:
    - echo "protected=$CI_COMMIT_REF_PROTECTED"
    - 'if [ -n "$DEPLOY_TOKEN" ]; then echo "secret=present"; else echo "secret=absent"; fi'
    - 'printf "value:%s" "${DEPLOY_TOKEN:0:7}"; sleep 3; printf "%s\n" "${DEPLOY_TOKEN:7}"'
    - 'echo "who=$WHO level=$LEVEL only_yaml=$ONLY_YAML company=$COMPANY"'
    - 'echo "cert=$(cat "$CERT")"'
deploy:
  rules:
    - if: '$CI_COMMIT_REF_PROTECTED == "true" && $WHO == "sub" && $DEPLOY_TOKEN'
  script: [echo deploying]
`

// TestSecretVariablesInJobs runs jobs with Baton's runner: a masked,
// protected project variable reaches a job on a protected branch and not
// one on an unprotected branch, and its value never appears in the stored
// log, though the job echoes it in two halves; the closest group's
// variable wins; the precedence is GitLab's.
func TestSecretVariablesInJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, withSecretsKey(testSecretsKey))
		gl := in.glClient(in.token)
		top := in.group("top", 0)
		sub := in.group("sub", top)
		var proj apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"app"}, "namespace_id": {fmt.Sprint(sub)}}, http.StatusCreated, &proj)
		secret := "Sup3rS3cret-Token-0123"
		mustVar := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := gl.ProjectVariables.CreateVariable(proj.ID, &gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("DEPLOY_TOKEN"),
			Value: gitlab.Ptr(secret), Masked: gitlab.Ptr(true), Protected: gitlab.Ptr(true)})
		mustVar(err)
		_, _, err = gl.ProjectVariables.CreateVariable(proj.ID, &gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("LEVEL"), Value: gitlab.Ptr("project")})
		mustVar(err)
		_, _, err = gl.ProjectVariables.CreateVariable(proj.ID, &gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("CERT"), Value: gitlab.Ptr("-----cert-----"),
			VariableType: gitlab.Ptr(gitlab.FileVariableType)})
		mustVar(err)
		_, _, err = gl.GroupVariables.CreateVariable(top, &gitlab.CreateGroupVariableOptions{Key: gitlab.Ptr("WHO"), Value: gitlab.Ptr("top")})
		mustVar(err)
		_, _, err = gl.GroupVariables.CreateVariable(sub, &gitlab.CreateGroupVariableOptions{Key: gitlab.Ptr("WHO"), Value: gitlab.Ptr("sub")})
		mustVar(err)
		_, _, err = gl.GroupVariables.CreateVariable(top, &gitlab.CreateGroupVariableOptions{Key: gitlab.Ptr("ONLY_YAML"), Value: gitlab.Ptr("from-group")})
		mustVar(err)
		_, _, err = gl.InstanceVariables.CreateVariable(&gitlab.CreateInstanceVariableOptions{Key: gitlab.Ptr("COMPANY"), Value: gitlab.Ptr("acme")})
		mustVar(err)
		_, _, err = gl.ProtectedBranches.ProtectRepositoryBranches(proj.ID, &gitlab.ProtectRepositoryBranchesOptions{Name: gitlab.Ptr("main")})
		mustVar(err)

		r := newRepo(t, map[string]string{".gitlab-ci.yml": secretPipeline})
		r.git("push", "-q", in.pushURL(proj.PathWithNamespace), "main")
		r.git("checkout", "-q", "-b", "feature")
		r.git("push", "-q", in.pushURL(proj.PathWithNamespace), "feature")
		in.startRunner(in.runnerToken(), 2)

		var pls []apiPipeline
		eventually(t, 15*time.Second, "two pipelines", func() bool {
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", proj.ID), nil, http.StatusOK, &pls)
			return len(pls) == 2
		})
		traces := map[string]string{}
		for _, pl := range pls {
			in.waitPipeline(proj.ID, pl.ID, 90*time.Second, "success", "failed")
			jobs := in.jobs(proj.ID, pl.ID, false)
			traces[pl.Ref] = in.trace(proj.ID, jobs["show"][0].ID)
			// Rules see CI_COMMIT_REF_PROTECTED and the CI/CD variables (protected ones on protected refs).
			if _, deploys := jobs["deploy"]; deploys != (pl.Ref == "main") {
				t.Errorf("%s: jobs %s; deploy should run on the protected branch only", pl.Ref, statuses(jobs))
			}
		}
		for ref, want := range map[string][]string{
			"main":    {"protected=true", "secret=present", "value:[MASKED]"},
			"feature": {"protected=false", "secret=absent"},
		} {
			tr := traces[ref]
			if strings.Contains(tr, secret) || strings.Contains(tr, secret[:7]) || strings.Contains(tr, secret[7:]) {
				t.Errorf("%s: the stored log shows (part of) the secret:\n%s", ref, tr)
			}
			for _, w := range append(want, "who=sub level=project only_yaml=from-group company=acme", "cert=-----cert-----") {
				if !strings.Contains(tr, w) {
					t.Errorf("%s: log lacks %q:\n%s", ref, w, tr)
				}
			}
		}

		// Pipeline variables beat project variables.
		var pl apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", proj.ID), map[string]any{"ref": "feature",
			"variables": []map[string]string{{"key": "LEVEL", "value": "pipeline"}}}, http.StatusCreated, &pl)
		in.waitPipeline(proj.ID, pl.ID, 90*time.Second, "success", "failed")
		job := in.jobs(proj.ID, pl.ID, false)["show"][0]
		if tr := in.trace(proj.ID, job.ID); !strings.Contains(tr, "level=pipeline") {
			t.Errorf("a pipeline variable did not win over the project's:\n%s", tr)
		}
	})
}

// TestServerMasksTrace acts as a runner that masks nothing: the payload
// marks the secret masked (and file variables file), and the server keeps
// it out of the stored log even when it arrives split across two PATCHes.
func TestServerMasksTrace(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, withSecretsKey(testSecretsKey))
		gl := in.glClient(in.token)
		secret := "AnotherS3cret-Value-987"
		id, _ := in.project("app", map[string]string{".gitlab-ci.yml": "job:\n  script: [\"true\"]\n"})
		if _, _, err := gl.ProjectVariables.CreateVariable(id, &gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("SECRET"), Value: gitlab.Ptr(secret), Masked: gitlab.Ptr(true)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := gl.ProjectVariables.CreateVariable(id, &gitlab.CreateProjectVariableOptions{Key: gitlab.Ptr("KEYFILE"), Value: gitlab.Ptr("k"),
			VariableType: gitlab.Ptr(gitlab.FileVariableType)}); err != nil {
			t.Fatal(err)
		}
		var pl apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", id), url.Values{"ref": {"main"}}, http.StatusCreated, &pl)
		runner := in.runnerToken()
		var payload struct {
			ID        int64  `json:"id"`
			Token     string `json:"token"`
			Variables []struct {
				Key    string `json:"key"`
				Value  string `json:"value"`
				Masked bool   `json:"masked"`
				File   bool   `json:"file"`
			} `json:"variables"`
		}
		eventually(t, 15*time.Second, "a job", func() bool {
			status, body, _ := in.do("POST", "/api/v4/jobs/request", nil, map[string]any{"token": runner})
			return status == http.StatusCreated && json.Unmarshal(body, &payload) == nil
		})
		found := 0
		for _, v := range payload.Variables {
			switch v.Key {
			case "SECRET":
				found++
				if v.Value != secret || !v.Masked {
					t.Errorf("SECRET in the payload: %+v, want the value, masked", v)
				}
			case "KEYFILE":
				found++
				if !v.File || v.Masked {
					t.Errorf("KEYFILE in the payload: %+v, want file", v)
				}
			}
		}
		if found != 2 {
			t.Fatalf("payload variables %+v lack SECRET or KEYFILE", payload.Variables)
		}
		jobPath := fmt.Sprintf("/api/v4/jobs/%d", payload.ID)
		hdr := map[string]string{"JOB-TOKEN": payload.Token}
		patch := func(off int, data string) {
			t.Helper()
			h := map[string]string{"JOB-TOKEN": payload.Token, "Content-Range": fmt.Sprintf("%d-%d", off, off+len(data)-1)}
			st, body, _ := in.do("PATCH", jobPath+"/trace", h, data)
			if st != http.StatusAccepted {
				t.Fatalf("PATCH trace: %d %s", st, body)
			}
		}
		first := "token is " + secret[:10]
		second := secret[10:] + " and the job token " + payload.Token + "\n"
		patch(0, first)
		if tr := in.trace(id, payload.ID); strings.Contains(tr, secret[:10]) {
			t.Fatalf("after the first half, the stored log shows it: %q", tr)
		}
		patch(len(first), second)
		st, body, _ := in.do("PUT", jobPath, hdr, map[string]any{"token": payload.Token, "state": "success"})
		if st != http.StatusOK {
			t.Fatalf("finishing the job: %d %s", st, body)
		}
		tr := in.trace(id, payload.ID)
		if strings.Contains(tr, secret) || strings.Contains(tr, secret[:10]) || strings.Contains(tr, payload.Token) {
			t.Errorf("stored log shows a secret: %q", tr)
		}
		if !strings.HasPrefix(tr, "token is [MASKED]") || len(tr) != len(first)+len(second) {
			t.Errorf("stored log %q (%d bytes), want the masked value in place of the runner's %d bytes", tr, len(tr), len(first)+len(second))
		}
	})
}

// TestProtectedPush: git refuses what protected branches and tags forbid,
// with GitLab's message, and lets the rest through.
func TestProtectedPush(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		// No default branch protection: the test protects main itself.
		in := startBaton(t, e, withSecretsKey(testSecretsKey), withDefaultBranchProtection("none"))
		id, r := in.project("app", map[string]string{"README": "one\n"})
		P := fmt.Sprintf("/api/v4/projects/%d", id)
		in.api("POST", P+"/protected_branches", url.Values{"name": {"main"}}, http.StatusCreated, nil)
		in.api("POST", P+"/protected_branches", url.Values{"name": {"release/*"}, "push_access_level": {"30"}}, http.StatusCreated, nil)
		in.api("POST", P+"/protected_tags", url.Values{"name": {"v*"}}, http.StatusCreated, nil)
		devID, devTok := in.user("dev")
		in.api("POST", P+"/members", url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		devURL := func() string {
			u, _ := url.Parse(in.url)
			u.User = url.UserPassword("dev", devTok)
			u.Path = "/root/app.git"
			return u.String()
		}()
		before := strings.TrimSpace(r.git("rev-parse", "HEAD"))
		r.commit("two", map[string]string{"README": "two\n"})
		out, err := r.gitErr("push", devURL, "main")
		if err == nil || !strings.Contains(out, "You are not allowed to push code to protected branches on this project") {
			t.Errorf("a Developer's push to protected main: %v\n%s", err, out)
		}
		if out, err := r.gitErr("ls-remote", in.pushURL("root/app"), "refs/heads/main"); err != nil || !strings.HasPrefix(out, before) {
			t.Errorf("main moved after a refused push: %s %v", out, err)
		}
		if out, err := r.gitErr("push", devURL, "main:release/1"); err != nil {
			t.Errorf("a Developer's push to release/1 (Developers may): %v\n%s", err, out)
		}
		if out, err := r.gitErr("push", devURL, "main:feature"); err != nil {
			t.Errorf("a push to an unprotected branch: %v\n%s", err, out)
		}
		if out, err := r.gitErr("push", in.pushURL("root/app"), "main"); err != nil {
			t.Errorf("a Maintainer's push to main: %v\n%s", err, out)
		}
		// Force pushes and deletions of protected branches are refused.
		r.git("reset", "-q", "--hard", before)
		r.commit("rewritten", map[string]string{"README": "other\n"})
		out, err = r.gitErr("push", "--force", in.pushURL("root/app"), "main")
		if err == nil || !strings.Contains(out, "force push") {
			t.Errorf("a force push to main: %v\n%s", err, out)
		}
		out, err = r.gitErr("push", in.pushURL("root/app"), ":main")
		if err == nil || !strings.Contains(out, "delete protected branches") {
			t.Errorf("deleting main by push: %v\n%s", err, out)
		}
		if out, err := r.gitErr("push", in.pushURL("root/app"), ":feature"); err != nil {
			t.Errorf("deleting an unprotected branch: %v\n%s", err, out)
		}
		// Protected tags: a Developer may not create one; nobody moves one.
		r.git("tag", "v1")
		out, err = r.gitErr("push", devURL, "v1")
		if err == nil || !strings.Contains(out, "not allowed to create this tag") {
			t.Errorf("a Developer's protected tag: %v\n%s", err, out)
		}
		if out, err := r.gitErr("push", in.pushURL("root/app"), "v1"); err != nil {
			t.Errorf("a Maintainer's protected tag: %v\n%s", err, out)
		}
		out, err = r.gitErr("push", in.pushURL("root/app"), ":refs/tags/v1")
		if err == nil || !strings.Contains(out, "change existing tags") {
			t.Errorf("deleting a protected tag: %v\n%s", err, out)
		}
	})
}

// TestSecretsKeyAtStart: a server refuses to start when the database
// holds variables and the key is missing or another one, saying so.
func TestSecretsKeyAtStart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, withSecretsKey(testSecretsKey))
		in.api("POST", "/api/v4/admin/ci/variables", url.Values{"key": {"A"}, "value": {"b"}}, http.StatusCreated, nil)
		cfg := in.main.Config
		if err := in.main.Close(); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, key, want string
		}{
			{"another key", "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA=", "not the key"},
			{"no key", "", "no secrets key was given"},
			{"the key", testSecretsKey, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				m := &Main{Logger: testLogger(t), Config: cfg}
				m.Config.Listen = "127.0.0.1:0"
				m.Config.SecretsKey = tc.key
				err := m.Open(context.Background())
				defer m.Close()
				if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
					t.Errorf("Open = %v, want an error saying %q", err, tc.want)
				}
			})
		}
	})
}

// TestVariablesPage drives /<project>/-/settings/ci_cd and the protected
// branches of the settings page: Maintainers add, change and delete
// variables through CSRF-checked forms; a masked value never appears in
// the HTML, not even in the edit forms; Developers get no page.
func TestVariablesPage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		// No default branch protection: the page's list is the form's.
		in := startBaton(t, e, withSecretsKey(testSecretsKey), withDefaultBranchProtection("none"))
		id, _ := in.project("app", map[string]string{"README": "x\n"})
		page := "/root/app/-/settings/ci_cd"
		b := newBrowser(t, in.url)
		b.signIn(in.token)
		secret := "Html-Never-Sees-This-42"
		token := b.csrf(page)
		add := url.Values{"_csrf": {token}, "key": {"DEPLOY_SECRET"}, "value": {secret}, "masked": {"true"}, "protected": {"true"},
			"environment_scope": {"*"}, "description": {"the secret"}}
		if st, body, _ := b.post(page+"/variables", url.Values{"_csrf": {"x" + token}, "key": {"A"}, "value": {"b"}}); st != http.StatusForbidden {
			t.Errorf("a wrong CSRF token: %d %s", st, body)
		}
		if st, body, _ := b.post(page+"/variables", add); st != http.StatusSeeOther {
			t.Fatalf("adding a variable: %d %s", st, body)
		}
		if st, body, _ := b.post(page+"/variables", url.Values{"_csrf": {token}, "key": {"PLAIN"}, "value": {"plain-value"}}); st != http.StatusSeeOther {
			t.Fatalf("adding a plain variable: %d %s", st, body)
		}
		st, body, _ := b.get(page)
		if st != http.StatusOK || strings.Contains(body, secret) || !strings.Contains(body, "DEPLOY_SECRET") || !strings.Contains(body, "*****") ||
			!strings.Contains(body, "plain-value") {
			t.Fatalf("variables page (%d) shows the masked value, or lacks the variables:\n%s", st, body)
		}
		// A value that cannot be masked: the form says why, and echoes no value.
		st, body, _ = b.post(page+"/variables", url.Values{"_csrf": {token}, "key": {"SHORT"}, "value": {"tiny"}, "masked": {"true"}})
		if st != http.StatusUnprocessableEntity || !strings.Contains(body, "cannot be masked") || strings.Contains(body, secret) {
			t.Errorf("an unmaskable value: %d %s", st, body)
		}
		// Updating with an empty value keeps it; the flags change.
		if st, body, _ := b.post(page+"/variables/update", url.Values{"_csrf": {token}, "key": {"DEPLOY_SECRET"}, "original_environment_scope": {"*"},
			"value": {""}, "masked": {"true"}, "environment_scope": {"*"}, "description": {"changed"}}); st != http.StatusSeeOther {
			t.Fatalf("updating: %d %s", st, body)
		}
		var v struct {
			Value       string `json:"value"`
			Protected   bool   `json:"protected"`
			Description string `json:"description"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/variables/DEPLOY_SECRET", id), nil, http.StatusOK, &v)
		if v.Value != secret || v.Protected || v.Description != "changed" {
			t.Errorf("after the update: %+v", v)
		}
		if _, body, _ = b.get(page); strings.Contains(body, secret) {
			t.Errorf("the page shows the masked value after an update")
		}
		if st, body, _ := b.post(page+"/variables/delete", url.Values{"_csrf": {token}, "key": {"PLAIN"}, "environment_scope": {"*"}}); st != http.StatusSeeOther {
			t.Fatalf("deleting: %d %s", st, body)
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/variables/PLAIN", id), nil, http.StatusNotFound, nil)

		// Protected branches on the settings page.
		settings := "/root/app/-/settings"
		if st, body, _ := b.post(settings+"/protected_branches", url.Values{"_csrf": {token}, "name": {"release/*"},
			"push_access_level": {"30"}, "merge_access_level": {"40"}}); st != http.StatusSeeOther {
			t.Fatalf("protecting: %d %s", st, body)
		}
		if _, body, _ := b.get(settings); !strings.Contains(body, "<code>release/*</code>") {
			t.Errorf("settings page lacks the protected branch")
		}
		var pbs []struct {
			Name string `json:"name"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/protected_branches", id), nil, http.StatusOK, &pbs)
		if len(pbs) != 1 || pbs[0].Name != "release/*" {
			t.Errorf("protected branches after the form: %+v", pbs)
		}
		if st, _, _ := b.post(settings+"/protected_branches/delete", url.Values{"_csrf": {token}, "name": {"release/*"}}); st != http.StatusSeeOther {
			t.Errorf("unprotecting: %d", st)
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/protected_branches", id), nil, http.StatusOK, &pbs)
		if len(pbs) != 0 {
			t.Errorf("protected branches after unprotecting: %+v", pbs)
		}

		// Developers see no variables page and cannot post to it.
		devID, devTok := in.user("dev")
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", id), url.Values{"user_id": {fmt.Sprint(devID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		d := newBrowser(t, in.url)
		d.signIn(devTok)
		if st, body, _ := d.get(page); st != http.StatusForbidden || strings.Contains(body, secret) {
			t.Errorf("a Developer's variables page: %d", st)
		}
		dtok := d.csrf("/")
		if st, _, _ := d.post(page+"/variables", url.Values{"_csrf": {dtok}, "key": {"X"}, "value": {"y"}}); st != http.StatusForbidden {
			t.Errorf("a Developer's variable form: %d", st)
		}
	})
}
