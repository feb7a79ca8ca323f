package main

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/batonci/baton/internal/testpg"
)

// testClock is the schedule loop's clock in tests: real time moved on by
// an offset the test sets, shared by every replica.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// passTo moves the clock just past t.
func (c *testClock) passTo(t time.Time) {
	if d := time.Until(t) + time.Second; d > time.Duration(c.offset.Load()) {
		c.offset.Store(int64(d))
	}
}

// scheduledPipelineConfig runs nightly only in scheduled pipelines.
const scheduledPipelineConfig = `
nightly:
  script: 'echo nightly'
  rules:
    - if: '$CI_PIPELINE_SOURCE == "schedule"'
always:
  script: 'true'
`

// nextWeekday3am is the next 03:00 on a weekday in loc after t, computed
// without the cron parser.
func nextWeekday3am(t time.Time, loc *time.Location) time.Time {
	lt := t.In(loc)
	for d := 0; d < 8; d++ {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()+d, 3, 0, 0, 0, loc)
		if day.After(t) && day.Weekday() != time.Saturday && day.Weekday() != time.Sunday {
			return day.UTC()
		}
	}
	panic("no weekday in a week")
}

func schedulePipelines(t *testing.T, in *instance, pid int64) []apiPipeline {
	t.Helper()
	var pls []apiPipeline
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines?source=schedule&per_page=100", pid), nil, http.StatusOK, &pls)
	return pls
}

// TestPipelineSchedules drives /projects/:id/pipeline_schedules through
// GitLab's client on both engines: the values it stores and computes
// (next_run_at in the schedule's zone), its variables, the bounds (cron
// syntax, unknown zones, the minimum interval), who may do what, and runs:
// a due schedule creates one pipeline, source schedule, as its owner, in
// which rules on $CI_PIPELINE_SOURCE see "schedule"; an owner who lost
// access deactivates it with a reason instead.
func TestPipelineSchedules(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		clock := &testClock{}
		in := startBaton(t, e, func(c *Config) {
			c.ScheduleTick, c.Now, c.MinScheduleInterval = 20*time.Millisecond, clock.Now, 10*time.Minute
		})
		pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": scheduledPipelineConfig})
		gl, err := gitlab.NewClient(in.token, gitlab.WithBaseURL(in.url+"/api/v4"))
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now()
		sc, _, err := gl.PipelineSchedules.CreatePipelineSchedule(pid, &gitlab.CreatePipelineScheduleOptions{
			Description: gitlab.Ptr("nightly build"), Ref: gitlab.Ptr("main"), Cron: gitlab.Ptr("0 3 * * 1-5"),
			CronTimezone: gitlab.Ptr("Europe/Berlin"), Active: gitlab.Ptr(true)})
		if err != nil {
			t.Fatalf("CreatePipelineSchedule: %v", err)
		}
		berlin, _ := time.LoadLocation("Europe/Berlin")
		want := nextWeekday3am(before, berlin)
		if sc.Description != "nightly build" || sc.Ref != "main" || sc.Cron != "0 3 * * 1-5" || sc.CronTimezone != "Europe/Berlin" ||
			!sc.Active || sc.Owner == nil || sc.Owner.Username != "root" || sc.NextRunAt == nil || !sc.NextRunAt.Equal(want) || sc.LastPipeline != nil {
			t.Errorf("created schedule: %+v (next_run_at %v, want %v)", sc, sc.NextRunAt, want)
		}
		v, _, err := gl.PipelineSchedules.CreatePipelineScheduleVariable(pid, sc.ID, &gitlab.CreatePipelineScheduleVariableOptions{
			Key: gitlab.Ptr("TARGET"), Value: gitlab.Ptr("nightly-env"), VariableType: gitlab.Ptr(gitlab.FileVariableType)})
		if err != nil || v.Key != "TARGET" || v.Value != "nightly-env" || v.VariableType != gitlab.FileVariableType {
			t.Fatalf("CreatePipelineScheduleVariable: %+v, %v", v, err)
		}
		if _, _, err := gl.PipelineSchedules.EditPipelineScheduleVariable(pid, sc.ID, "TARGET", &gitlab.EditPipelineScheduleVariableOptions{
			Value: gitlab.Ptr("prod"), VariableType: gitlab.Ptr(gitlab.EnvVariableType)}); err != nil {
			t.Fatalf("EditPipelineScheduleVariable: %v", err)
		}
		got, _, err := gl.PipelineSchedules.GetPipelineSchedule(pid, sc.ID)
		if err != nil || len(got.Variables) != 1 || got.Variables[0].Value != "prod" || got.Variables[0].VariableType != gitlab.EnvVariableType {
			t.Fatalf("GetPipelineSchedule: %+v, %v", got, err)
		}

		// Bounds: cron syntax, zones, the minimum interval.
		P := fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules", pid)
		for _, bad := range []url.Values{
			{"description": {"x"}, "ref": {"main"}, "cron": {"61 * * * *"}},
			{"description": {"x"}, "ref": {"main"}, "cron": {"* * *"}},
			{"description": {"x"}, "ref": {"main"}, "cron": {"0 3 * * *"}, "cron_timezone": {"Mars/Olympus"}},
			{"description": {"x"}, "ref": {"main"}, "cron": {"0 3 * * *"}, "cron_timezone": {"Local"}},
			{"description": {"x"}, "ref": {"main"}, "cron": {"*/5 * * * *"}}, // every 5 minutes, under the 10-minute minimum
			{"description": {"x"}, "ref": {"main"}, "cron": {"CRON_TZ=Asia/Tokyo 0 3 * * *"}},
		} {
			st, body, _ := in.do("POST", P, map[string]string{"PRIVATE-TOKEN": in.token}, bad)
			if st != http.StatusBadRequest {
				t.Errorf("POST %v: %d %s, want 400", bad, st, body)
			}
		}

		// Every 15 minutes in UTC: the next quarter hour.
		edited, _, err := gl.PipelineSchedules.EditPipelineSchedule(pid, sc.ID, &gitlab.EditPipelineScheduleOptions{
			Cron: gitlab.Ptr("JAN-DEC/1 * * * MON-SUN"), CronTimezone: gitlab.Ptr("UTC")})
		if err == nil {
			t.Errorf("EditPipelineSchedule took a month name in the minute field: %+v", edited)
		}
		now := time.Now()
		edited, _, err = gl.PipelineSchedules.EditPipelineSchedule(pid, sc.ID, &gitlab.EditPipelineScheduleOptions{
			Cron: gitlab.Ptr("*/15 * * JAN-DEC *"), CronTimezone: gitlab.Ptr("UTC")})
		if err != nil {
			t.Fatalf("EditPipelineSchedule: %v", err)
		}
		quarter := now.UTC().Truncate(15 * time.Minute).Add(15 * time.Minute)
		if edited.NextRunAt == nil || !edited.NextRunAt.Equal(quarter) || edited.Description != "nightly build" {
			t.Errorf("edited schedule: next_run_at %v, want %v; description %q", edited.NextRunAt, quarter, edited.Description)
		}

		// Who may: Reporters read, Developers create and edit their own,
		// Maintainers edit anyone's and take ownership; strangers see a
		// private project as a missing one.
		member := func(name string, level int) (int64, string) {
			id, tok := in.user(name)
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/members", pid), url.Values{"user_id": {fmt.Sprint(id)}, "access_level": {fmt.Sprint(level)}}, http.StatusCreated, nil)
			return id, tok
		}
		_, reporter := member("reporter", 20)
		_, dev := member("dev", 30)
		_, dev2 := member("dev2", 30)
		maintID, maint := member("maint", 40)
		_, stranger := in.user("stranger")
		as := func(tok string) map[string]string { return map[string]string{"PRIVATE-TOKEN": tok} }
		// Inactive: its own runs (04:00 UTC daily) must not land among the
		// pipelines counted below, whatever the time of day the test runs at.
		form := url.Values{"description": {"dev's"}, "ref": {"main"}, "cron": {"0 4 * * *"}, "active": {"false"}}
		for _, c := range []struct {
			who, method, path string
			body              url.Values
			want              int
		}{
			{reporter, "GET", P, nil, http.StatusOK},
			{reporter, "POST", P, form, http.StatusForbidden},
			{dev, "POST", P, form, http.StatusCreated},
			{dev2, "PUT", fmt.Sprintf("%s/%d", P, sc.ID), url.Values{"description": {"mine now"}}, http.StatusForbidden},
			{dev, "POST", fmt.Sprintf("%s/%d/take_ownership", P, sc.ID), nil, http.StatusForbidden},
			{maint, "PUT", fmt.Sprintf("%s/%d", P, sc.ID), url.Values{"description": {"by the maintainer"}}, http.StatusOK},
			{maint, "POST", fmt.Sprintf("%s/%d/take_ownership", P, sc.ID), nil, http.StatusOK},
		} {
			if st, body, _ := in.do(c.method, c.path, as(c.who), c.body); st != c.want {
				t.Errorf("%s %s: %d %s, want %d", c.method, c.path, st, body, c.want)
			}
		}
		st, privBody, _ := in.do("GET", P, as(stranger), nil)
		ms, missBody, _ := in.do("GET", "/api/v4/projects/999999/pipeline_schedules", as(stranger), nil)
		if st != http.StatusNotFound || st != ms || string(privBody) != string(missBody) {
			t.Errorf("stranger: private %d %s, missing %d %s; want the same 404", st, privBody, ms, missBody)
		}

		// A due run creates one pipeline, as the owner (now the maintainer).
		got, _, err = gl.PipelineSchedules.GetPipelineSchedule(pid, sc.ID)
		if err != nil || got.Owner == nil || got.Owner.ID != maintID {
			t.Fatalf("after take_ownership: %+v, %v", got, err)
		}
		clock.passTo(*got.NextRunAt)
		var pls []apiPipeline
		eventually(t, 15*time.Second, "the scheduled pipeline", func() bool {
			pls = schedulePipelines(t, in, pid)
			return len(pls) > 0
		})
		pl := pls[0]
		jobs := in.jobs(pid, pl.ID, false)
		var full struct {
			Source string `json:"source"`
			User   struct {
				ID int64 `json:"id"`
			} `json:"user"`
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", pid, pl.ID), nil, http.StatusOK, &full)
		if full.Source != "schedule" || full.User.ID != maintID || len(jobs["nightly"]) != 1 || len(jobs["always"]) != 1 {
			t.Errorf("scheduled pipeline: source %q, user %d (want %d), jobs %s", full.Source, full.User.ID, maintID, statuses(jobs))
		}
		eventually(t, 10*time.Second, "last_pipeline", func() bool {
			got, _, err = gl.PipelineSchedules.GetPipelineSchedule(pid, sc.ID)
			return err == nil && got.LastPipeline != nil && got.LastPipeline.ID == pl.ID
		})
		if !got.NextRunAt.After(clock.Now().Add(-time.Second)) {
			t.Errorf("next_run_at %v did not move past the run", got.NextRunAt)
		}

		// The owner loses access: the next run deactivates the schedule.
		in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/members/%d", pid, maintID), nil, http.StatusNoContent, nil)
		clock.passTo(*got.NextRunAt)
		var raw struct {
			Active         bool   `json:"active"`
			InactiveReason string `json:"inactive_reason"`
		}
		eventually(t, 15*time.Second, "the schedule to deactivate", func() bool {
			in.api("GET", fmt.Sprintf("%s/%d", P, sc.ID), nil, http.StatusOK, &raw)
			return !raw.Active
		})
		if raw.InactiveReason == "" {
			t.Errorf("deactivated schedule gives no reason")
		}
		if n := len(schedulePipelines(t, in, pid)); n != 1 {
			t.Errorf("%d scheduled pipelines after the owner lost access, want 1", n)
		}

		// Play runs it now, as the caller.
		if _, err := gl.PipelineSchedules.RunPipelineSchedule(pid, sc.ID); err != nil {
			t.Fatalf("RunPipelineSchedule: %v", err)
		}
		if n := len(schedulePipelines(t, in, pid)); n != 2 {
			t.Errorf("%d scheduled pipelines after play, want 2", n)
		}
		// The pipelines it created (the run and the play), oldest first,
		// paginated; not a pipeline it did not create.
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), url.Values{"ref": {"main"}}, http.StatusCreated, nil)
		created := schedulePipelines(t, in, pid) // newest first
		if len(created) != 2 {
			t.Fatalf("%d scheduled pipelines", len(created))
		}
		triggered, resp, err := gl.PipelineSchedules.ListPipelinesTriggeredBySchedule(pid, sc.ID, nil)
		if err != nil || len(triggered) != 2 || triggered[0].ID != created[1].ID || triggered[1].ID != created[0].ID || triggered[0].Source != "schedule" {
			t.Errorf("ListPipelinesTriggeredBySchedule: %v, %v; want %d then %d", triggered, err, created[1].ID, created[0].ID)
		}
		triggered, resp, err = gl.PipelineSchedules.ListPipelinesTriggeredBySchedule(pid, sc.ID, &gitlab.ListPipelinesTriggeredByScheduleOptions{ListOptions: gitlab.ListOptions{Page: 2, PerPage: 1}})
		if err != nil || len(triggered) != 1 || triggered[0].ID != created[0].ID || resp.TotalItems != 2 || resp.TotalPages != 2 {
			t.Errorf("page 2 of 1: %v, %v (total %d)", triggered, err, resp.TotalItems)
		}
		var desc []apiPipeline
		in.api("GET", fmt.Sprintf("%s/%d/pipelines?sort=desc", P, sc.ID), nil, http.StatusOK, &desc)
		if len(desc) != 2 || desc[0].ID != created[0].ID || desc[1].ID != created[1].ID {
			t.Errorf("sort=desc: %+v", desc)
		}
		in.api("GET", fmt.Sprintf("%s/%d/pipelines?sort=sideways", P, sc.ID), nil, http.StatusBadRequest, nil)
		if st, _, _ := in.do("GET", fmt.Sprintf("%s/%d/pipelines", P, sc.ID), as(stranger), nil); st != http.StatusNotFound {
			t.Errorf("a stranger lists the schedule's pipelines: %d", st)
		}
		list, _, err := gl.PipelineSchedules.ListPipelineSchedules(pid, nil)
		if err != nil || len(list) != 2 {
			t.Fatalf("ListPipelineSchedules: %d, %v", len(list), err)
		}
		if _, err := gl.PipelineSchedules.DeletePipelineSchedule(pid, sc.ID); err != nil {
			t.Fatalf("DeletePipelineSchedule: %v", err)
		}
		if _, resp, err := gl.PipelineSchedules.GetPipelineSchedule(pid, sc.ID); err == nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("deleted schedule: %v", err)
		}
	})
}

// TestScheduleReplicas runs two servers on one PostgreSQL, each with its
// schedule loop on a shared clock: a due schedule creates exactly one
// pipeline, and after a long downtime (many missed runs) exactly one more,
// not a backlog.
func TestScheduleReplicas(t *testing.T) {
	dbURL := testpg.URL(t)
	reposDir := t.TempDir()
	clock := &testClock{}
	configure := func(c *Config) {
		c.ReposDir, c.ScheduleTick, c.Now = reposDir, 5*time.Millisecond, clock.Now
	}
	var mains []*Main
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		mains = append(mains, serveAt(t, ln, t.TempDir(), dbURL, configure))
	}
	token := mains[0].AdminToken
	if token == "" {
		token = mains[1].AdminToken
	}
	in := &instance{t: t, main: mains[0], url: mains[0].Config.ExternalURL, token: token}
	pid, _ := in.project("app", map[string]string{".gitlab-ci.yml": scheduledPipelineConfig})
	var sc struct {
		ID        int64     `json:"id"`
		NextRunAt time.Time `json:"next_run_at"`
	}
	in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline_schedules", pid),
		url.Values{"description": {"x"}, "ref": {"main"}, "cron": {"*/10 * * * *"}}, http.StatusCreated, &sc)

	// settle waits until both loops have made a few more passes.
	settle := func() {
		t.Helper()
		a, b := mains[0].Schedules.Passes(), mains[1].Schedules.Passes()
		eventually(t, 10*time.Second, "both schedule loops to look again", func() bool {
			return mains[0].Schedules.Passes() > a+5 && mains[1].Schedules.Passes() > b+5
		})
	}
	clock.passTo(sc.NextRunAt)
	eventually(t, 15*time.Second, "the scheduled pipeline", func() bool { return len(schedulePipelines(t, in, pid)) > 0 })
	settle()
	if n := len(schedulePipelines(t, in, pid)); n != 1 {
		t.Fatalf("one due run on two replicas created %d pipelines, want 1", n)
	}
	// Five hours later: thirty runs were missed; one pipeline runs.
	clock.passTo(sc.NextRunAt.Add(5 * time.Hour))
	eventually(t, 15*time.Second, "the pipeline after the downtime", func() bool { return len(schedulePipelines(t, in, pid)) > 1 })
	settle()
	if n := len(schedulePipelines(t, in, pid)); n != 2 {
		t.Fatalf("after thirty missed runs: %d scheduled pipelines, want 2", n)
	}
}
