package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBadges: the pipeline badge shows the ref's latest pipeline in
// GitLab's colours and changes with it (a new ETag, no-cache), the
// coverage badge the average of the coverage its jobs' coverage: regexes
// read from their logs; a private project's badge answers an anonymous
// caller exactly as a missing project's does.
func TestBadges(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("badged", map[string]string{".gitlab-ci.yml": `
unit:
  script:
    - 'echo "Coverage: 80.00%"'
    - test "$BREAK" != yes
  coverage: '/Coverage: \d+\.\d+%/'
lint:
  script:
    - "printf 'lines \\033[32mCoverage: 95.00%%\\033[0m\\n'"
  coverage: '/Coverage: \d+\.\d+/'
`})
		pl := in.latestPipeline(pid)
		if done := in.waitPipeline(pid, pl.ID, 60*time.Second, "success", "failed"); done.Status != "success" {
			jobs := in.jobs(pid, pl.ID, false)
			for n, js := range jobs {
				t.Logf("--- %s (%s)\n%s", n, js[0].Status, in.trace(pid, js[0].ID))
			}
			t.Fatalf("first pipeline %s", done.Status)
		}
		root := map[string]string{"PRIVATE-TOKEN": in.token}
		badge := func(name string, headers map[string]string) (int, string, http.Header) {
			t.Helper()
			st, body, h := in.do("GET", "/root/badged/badges/main/"+name, headers, nil)
			return st, string(body), h
		}
		// Badges are for READMEs: read without credentials (pages take
		// only the session cookie), so the project is public at first.
		in.api("PUT", fmt.Sprintf("/api/v4/projects/%d", pid), map[string]any{"visibility": "public"}, http.StatusOK, nil)
		st, svg, h := badge("pipeline.svg", nil)
		if st != http.StatusOK || !strings.Contains(svg, ">passed<") || !strings.Contains(svg, `fill="#4c1"`) ||
			h.Get("Content-Type") != "image/svg+xml" || h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" {
			t.Fatalf("pipeline badge after success: %d %v\n%s", st, h, svg)
		}
		etag := h.Get("ETag")
		if st, _, _ := badge("pipeline.svg", map[string]string{"If-None-Match": etag}); st != http.StatusNotModified {
			t.Errorf("If-None-Match with the current ETag: %d, want 304", st)
		}
		// (80 + 95) / 2: both jobs' coverage, ANSI colours stripped.
		if st, svg, _ := badge("coverage.svg", nil); st != http.StatusOK || !strings.Contains(svg, ">87.50%<") || !strings.Contains(svg, `fill="#dfb317"`) {
			t.Errorf("coverage badge: %d\n%s", st, svg)
		}
		var withCov struct {
			Coverage *string `json:"coverage"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", pid, pl.ID), nil, http.StatusOK, &withCov)
		if withCov.Coverage == nil || *withCov.Coverage != "87.50" {
			t.Errorf("pipeline coverage %v, want 87.50", withCov.Coverage)
		}
		if st, svg, _ := badge("coverage.svg?job=lint", nil); st != http.StatusOK || !strings.Contains(svg, ">95.00%<") || !strings.Contains(svg, `fill="#4c1"`) {
			t.Errorf("coverage badge of lint: %d\n%s", st, svg)
		}

		// A failing pipeline turns the badge red, with a new ETag.
		var failed apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]any{"ref": "main",
			"variables": []map[string]string{{"key": "BREAK", "value": "yes"}}}, http.StatusCreated, &failed)
		in.waitPipeline(pid, failed.ID, 60*time.Second, "failed")
		st, svg, h = badge("pipeline.svg", map[string]string{"If-None-Match": etag})
		if st != http.StatusOK || !strings.Contains(svg, ">failed<") || !strings.Contains(svg, `fill="#e05d44"`) || h.Get("ETag") == etag {
			t.Errorf("pipeline badge after failure: %d etag %q (was %q)\n%s", st, h.Get("ETag"), etag, svg)
		}
		// Coverage stays that of the latest successful pipeline.
		if _, svg, _ := badge("coverage.svg", nil); !strings.Contains(svg, ">87.50%<") {
			t.Errorf("coverage badge after a failed pipeline:\n%s", svg)
		}
		if st, svg, _ := badge("pipeline.svg", root); st != http.StatusOK || !strings.Contains(svg, ">failed<") {
			t.Errorf("badge with a token: %d", st)
		}

		// Private: anonymous callers get a missing project's answer.
		in.api("PUT", fmt.Sprintf("/api/v4/projects/%d", pid), map[string]any{"visibility": "private"}, http.StatusOK, nil)
		pst, pbody, _ := in.do("GET", "/root/badged/badges/main/pipeline.svg", nil, nil)
		mst, mbody, _ := in.do("GET", "/root/nothing/badges/main/pipeline.svg", nil, nil)
		if pst != http.StatusNotFound || pst != mst || string(pbody) != string(mbody) {
			t.Errorf("private badge %d %q, missing %d %q: want the same 404", pst, pbody, mst, mbody)
		}
	})
}
