package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The compatibility suite: third-party GitLab API clients drive a real
// Baton and assert the values they get back. compat/gitbeaker.mjs uses
// @gitbeaker/rest (npm, compat/node_modules); compat/python_gitlab.py
// uses Debian's python3-gitlab. Without the client the tests fail under
// CI and skip otherwise.

// compatRoot is the repository's compat/ directory.
func compatRoot(t *testing.T) string {
	root, err := filepath.Abs("../../compat")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// needClient fails (under CI) or skips when a client is missing.
func needClient(t *testing.T, missing []string) {
	t.Helper()
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("compatibility client missing: %v", missing)
	}
	t.Skipf("compatibility client missing: %v", missing)
}

// compatEnv starts Baton with a runner and the state the client scripts
// start from: project root/compat with the fixture repository (a first
// commit tagged v1.0, a second one on main), both push pipelines
// finished, a user dev, and a project runner of another project that the
// scripts enable for root/compat. It returns the scripts' environment.
func compatEnv(t *testing.T, e engine) []string {
	in := startBaton(t, e)
	in.startRunner(in.runnerToken(), 3)
	var proj apiProject
	in.api("POST", "/api/v4/projects", url.Values{"name": {"compat"}}, http.StatusCreated, &proj)
	files := map[string]string{}
	fixture := filepath.Join(compatRoot(t), "fixture")
	err := filepath.WalkDir(fixture, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(fixture, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRepo(t, files)
	first := strings.TrimSpace(r.git("rev-parse", "HEAD"))
	r.git("tag", "-a", "-m", "first release", "v1.0")
	second := r.commit("Second commit", map[string]string{"README.md": files["README.md"] + "\nMore.\n"})
	r.git("push", "-q", in.pushURL("root/compat"), "main", "v1.0")
	var pls []apiPipeline
	eventually(t, 60*time.Second, "both push pipelines to succeed", func() bool {
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines?status=success", proj.ID), nil, http.StatusOK, &pls)
		return len(pls) == 2
	})
	devID, _ := in.user("dev")
	var other apiProject
	in.api("POST", "/api/v4/projects", url.Values{"name": {"other"}}, http.StatusCreated, &other)
	var runner struct {
		ID int64 `json:"id"`
	}
	in.api("POST", "/api/v4/user/runners", url.Values{"runner_type": {"project_type"}, "project_id": {fmt.Sprint(other.ID)}}, http.StatusCreated, &runner)
	return append(gitEnv(t),
		"BATON_URL="+in.url, "BATON_TOKEN="+in.token, "PROJECT=root/compat", fmt.Sprintf("PROJECT_ID=%d", proj.ID),
		"FIRST_SHA="+first, "SECOND_SHA="+second, fmt.Sprintf("DEV_ID=%d", devID), fmt.Sprintf("RUNNER_ID=%d", runner.ID),
		"AUTHOR_NAME=Test", "AUTHOR_EMAIL=test@example.com")
}

// runClient runs a client script with env and fails the test on a non-zero exit.
func runClient(t *testing.T, env []string, dir, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s:\n%s", name, strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
}

// TestGitbeakerCompatibility runs compat/gitbeaker.mjs (@gitbeaker/rest)
// against Baton: projects, pipelines, jobs, artifacts, triggers, members,
// settings and repository reads, asserting the values the client returns.
func TestGitbeakerCompatibility(t *testing.T) {
	root := compatRoot(t)
	var missing []string
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@gitbeaker", "rest")); err != nil {
		missing = append(missing, "compat/node_modules (cd compat && npm ci)")
	}
	needClient(t, missing)
	forEachEngine(t, func(t *testing.T, e engine) {
		runClient(t, compatEnv(t, e), root, "node", "gitbeaker.mjs")
	})
}

// TestPythonGitlabCompatibility runs compat/python_gitlab.py (Debian's
// python3-gitlab) against Baton, the same ground as TestGitbeakerCompatibility.
func TestPythonGitlabCompatibility(t *testing.T) {
	root := compatRoot(t)
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import gitlab").Run(); err != nil {
		needClient(t, []string{"python3-gitlab (apt-get install -y python3-gitlab)"})
	}
	forEachEngine(t, func(t *testing.T, e engine) {
		runClient(t, compatEnv(t, e), root, python, "python_gitlab.py")
	})
}
