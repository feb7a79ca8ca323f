package main

import (
	"context"
	"fmt"
	"net"
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

// TestDelayedJobs pushes a pipeline of delayed jobs and runs a real runner:
// the short one is scheduled, then runs once its start_in has passed (no
// runner got it before its scheduled_at); one of the hour-long ones is
// played early through the API and runs, the other is unscheduled into a
// manual job.
func TestDelayedJobs(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("delayed", map[string]string{".gitlab-ci.yml": `later:
  when: delayed
  start_in: 3 seconds
  script: ["echo later"]
early:
  when: delayed
  start_in: 1 hour
  script: ["echo early"]
parked:
  rules:
    - when: delayed
      start_in: 1 hour
  script: ["echo parked"]
`})
		pl := in.latestPipeline(pid)
		// The push stores the pipeline, then advances it job by job.
		var jobs map[string][]apiJobFull
		eventually(t, 10*time.Second, "the three delayed jobs to be scheduled", func() bool {
			jobs = in.jobs(pid, pl.ID, false)
			for _, name := range []string{"later", "early", "parked"} {
				if len(jobs[name]) == 0 || jobs[name][0].Status != "scheduled" {
					return false
				}
			}
			return true
		})
		stored, err := in.main.Store.JobByID(context.Background(), jobs["later"][0].ID)
		if err != nil || stored.ScheduledAt == nil {
			t.Fatalf("later: ScheduledAt %v, err %v", stored, err)
		}
		due := *stored.ScheduledAt
		in.startRunner(in.runnerToken(), 2)

		var played apiJobFull
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/play", pid, jobs["early"][0].ID), nil, http.StatusOK, &played)
		if played.Status != "pending" && played.Status != "running" {
			t.Errorf("played scheduled job is %s", played.Status)
		}
		var parked apiJobFull
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/unschedule", pid, jobs["parked"][0].ID), nil, http.StatusOK, &parked)
		if parked.Status != "manual" {
			t.Errorf("unscheduled job is %s, want manual", parked.Status)
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/unschedule", pid, jobs["parked"][0].ID), nil, http.StatusBadRequest, nil)

		eventually(t, 30*time.Second, "later and early to succeed", func() bool {
			jobs = in.jobs(pid, pl.ID, false)
			return jobs["later"][0].Status == "success" && jobs["early"][0].Status == "success"
		})
		if started := jobs["later"][0].StartedAt; started == nil || started.Before(due) {
			t.Errorf("later started at %v, before its scheduled_at %v", started, due)
		}
		if got := jobs["parked"][0].Status; got != "manual" {
			t.Errorf("parked is %s at the end, want manual", got)
		}
	})
}

// TestDelayedJobSurvivesRestart schedules a delayed job, stops the server
// before it is due and starts another on the same database and data
// directory: the new process finds the job in the store and releases it on
// time, well before its 30 s sweep would.
func TestDelayedJobSurvivesRestart(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		dir := t.TempDir()
		dbURL := e.url(t, dir)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		first := &Main{Logger: testLogger(t)}
		first.Config.bind(flagSetForTest())
		first.Config.Listen, first.Config.DataDir, first.Config.DatabaseURL = ln.Addr().String(), dir, dbURL
		if err := first.Open(context.Background()); err != nil {
			ln.Close()
			t.Fatalf("opening Baton: %v", err)
		}
		if err := first.Serve(context.Background(), ln); err != nil {
			t.Fatal(err)
		}
		in := &instance{t: t, main: first, url: first.Config.ExternalURL, token: first.AdminToken}
		pid, _ := in.project("restart", map[string]string{".gitlab-ci.yml": "deploy:\n  when: delayed\n  start_in: 3 seconds\n  script: [\"true\"]\n"})
		pl := in.latestPipeline(pid)
		eventually(t, 10*time.Second, "deploy to be scheduled", func() bool {
			return in.jobs(pid, pl.ID, false)["deploy"][0].Status == "scheduled"
		})
		if err := first.Close(); err != nil {
			t.Fatalf("stopping the first server: %v", err)
		}

		ln2, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		second := serveAt(t, ln2, dir, dbURL, func(*Config) {})
		in2 := &instance{t: t, main: second, url: second.Config.ExternalURL, token: in.token}
		eventually(t, 20*time.Second, "the restarted server to release the delayed job", func() bool {
			return in2.jobs(pid, pl.ID, false)["deploy"][0].Status == "pending"
		})
	})
}
