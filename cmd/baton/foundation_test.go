package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

type apiProject struct {
	ID                int64  `json:"id"`
	PathWithNamespace string `json:"path_with_namespace"`
	DefaultBranch     string `json:"default_branch"`
	HTTPURLToRepo     string `json:"http_url_to_repo"`
	Visibility        string `json:"visibility"`
}

type apiPipeline struct {
	ID         int64   `json:"id"`
	IID        int64   `json:"iid"`
	Status     string  `json:"status"`
	Ref        string  `json:"ref"`
	SHA        string  `json:"sha"`
	Source     string  `json:"source"`
	YAMLErrors *string `json:"yaml_errors"`
}

type apiJob struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Stage  string `json:"stage"`
	Status string `json:"status"`
}

const threeStages = `
stages: [build, test, deploy]
variables:
  GREETING: hello
build:
  stage: build
  script: echo "$GREETING from build"
test:
  stage: test
  needs: []
  script: echo test
lint:
  stage: test
  script: echo lint
deploy:
  stage: deploy
  script: echo deploy
  when: manual
`

func TestPushCreatesPipeline(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		var proj apiProject
		in.api("POST", "/api/v4/projects", url.Values{"name": {"Demo App"}, "path": {"demo"}}, http.StatusCreated, &proj)
		if proj.PathWithNamespace != "root/demo" || proj.HTTPURLToRepo != in.url+"/root/demo.git" || proj.Visibility != "private" {
			t.Fatalf("created project = %+v", proj)
		}

		r := newRepo(t, map[string]string{".gitlab-ci.yml": threeStages, "README": "demo\n"})
		r.git("push", "-q", in.pushURL("root/demo"), "main")
		head := strings.TrimSpace(r.git("rev-parse", "HEAD"))

		var pls []apiPipeline
		eventually(t, 10*time.Second, "the push's pipeline", func() bool {
			in.api("GET", "/api/v4/projects/root%2Fdemo/pipelines", nil, http.StatusOK, &pls)
			return len(pls) == 1
		})
		pl := pls[0]
		if pl.Ref != "main" || pl.SHA != head || pl.Source != "push" || pl.IID != 1 {
			t.Fatalf("pipeline = %+v, want ref main, sha %s, source push, iid 1", pl, head)
		}
		want := map[string]string{"build": "build/pending", "test": "test/pending", "lint": "test/created", "deploy": "deploy/created"}
		got := map[string]string{}
		// The pipeline is listed as soon as it is stored; its first jobs turn
		// pending a moment later.
		eventually(t, 10*time.Second, "the first jobs to be pending", func() bool {
			var jobs []apiJob
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs?per_page=100", proj.ID, pl.ID), nil, http.StatusOK, &jobs)
			got = map[string]string{}
			for _, j := range jobs {
				got[j.Name] = j.Stage + "/" + j.Status
			}
			// Advance turns jobs pending one statement at a time: wait
			// for the whole first step, not only its first job.
			return fmt.Sprint(got) == fmt.Sprint(want)
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("jobs (stage/status) = %v, want %v", got, want)
		}
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d", proj.ID), nil, http.StatusOK, &proj)
		if proj.DefaultBranch != "main" {
			t.Fatalf("default branch = %q after the first push, want main", proj.DefaultBranch)
		}

		// [skip ci] creates no pipeline.
		r.commit("docs only [skip ci]", map[string]string{"README": "more\n"})
		r.git("push", "-q", in.pushURL("root/demo"), "main")
		// A broken file creates a failed pipeline with readable yaml_errors.
		r.commit("break the config", map[string]string{".gitlab-ci.yml": "build:\n  stage: build\n  scriptt: echo oops\n"})
		r.git("push", "-q", in.pushURL("root/demo"), "main")
		eventually(t, 10*time.Second, "the broken push's pipeline", func() bool {
			in.api("GET", "/api/v4/projects/root%2Fdemo/pipelines", nil, http.StatusOK, &pls)
			return len(pls) >= 2
		})
		if len(pls) != 2 {
			t.Fatalf("%d pipelines after a [skip ci] push and a broken push, want 2", len(pls))
		}
		var broken apiPipeline
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", proj.ID, pls[0].ID), nil, http.StatusOK, &broken)
		if broken.Status != "failed" || broken.YAMLErrors == nil || !strings.Contains(*broken.YAMLErrors, "build") || !strings.Contains(*broken.YAMLErrors, "scriptt") {
			t.Fatalf("broken pipeline = %+v (yaml_errors %v), want failed with errors naming job build and key scriptt", broken, deref(broken.YAMLErrors))
		}

		// Through the API an invalid file is a 400 listing the problems, and no pipeline.
		status, body, _ := in.do("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", proj.ID), map[string]string{"PRIVATE-TOKEN": in.token}, url.Values{"ref": {"main"}})
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"base"`) || !strings.Contains(string(body), "scriptt") {
			t.Fatalf("POST /pipeline on a broken file = %d %s, want 400 with the YAML errors", status, body)
		}
		// A branch created and deleted: a pipeline for the creation, none for the deletion.
		r.git("push", "-q", in.pushURL("root/demo"), "HEAD~2:refs/heads/feature")
		r.git("push", "-q", in.pushURL("root/demo"), ":feature")
		eventually(t, 10*time.Second, "the feature branch's pipeline", func() bool {
			in.api("GET", "/api/v4/projects/root%2Fdemo/pipelines?ref=feature", nil, http.StatusOK, &pls)
			return len(pls) == 1
		})
		time.Sleep(300 * time.Millisecond)
		in.api("GET", "/api/v4/projects/root%2Fdemo/pipelines?ref=feature", nil, http.StatusOK, &pls)
		if len(pls) != 1 {
			t.Fatalf("%d pipelines for feature after its deletion, want 1", len(pls))
		}

		// A tag creates a tag pipeline.
		r.git("tag", "v1.0.0", "HEAD~2") // the first commit: HEAD~1 says [skip ci]
		r.git("push", "-q", in.pushURL("root/demo"), "v1.0.0")
		eventually(t, 10*time.Second, "the tag pipeline", func() bool {
			in.api("GET", "/api/v4/projects/root%2Fdemo/pipelines?scope=tags", nil, http.StatusOK, &pls)
			return len(pls) == 1
		})
		if pls[0].Ref != "v1.0.0" {
			t.Fatalf("tag pipeline ref = %q", pls[0].Ref)
		}
	})
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestAPIErrors(t *testing.T) {
	in := startBaton(t, engines()[0])
	var proj apiProject
	in.api("POST", "/api/v4/projects", url.Values{"name": {"secret"}}, http.StatusCreated, &proj)
	var readOnly struct {
		Token string `json:"token"`
	}
	in.api("POST", "/api/v4/users/1/personal_access_tokens", url.Values{"name": {"ro"}, "scopes[]": {"read_api"}}, http.StatusCreated, &readOnly)
	var other struct {
		ID int64 `json:"id"`
	}
	in.api("POST", "/api/v4/users", url.Values{"username": {"alice"}, "email": {"a@example.com"}}, http.StatusCreated, &other)
	var alice struct {
		Token string `json:"token"`
	}
	in.api("POST", fmt.Sprintf("/api/v4/users/%d/personal_access_tokens", other.ID), url.Values{"name": {"a"}, "scopes[]": {"api"}}, http.StatusCreated, &alice)

	var expired struct {
		Token string `json:"token"`
	}
	in.api("POST", "/api/v4/users/1/personal_access_tokens", url.Values{"name": {"old"}, "scopes[]": {"api"}, "expires_at": {"2020-01-01"}}, http.StatusCreated, &expired)
	root := map[string]string{"PRIVATE-TOKEN": in.token}
	cases := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    any
		status  int
		message string
	}{
		{"no token", "GET", "/api/v4/user", nil, nil, 401, "401 Unauthorized"},
		{"wrong token", "GET", "/api/v4/projects/1", map[string]string{"PRIVATE-TOKEN": "glpat-nope"}, nil, 401, "401 Unauthorized"},
		{"expired token", "GET", "/api/v4/user", map[string]string{"PRIVATE-TOKEN": expired.Token}, nil, 401, "expired"},
		{"bearer token", "GET", "/api/v4/user", map[string]string{"Authorization": "Bearer " + in.token}, nil, 200, `"username":"root"`},
		{"token in the query", "GET", "/api/v4/user?private_token=" + in.token, nil, nil, 200, `"username":"root"`},
		{"read_api cannot write", "POST", "/api/v4/projects", map[string]string{"PRIVATE-TOKEN": readOnly.Token}, url.Values{"name": {"x"}}, 403, "api scope"},
		{"unknown project", "GET", "/api/v4/projects/999", root, nil, 404, "404 Project Not Found"},
		{"unknown project path", "GET", "/api/v4/projects/nobody%2Fnothing", root, nil, 404, "404 Project Not Found"},
		{"private project hidden from others", "GET", fmt.Sprintf("/api/v4/projects/%d", proj.ID), map[string]string{"PRIVATE-TOKEN": alice.Token}, nil, 404, "404 Project Not Found"},
		{"unknown pipeline", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/12345", proj.ID), root, nil, 404, "Pipeline 12345 Not Found"},
		{"unknown job", "GET", fmt.Sprintf("/api/v4/projects/%d/jobs/777", proj.ID), root, nil, 404, "Job 777 Not Found"},
		{"malformed JSON", "POST", "/api/v4/projects", root, `{"name": `, 400, "malformed JSON"},
		{"bad pipeline id", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/abc", proj.ID), root, nil, 400, "pipeline_id is invalid"},
		{"bad visibility", "POST", "/api/v4/projects", root, url.Values{"name": {"v"}, "visibility": {"secretive"}}, 400, "visibility"},
		{"bad per_page", "GET", "/api/v4/projects?per_page=lots", root, nil, 400, "per_page"},
		{"pipeline without ref", "POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", proj.ID), root, url.Values{}, 400, "ref is missing"},
		{"pipeline on unknown ref", "POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", proj.ID), root, url.Values{"ref": {"nope"}}, 400, "Reference not found"},
		{"duplicate path", "POST", "/api/v4/projects", root, url.Values{"name": {"secret"}}, 400, "already been taken"},
		{"bad status filter", "GET", fmt.Sprintf("/api/v4/projects/%d/pipelines?status=sideways", proj.ID), root, nil, 400, "status"},
		{"trigger with a wrong token", "POST", fmt.Sprintf("/api/v4/projects/%d/trigger/pipeline", proj.ID), nil, url.Values{"token": {"glptt-wrong"}, "ref": {"main"}}, 404, "Project Not Found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, _ := in.do(c.method, c.path, c.headers, c.body)
			if status != c.status || !strings.Contains(string(body), c.message) {
				t.Fatalf("%s %s = %d %s, want %d with a message containing %q", c.method, c.path, status, body, c.status, c.message)
			}
		})
	}
	// Nothing was half-created by the failed requests.
	var list []apiProject
	in.api("GET", "/api/v4/projects", nil, http.StatusOK, &list)
	if len(list) != 1 {
		t.Fatalf("%d projects after failed creations, want 1: %+v", len(list), list)
	}
}

func TestHealthReadinessMetrics(t *testing.T) {
	in := startBaton(t, engines()[0])
	in.do("GET", "/api/v4/user", nil, nil) // one 401 to count
	cases := []struct {
		path, want string
	}{
		{"/-/health", "GitLab OK"},
		{"/-/readiness", `"status":"ok"`},
		{"/metrics", `baton_http_requests_total{method="GET",code="401"} 1`},
	}
	for _, c := range cases {
		status, body, _ := in.do("GET", c.path, nil, nil)
		if status != http.StatusOK || !strings.Contains(string(body), c.want) {
			t.Errorf("GET %s = %d %s, want 200 containing %q", c.path, status, body, c.want)
		}
	}
}
