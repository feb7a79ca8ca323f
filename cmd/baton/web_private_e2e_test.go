package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// notFoundID is the id a not-found message echoes from the request's path.
var notFoundID = regexp.MustCompile(`\b\d+ Not Found`)

// TestWebPrivateLooksMissing: a signed-in stranger (a web session, with
// its CSRF token on forms) gets from every page and form of a private
// project, of a private group and from the live views' endpoints exactly
// what a missing one answers; and inside their own project, another
// project's pipeline, job, schedule, hook or environment by its id answers
// as an id that does not exist. TestPrivateLooksMissing asks the same
// without a session.
func TestWebPrivateLooksMissing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("secret", map[string]string{".gitlab-ci.yml": "build:\n  script: [true]\n"})
		pl := in.latestPipeline(pid)
		var jobs []struct {
			ID int64 `json:"id"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs", pid, pl.ID), nil, http.StatusOK, &jobs)
		if len(jobs) == 0 {
			t.Fatal("no jobs")
		}
		var sched, hook, env struct {
			ID int64 `json:"id"`
		}
		P := fmt.Sprintf("/api/v4/projects/%d", pid)
		in.api("POST", P+"/pipeline_schedules", url.Values{"description": {"s"}, "ref": {"main"}, "cron": {"0 4 * * *"}}, http.StatusCreated, &sched)
		in.api("POST", P+"/hooks", url.Values{"url": {"https://hooks.example.com/s"}}, http.StatusCreated, &hook)
		in.api("POST", P+"/environments", url.Values{"name": {"production"}}, http.StatusCreated, &env)
		in.api("POST", "/api/v4/groups", url.Values{"name": {"secretgroup"}, "path": {"secretgroup"}}, http.StatusCreated, nil)

		_, tok := in.user("stranger")
		if st, _, _ := in.do("POST", "/api/v4/projects", map[string]string{"PRIVATE-TOKEN": tok}, url.Values{"name": {"mine"}}); st != http.StatusCreated {
			t.Fatalf("the stranger's own project: %d", st)
		}
		b := newBrowser(t, in.url)
		b.signIn(tok)
		csrf := b.csrf("/stranger/mine/-/ci/lint")

		type ask struct{ method, private, missing string }
		var asks []ask
		// Every page and form of a private project, as of a missing one.
		for _, rest := range []string{"", "/-/pipeline_schedules", "/-/hooks", fmt.Sprintf("/-/hooks/%d/edit", hook.ID), "/-/environments",
			"/-/releases", "/-/releases/v1/downloads/bin", "/-/artifact_tokens", "/-/settings", "/-/settings/ci_cd", "/-/ci/lint",
			fmt.Sprintf("/-/pipelines/%d", pl.ID), fmt.Sprintf("/-/pipelines/%d/test_report", pl.ID), fmt.Sprintf("/-/jobs/%d", jobs[0].ID)} {
			asks = append(asks, ask{"GET", "/root/secret" + rest, "/root/nope" + rest})
		}
		for _, rest := range []string{fmt.Sprintf("/-/pipeline_schedules/%d/play", sched.ID), fmt.Sprintf("/-/pipeline_schedules/%d", sched.ID),
			"/-/pipeline_schedules", fmt.Sprintf("/-/environments/%d/stop", env.ID), fmt.Sprintf("/-/hooks/%d/test", hook.ID),
			fmt.Sprintf("/-/hooks/%d/edit", hook.ID), fmt.Sprintf("/-/hooks/%d/delete", hook.ID), "/-/hooks", "/-/settings/protected_tags",
			"/-/settings/protected_branches", "/-/settings/ci_cd/variables", "/-/artifact_tokens/1/revoke", "/-/ci/lint",
			fmt.Sprintf("/-/jobs/%d/unschedule", jobs[0].ID), fmt.Sprintf("/-/jobs/%d/play", jobs[0].ID)} {
			asks = append(asks, ask{"POST", "/root/secret" + rest, "/root/nope" + rest})
		}
		// A private group's variables, the live views' endpoints.
		asks = append(asks,
			ask{"GET", "/-/groups/secretgroup/settings/ci_cd", "/-/groups/nope/settings/ci_cd"},
			ask{"POST", "/-/groups/secretgroup/settings/ci_cd/variables", "/-/groups/nope/settings/ci_cd/variables"},
			ask{"GET", fmt.Sprintf("/-/ui/pipelines/%d.json", pl.ID), "/-/ui/pipelines/999999.json"},
			ask{"GET", fmt.Sprintf("/-/ui/pipelines/%d/events", pl.ID), "/-/ui/pipelines/999999/events"},
			ask{"GET", fmt.Sprintf("/-/ui/jobs/%d/trace.json", jobs[0].ID), "/-/ui/jobs/999999/trace.json"},
			ask{"GET", fmt.Sprintf("/-/ui/jobs/%d/trace/events", jobs[0].ID), "/-/ui/jobs/999999/trace/events"})
		// Another project's things by id, inside the stranger's own project.
		const M = "/stranger/mine/-/"
		for _, a := range []struct{ method, what string }{
			{"GET", "pipelines/%d"}, {"GET", "pipelines/%d/test_report"}, {"GET", "jobs/%d"}, {"GET", "hooks/%d/edit"},
			{"POST", "pipeline_schedules/%d/play"}, {"POST", "pipeline_schedules/%d"}, {"POST", "environments/%d/stop"},
			{"POST", "hooks/%d/test"}, {"POST", "hooks/%d/edit"}, {"POST", "hooks/%d/delete"}, {"POST", "jobs/%d/unschedule"},
		} {
			id := map[string]int64{"pipelines": pl.ID, "jobs": jobs[0].ID, "hooks": hook.ID, "pipeline_schedules": sched.ID, "environments": env.ID}[strings.Split(a.what, "/")[0]]
			asks = append(asks, ask{a.method, M + fmt.Sprintf(a.what, id), M + fmt.Sprintf(a.what, 999999)})
		}
		send := func(method, path string) (int, string) {
			if method == "GET" {
				st, body, _ := b.get(path)
				return st, body
			}
			st, body, _ := b.post(path, url.Values{"_csrf": {csrf}, "name": {"v*"}, "key": {"K"}, "value": {"v"}, "url": {"https://hooks.example.com/x"},
				"description": {"d"}, "ref": {"main"}, "cron": {"0 5 * * *"}, "content": {"build:\n  script: [x]\n"}, "trigger": {"push_events"}})
			return st, body
		}
		for _, a := range asks {
			ps, pb := send(a.method, a.private)
			ms, mb := send(a.method, a.missing)
			norm := func(s string) string { return notFoundID.ReplaceAllString(s, "N Not Found") }
			pb = norm(strings.ReplaceAll(pb, a.private, a.missing))
			if ps != ms || pb != norm(mb) || ps < 400 {
				t.Errorf("%s %s answers %d %.300q, %s %d %.300q", a.method, a.private, ps, pb, a.missing, ms, mb)
			}
		}
		// Nothing changed behind the answers.
		var hs []struct {
			URL string `json:"url"`
		}
		in.api("GET", P+"/hooks", nil, http.StatusOK, &hs)
		if len(hs) != 1 || hs[0].URL != "https://hooks.example.com/s" {
			t.Errorf("hooks after the stranger's forms: %+v", hs)
		}
	})
}
