package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestRulesChangesAndExistsOnPush pushes to a real repository: the new
// branch has no diff (every changes matches), a push touching only docs/
// leaves out the job gated on src/**/*, a push adding src/a/b.go brings it
// back, and rules:exists with a glob sees the file listing at each commit.
func TestRulesChangesAndExistsOnPush(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, r := in.project("changes", map[string]string{
			".gitlab-ci.yml": `build-src:
  script: ["true"]
  rules:
    - changes: [src/**/*]
always:
  script: ["true"]
go-tests:
  script: ["true"]
  rules:
    - exists: ["**/*.go"]
docs:
  script: ["true"]
  only:
    changes: [docs/*]
`,
			"src/README": "sources\n",
		})
		first := in.latestPipeline(pid)
		if got, want := jobNames(in.jobs(pid, first.ID, false)), "always build-src docs"; got != want {
			t.Errorf("new branch (no diff): jobs %s, want %s", got, want)
		}
		push := func(msg string, files map[string]string) apiPipeline {
			t.Helper()
			before := in.latestPipeline(pid).ID
			r.commit(msg, files)
			r.git("push", "-q", in.pushURL("root/changes"), "main")
			var pls []apiPipeline
			eventually(t, 15*time.Second, "a new pipeline", func() bool {
				in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", pid), nil, http.StatusOK, &pls)
				return len(pls) > 0 && pls[0].ID > before
			})
			return pls[0]
		}
		docs := push("Document", map[string]string{"docs/guide.md": "# guide\n"})
		if got, want := jobNames(in.jobs(pid, docs.ID, false)), "always docs"; got != want {
			t.Errorf("push changing docs/guide.md: jobs %s, want %s", got, want)
		}
		src := push("Add code", map[string]string{"src/a/b.go": "package a\n"})
		if got, want := jobNames(in.jobs(pid, src.ID, false)), "always build-src go-tests"; got != want {
			t.Errorf("push changing src/a/b.go: jobs %s, want %s", got, want)
		}
	})
}
