package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// user creates a user with an api-scoped token and returns its id and token.
func (in *instance) user(name string) (int64, string) {
	in.t.Helper()
	var u struct {
		ID int64 `json:"id"`
	}
	in.api("POST", "/api/v4/users", url.Values{"username": {name}, "email": {name + "@example.com"}}, http.StatusCreated, &u)
	var tok struct {
		Token string `json:"token"`
	}
	in.api("POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", u.ID), url.Values{"name": {"t"}, "scopes[]": {"api"}}, http.StatusCreated, &tok)
	return u.ID, tok.Token
}

// TestGroupsMembersAndVisibility covers nested groups, URL-encoded paths,
// inherited membership, access levels, public projects and git permissions.
func TestGroupsMembersAndVisibility(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		var group, sub struct {
			ID       int64  `json:"id"`
			FullPath string `json:"full_path"`
		}
		in.api("POST", "/api/v4/groups", url.Values{"name": {"Platform"}, "path": {"platform"}}, http.StatusCreated, &group)
		in.api("POST", "/api/v4/groups", url.Values{"name": {"Backend"}, "path": {"backend"}, "parent_id": {fmt.Sprint(group.ID)}}, http.StatusCreated, &sub)
		if sub.FullPath != "platform/backend" {
			t.Fatalf("subgroup full path %q", sub.FullPath)
		}
		var proj apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"app"}, "namespace_id": {fmt.Sprint(sub.ID)}}, http.StatusCreated, &proj)
		if proj.PathWithNamespace != "platform/backend/app" {
			t.Fatalf("project path %q", proj.PathWithNamespace)
		}
		in.api("GET", "/api/v4/projects/platform%2Fbackend%2Fapp", nil, http.StatusOK, nil)
		r := newRepo(t, map[string]string{".gitlab-ci.yml": "build:\n  script: echo hi\n"})
		r.git("push", "-q", in.pushURL("platform/backend/app"), "main")

		aliceID, alice := in.user("alice")
		as := func(token string) map[string]string { return map[string]string{"PRIVATE-TOKEN": token} }
		path := fmt.Sprintf("/api/v4/projects/%d", proj.ID)
		if status, _, _ := in.do("GET", path, as(alice), nil); status != http.StatusNotFound {
			t.Fatalf("a stranger sees the private project: %d", status)
		}
		// Reporter on the top group: inherited read access, no pipelines.
		in.api("POST", fmt.Sprintf("/api/v4/groups/%d/members", group.ID), url.Values{"user_id": {fmt.Sprint(aliceID)}, "access_level": {"20"}}, http.StatusCreated, nil)
		if status, _, _ := in.do("GET", path, as(alice), nil); status != http.StatusOK {
			t.Fatalf("an inherited reporter cannot see the project: %d", status)
		}
		if status, body, _ := in.do("POST", path+"/pipeline", as(alice), url.Values{"ref": {"main"}}); status != http.StatusForbidden {
			t.Fatalf("a reporter created a pipeline: %d %s", status, body)
		}
		aliceURL := strings.Replace(in.pushURL("platform/backend/app"), "root:"+in.token, "alice:"+alice, 1)
		clone := &repo{t: t, dir: t.TempDir()}
		clone.git("clone", "-q", aliceURL, "app")
		w := &repo{t: t, dir: filepath.Join(clone.dir, "app")}
		w.commit("alice was here", map[string]string{"a.txt": "a"})
		if out, err := w.gitErr("push", "-q", "origin", "HEAD:main"); err == nil || !strings.Contains(out, "403") {
			t.Fatalf("a reporter pushed: %v\n%s", err, out)
		}
		// Developer on the project itself: pipelines and pushes.
		in.api("POST", path+"/members", url.Values{"user_id": {fmt.Sprint(aliceID)}, "access_level": {"30"}}, http.StatusCreated, nil)
		if status, body, _ := in.do("POST", path+"/pipeline", as(alice), url.Values{"ref": {"main"}}); status != http.StatusCreated {
			t.Fatalf("a developer cannot create a pipeline: %d %s", status, body)
		}
		// (to a branch of their own: main is protected, as GitLab
		// protects a new project's default branch)
		w.git("push", "-q", "origin", "HEAD:alice")
		var members []struct {
			Username    string `json:"username"`
			AccessLevel int    `json:"access_level"`
		}
		in.api("GET", path+"/members", nil, http.StatusOK, &members)
		if len(members) != 1 || members[0].Username != "alice" || members[0].AccessLevel != 30 {
			t.Fatalf("members = %+v", members)
		}
		if status, body, _ := in.do("DELETE", path, as(alice), nil); status != http.StatusForbidden {
			t.Fatalf("a developer deleted the project: %d %s", status, body)
		}

		// Public projects are readable anonymously, not writable.
		var pub apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"open"}, "visibility": {"public"}}, http.StatusCreated, &pub)
		if status, _, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d", pub.ID), nil, nil); status != http.StatusOK {
			t.Fatalf("anonymous GET of a public project: %d", status)
		}
		if status, _, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pub.ID), nil, url.Values{"ref": {"main"}}); status != http.StatusUnauthorized {
			t.Fatalf("anonymous pipeline on a public project: %d", status)
		}
		status, body, _ := in.do("GET", "/api/v4/projects", nil, nil)
		if status != http.StatusOK || strings.Contains(string(body), "platform/backend/app") || !strings.Contains(string(body), "root/open") {
			t.Fatalf("anonymous project list: %d %s", status, body)
		}
		// Public pipelines (GitLab's default): non-members who can see an
		// internal project read its pipelines; a guest of a private one does not.
		bobID, bob := in.user("bob")
		var internal apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"inner"}, "visibility": {"internal"}}, http.StatusCreated, &internal)
		if status, body, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", internal.ID), as(bob), nil); status != http.StatusOK {
			t.Fatalf("a signed-in non-member reading an internal project's pipelines: %d %s", status, body)
		}
		if status, _, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", internal.ID), nil, nil); status != http.StatusNotFound {
			t.Fatalf("anonymous read of an internal project's pipelines: %d, want 404", status)
		}
		in.api("POST", path+"/members", url.Values{"user_id": {fmt.Sprint(bobID)}, "access_level": {"10"}}, http.StatusCreated, nil)
		if status, _, _ := in.do("GET", path+"/pipelines", as(bob), nil); status != http.StatusForbidden {
			t.Fatalf("a guest reading a private project's pipelines: %d, want 403", status)
		}
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d", pub.ID), nil, http.StatusAccepted, nil)
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d", pub.ID), nil, http.StatusNotFound, nil)
	})
}

// TestJobTokenScope: a running job's token reads its own project's
// artifacts, is refused on another project until that project allow-lists
// it, and is refused everywhere once the job has finished.
func TestJobTokenScope(t *testing.T) {
	in := startBaton(t, engines()[0])
	in.startRunner(in.runnerToken(), 2)
	// Project "lib" has a successful pipeline with artifacts.
	libID, _ := in.project("lib", map[string]string{".gitlab-ci.yml": "build:\n  script: mkdir -p out && echo lib > out/lib.txt\n  artifacts:\n    paths: [out/]\n"})
	libPl := in.latestPipeline(libID)
	if pl := in.waitPipeline(libID, libPl.ID, 60*time.Second, "success", "failed"); pl.Status != "success" {
		t.Fatalf("lib pipeline %s", pl.Status)
	}
	// Project "app" runs a job that waits while the test uses its token.
	tokenFile := filepath.Join(t.TempDir(), "token")
	appID, _ := in.project("app", map[string]string{".gitlab-ci.yml": "wait:\n  script:\n    - echo \"$CI_JOB_TOKEN\" > " + tokenFile + "\n    - sleep 60\n"})
	appPl := in.latestPipeline(appID)
	var token string
	eventually(t, 30*time.Second, "the app job's token", func() bool {
		b, err := os.ReadFile(tokenFile)
		token = strings.TrimSpace(string(b))
		return err == nil && strings.HasPrefix(token, "glcbt-")
	})
	libArtifacts := fmt.Sprintf("/api/v4/projects/%d/jobs/artifacts/main/raw/out/lib.txt?job=build", libID)
	jt := map[string]string{"JOB-TOKEN": token}
	// lib is private: to a job token it does not allow, it does not exist.
	if status, body, _ := in.do("GET", libArtifacts, jt, nil); status != http.StatusNotFound || strings.Contains(string(body), "lib") {
		t.Fatalf("another project's job token: %d %s, want a 404 that names nothing", status, body)
	}
	if status, body, _ := in.do("GET", "/api/v4/projects", jt, nil); status != http.StatusOK || !strings.Contains(string(body), "root/app") || strings.Contains(string(body), "root/lib") {
		t.Fatalf("projects listed for a job token: %d %s, want only its own", status, body)
	}
	// Before lib allow-lists app, app's maintainer cannot even learn that lib exists.
	_, alice := in.user("alice")
	var aliceProj apiProject
	in.do("POST", "/api/v4/projects", map[string]string{"PRIVATE-TOKEN": alice}, url.Values{"name": {"mine"}})
	in.api("GET", "/api/v4/projects/alice%2Fmine", nil, http.StatusOK, &aliceProj)
	if status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/job_token_scope/allowlist", aliceProj.ID), map[string]string{"PRIVATE-TOKEN": alice}, url.Values{"target_project_id": {fmt.Sprint(libID)}}); status != http.StatusNotFound {
		t.Fatalf("alice allow-listed a private project she cannot see: %d %s", status, body)
	}
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/job_token_scope/allowlist", libID), url.Values{"target_project_id": {fmt.Sprint(appID)}}, http.StatusCreated, nil)
	if status, body, _ := in.do("GET", libArtifacts+"&job_token="+token, nil, nil); status != http.StatusOK || string(body) != "lib\n" {
		t.Fatalf("allow-listed job token: %d %s", status, body)
	}
	if status, _, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", libID), jt, url.Values{"ref": {"main"}}); status != http.StatusForbidden {
		t.Fatalf("a job token created a pipeline in an allow-listing project: %d", status)
	}
	// Triggering is a write too: allowed for the job's user (root is a
	// maintainer of lib), refused for a job of a user who is not.
	if status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", libID), nil, url.Values{"token": {token}, "ref": {"main"}}); status != http.StatusCreated {
		t.Fatalf("trigger with root's job token: %d %s", status, body)
	}
	// alice's job in her own project, allow-listed by lib: it may read lib
	// but not trigger it, since alice is no Developer of lib.
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/job_token_scope/allowlist", libID), url.Values{"target_project_id": {fmt.Sprint(aliceProj.ID)}}, http.StatusCreated, nil)
	aliceFile := filepath.Join(t.TempDir(), "alice-token")
	ar := newRepo(t, map[string]string{".gitlab-ci.yml": "wait:\n  script:\n    - echo \"$CI_JOB_TOKEN\" > " + aliceFile + "\n    - sleep 60\n"})
	aliceURL := strings.Replace(in.pushURL("alice/mine"), "root:"+in.token, "alice:"+alice, 1)
	ar.git("push", "-q", aliceURL, "main")
	var aliceToken string
	eventually(t, 30*time.Second, "alice's job token", func() bool {
		b, err := os.ReadFile(aliceFile)
		aliceToken = strings.TrimSpace(string(b))
		return err == nil && strings.HasPrefix(aliceToken, "glcbt-")
	})
	if status, body, _ := in.do("GET", libArtifacts, map[string]string{"JOB-TOKEN": aliceToken}, nil); status != http.StatusOK || string(body) != "lib\n" {
		t.Fatalf("alice's allow-listed job token reading lib: %d %s", status, body)
	}
	if status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", libID), nil, url.Values{"token": {aliceToken}, "ref": {"main"}}); status != http.StatusForbidden {
		t.Fatalf("alice's job token triggered lib: %d %s, want 403", status, body)
	}
	alicePl := in.latestPipeline(aliceProj.ID)
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/cancel", aliceProj.ID, alicePl.ID), nil, http.StatusOK, nil)
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/cancel", appID, appPl.ID), nil, http.StatusOK, nil)
	in.waitPipeline(appID, appPl.ID, 45*time.Second, "canceled")
	if status, _, _ := in.do("GET", libArtifacts, jt, nil); status != http.StatusUnauthorized {
		t.Fatalf("a finished job's token: %d, want 401", status)
	}
}
