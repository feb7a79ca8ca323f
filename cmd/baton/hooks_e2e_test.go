package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
)

// received is one request a test receiver got.
type received struct {
	event, token, uuid, instance string
	body                         []byte
}

// receiver is a webhook endpoint that records what it gets; it answers
// 500 to the first fail requests.
type receiver struct {
	mu   sync.Mutex
	got  []received
	fail int
	srv  *httptest.Server
}

func newReceiver(t *testing.T, fail int) *receiver {
	rc := &receiver{fail: fail}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{r.Header.Get("X-Gitlab-Event"), r.Header.Get("X-Gitlab-Token"),
			r.Header.Get("X-Gitlab-Event-UUID"), r.Header.Get("X-Gitlab-Instance"), body})
		n := len(rc.got)
		rc.mu.Unlock()
		if n <= rc.fail {
			http.Error(w, fmt.Sprintf("try again (%d)", n), http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "thanks "+strings.Repeat("!", 10000))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// TestWebhooks drives /projects/:id/hooks through GitLab's client on both
// engines, and what hooks receive: a push's push event, then pipeline and
// job events in order of their statuses, in GitLab's payload shapes
// (parsed by client-go's ParseWebhook) with GitLab's headers and the
// hook's token; a receiver failing twice gets the third attempt, recorded
// in the hook's recent deliveries; and without --allow-local-webhooks,
// local URLs are refused.
func TestWebhooks(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, func(c *Config) {
			c.AllowLocalWebhooks, c.WebhookBackoff, c.WebhookPoll = true, 20*time.Millisecond, 20*time.Millisecond
		})
		in.startRunner(in.runnerToken(), 1)
		gl, err := gitlab.NewClient(in.token, gitlab.WithBaseURL(in.url+"/api/v4"))
		if err != nil {
			t.Fatal(err)
		}
		proj, _, err := gl.Projects.CreateProject(&gitlab.CreateProjectOptions{Name: gitlab.Ptr("hooked")})
		if err != nil {
			t.Fatal(err)
		}
		rc := newReceiver(t, 0)
		h, _, err := gl.Projects.AddProjectHook(proj.ID, &gitlab.AddProjectHookOptions{URL: gitlab.Ptr(rc.srv.URL + "/hook"),
			Token: gitlab.Ptr("s3cret"), PushEvents: gitlab.Ptr(true), TagPushEvents: gitlab.Ptr(true), PipelineEvents: gitlab.Ptr(true),
			JobEvents: gitlab.Ptr(true), EnableSSLVerification: gitlab.Ptr(false), PushEventsBranchFilter: gitlab.Ptr("ma*")})
		if err != nil {
			t.Fatalf("AddProjectHook: %v", err)
		}
		got, _, err := gl.Projects.GetProjectHook(proj.ID, h.ID)
		if err != nil || got.URL != rc.srv.URL+"/hook" || !got.PushEvents || !got.TagPushEvents || !got.PipelineEvents || !got.JobEvents ||
			got.EnableSSLVerification || got.PushEventsBranchFilter != "ma*" || got.ProjectID != proj.ID {
			t.Fatalf("GetProjectHook: %+v, %v", got, err)
		}
		raw := map[string]any{}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/hooks/%d", proj.ID, h.ID), nil, http.StatusOK, &raw)
		if _, shown := raw["token"]; shown {
			t.Errorf("the hook's token is shown: %v", raw)
		}

		r := newRepo(t, map[string]string{".gitlab-ci.yml": "build:\n  script: echo building\n"})
		r.git("push", "-q", in.pushURL("root/hooked"), "main")
		pl := in.latestPipeline(proj.ID)
		in.waitPipeline(proj.ID, pl.ID, 60*time.Second, "success")
		var gotAll []received
		eventually(t, 20*time.Second, "the success events", func() bool {
			gotAll = rc.all()
			pipeSuccess, jobSuccess := false, false
			for _, g := range gotAll {
				pipeSuccess = pipeSuccess || (g.event == "Pipeline Hook" && strings.Contains(string(g.body), `"status":"success"`))
				jobSuccess = jobSuccess || (g.event == "Job Hook" && strings.Contains(string(g.body), `"build_status":"success"`))
			}
			return pipeSuccess && jobSuccess
		})
		if gotAll[0].event != "Push Hook" {
			t.Errorf("first event %q, want the push's", gotAll[0].event)
		}
		uuids := map[string]bool{}
		var pipeStatuses, jobStatuses []string
		for _, g := range gotAll {
			if g.token != "s3cret" || g.instance != in.url || g.uuid == "" || uuids[g.uuid] {
				t.Errorf("%s: token %q, instance %q, uuid %q (seen: %v)", g.event, g.token, g.instance, g.uuid, uuids[g.uuid])
			}
			uuids[g.uuid] = true
			ev, err := gitlab.ParseWebhook(gitlab.EventType(g.event), g.body)
			if err != nil {
				t.Fatalf("ParseWebhook(%s): %v\n%s", g.event, err, g.body)
			}
			switch ev := ev.(type) {
			case *gitlab.PushEvent:
				if ev.ObjectKind != "push" || ev.Ref != "refs/heads/main" || ev.After != pl.SHA || ev.ProjectID != proj.ID ||
					ev.Project.PathWithNamespace != "root/hooked" || ev.TotalCommitsCount != 1 || len(ev.Commits) != 1 ||
					ev.Commits[0].ID != pl.SHA || ev.Commits[0].Title != "initial commit" || ev.UserUsername != "root" {
					t.Errorf("push event: %s", g.body)
				}
			case *gitlab.PipelineEvent:
				if ev.ObjectAttributes.ID != pl.ID || ev.ObjectAttributes.Ref != "main" || ev.ObjectAttributes.Source != "push" ||
					ev.Project.ID != proj.ID || len(ev.Builds) != 1 || ev.Builds[0].Name != "build" || ev.Commit.ID != pl.SHA {
					t.Errorf("pipeline event: %s", g.body)
				}
				pipeStatuses = append(pipeStatuses, ev.ObjectAttributes.Status)
			case *gitlab.JobEvent:
				if ev.BuildName != "build" || ev.PipelineID != pl.ID || ev.ProjectID != proj.ID || ev.SHA != pl.SHA || ev.Ref != "main" {
					t.Errorf("job event: %s", g.body)
				}
				jobStatuses = append(jobStatuses, ev.BuildStatus)
			default:
				t.Errorf("unexpected event %T", ev)
			}
		}
		// Statuses arrive in the order they happened.
		order := map[string]int{"created": 0, "pending": 1, "running": 2, "success": 3}
		for what, seq := range map[string][]string{"pipeline": pipeStatuses, "job": jobStatuses} {
			for i := 1; i < len(seq); i++ {
				if order[seq[i]] < order[seq[i-1]] {
					t.Errorf("%s statuses out of order: %v", what, seq)
				}
			}
			if len(seq) < 2 || seq[len(seq)-1] != "success" {
				t.Errorf("%s statuses %v: want at least two ending in success", what, seq)
			}
		}

		// A push to a branch the filter leaves out sends no push event;
		// a tag push sends a tag push event.
		before := len(rc.all())
		r.git("push", "-q", in.pushURL("root/hooked"), "main:feature")
		r.git("tag", "v1")
		r.git("push", "-q", in.pushURL("root/hooked"), "v1")
		eventually(t, 20*time.Second, "the tag push event", func() bool {
			for _, g := range rc.all()[before:] {
				if g.event == "Tag Push Hook" {
					return true
				}
			}
			return false
		})
		for _, g := range rc.all()[before:] {
			if g.event == "Push Hook" {
				t.Errorf("a push to feature passed the filter ma*: %s", g.body)
			}
		}

		// A receiver that fails twice gets the event on the third attempt.
		flaky := newReceiver(t, 2)
		fh, _, err := gl.Projects.AddProjectHook(proj.ID, &gitlab.AddProjectHookOptions{URL: gitlab.Ptr(flaky.srv.URL),
			PushEvents: gitlab.Ptr(false), PipelineEvents: gitlab.Ptr(false)})
		if err != nil {
			t.Fatal(err)
		}
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/hooks/%d/test/pipeline_events", proj.ID, fh.ID), nil, http.StatusCreated, nil)
		type deliveryRow struct {
			Status         string `json:"status"`
			Attempts       int    `json:"attempts"`
			ResponseStatus int    `json:"response_status"`
			ResponseBody   string `json:"response_body"`
			Event          string `json:"event"`
		}
		var ds []deliveryRow
		eventually(t, 20*time.Second, "the third attempt", func() bool {
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/hooks/%d/events", proj.ID, fh.ID), nil, http.StatusOK, &ds)
			return len(ds) == 1 && ds[0].Status != "pending"
		})
		if d := ds[0]; d.Status != "delivered" || d.Attempts != 3 || d.ResponseStatus != 200 || d.Event != "Pipeline Hook" ||
			!strings.HasPrefix(d.ResponseBody, "thanks !") || len(d.ResponseBody) > 4<<10 {
			t.Errorf("delivery: %+v (body %d bytes)", d, len(d.ResponseBody))
		}
		if n := len(flaky.all()); n != 3 {
			t.Errorf("the flaky receiver got %d requests, want 3", n)
		}
		var again []deliveryRow
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/hooks/%d/events", proj.ID, fh.ID), nil, http.StatusOK, &again)
		if len(again) != 1 {
			t.Errorf("after delivery: %d deliveries", len(again))
		}

		// Maintainers only; a stranger sees a private project as missing.
		_, stranger := in.user("stranger")
		st, privBody, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/hooks", proj.ID), map[string]string{"PRIVATE-TOKEN": stranger}, nil)
		ms, missBody, _ := in.do("GET", "/api/v4/projects/999999/hooks", map[string]string{"PRIVATE-TOKEN": stranger}, nil)
		if st != http.StatusNotFound || st != ms || string(privBody) != string(missBody) {
			t.Errorf("stranger: private %d %s, missing %d %s", st, privBody, ms, missBody)
		}
		if _, err := gl.Projects.DeleteProjectHook(proj.ID, fh.ID); err != nil {
			t.Fatal(err)
		}
		hs, _, err := gl.Projects.ListProjectHooks(proj.ID, nil)
		if err != nil || len(hs) != 1 || hs[0].ID != h.ID {
			t.Errorf("ListProjectHooks after delete: %+v, %v", hs, err)
		}
	})
}

// TestWebhookLocalURLsRefused: without --allow-local-webhooks a hook may
// not name loopback, private or link-local addresses or localhost.
func TestWebhookLocalURLsRefused(t *testing.T) {
	in := startBaton(t, engines()[0])
	var proj apiProject
	in.api("POST", "/api/v4/projects", url.Values{"name": {"p"}}, http.StatusCreated, &proj)
	rc := newReceiver(t, 0)
	port := rc.srv.URL[strings.LastIndex(rc.srv.URL, ":")+1:]
	for _, u := range []string{rc.srv.URL, "http://localhost:" + port, "http://LOCALHOST.:" + port, "http://[::1]:" + port,
		"http://10.1.2.3/", "http://169.254.169.254/latest/meta-data", "http://0.0.0.0:" + port, "ftp://example.com/",
		"http://[::ffff:127.0.0.1]:" + port} {
		st, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/hooks", proj.ID), map[string]string{"PRIVATE-TOKEN": in.token},
			url.Values{"url": {u}})
		var msg struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &msg)
		if st != http.StatusBadRequest || !strings.Contains(msg.Message, "blocked") {
			t.Errorf("POST hook %s: %d %s, want 400 url is blocked", u, st, body)
		}
	}
	if n := len(rc.all()); n != 0 {
		t.Errorf("the local receiver got %d requests", n)
	}
}
