package main

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestRestartMidPipeline kills the server while a job runs and starts it
// again on the same database and data directory: the runner reconnects,
// reports its job, and the pipeline finishes as if nothing happened.
func TestRestartMidPipeline(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		dir := t.TempDir()
		dbURL := e.url(t, dir)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		start := func(ln net.Listener) *Main {
			m := &Main{Logger: testLogger(t)}
			m.Config.bind(flagSetForTest())
			m.Config.Listen, m.Config.DataDir, m.Config.DatabaseURL = addr, dir, dbURL
			m.Config.LongPoll = 2 * time.Second
			if err := m.Open(context.Background()); err != nil {
				t.Fatalf("opening Baton: %v", err)
			}
			if err := m.Serve(context.Background(), ln); err != nil {
				t.Fatal(err)
			}
			return m
		}
		first := start(ln)
		in := &instance{t: t, main: first, url: first.Config.ExternalURL, token: first.AdminToken}
		in.startRunner(in.runnerToken(), 1)
		var proj apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"restart"}}, http.StatusCreated, &proj)
		r := newRepo(t, map[string]string{".gitlab-ci.yml": `
slow:
  stage: build
  script:
    - echo before-restart
    - sleep 6
    - echo after-restart
after:
  stage: test
  script: echo second-job
`})
		r.git("push", "-q", in.pushURL("root/restart"), "main")
		pl := in.latestPipeline(proj.ID)
		var slowID int64
		eventually(t, 30*time.Second, "the slow job to start", func() bool {
			j := in.jobs(proj.ID, pl.ID, false)["slow"]
			if len(j) == 1 && j[0].Status == "running" && strings.Contains(in.trace(proj.ID, j[0].ID), "before-restart") {
				slowID = j[0].ID
			}
			return slowID != 0
		})

		if err := first.Close(); err != nil {
			t.Fatalf("stopping the first server: %v", err)
		}
		time.Sleep(time.Second) // the runner meets a closed port
		ln2, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listening again on %s: %v", addr, err)
		}
		second := start(ln2)
		t.Cleanup(func() { _ = second.Close() })
		if second.AdminToken != "" {
			t.Fatal("the restarted server created root again")
		}
		in.main = second

		done := in.waitPipeline(proj.ID, pl.ID, 90*time.Second, "success", "failed", "canceled")
		jobs := in.jobs(proj.ID, pl.ID, false)
		if done.Status != "success" {
			t.Fatalf("after a restart the pipeline is %s: %s\n%s", done.Status, statuses(jobs), in.trace(proj.ID, jobs["slow"][0].ID))
		}
		// The same job carried on: not re-queued, not run twice.
		if all := in.jobs(proj.ID, pl.ID, true)["slow"]; len(all) != 1 || all[0].ID != slowID {
			t.Fatalf("slow ran as %+v, want only job %d", all, slowID)
		}
		if log := in.trace(proj.ID, slowID); strings.Count(log, "before-restart") != 2 || !strings.Contains(log, "after-restart") {
			// "before-restart" stands twice: the echoed command and its output.
			t.Fatalf("the slow job's log lost or repeated lines across the restart:\n%s", log)
		}
	})
}
