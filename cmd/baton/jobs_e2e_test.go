package main

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

type apiJobFull struct {
	ID            int64      `json:"id"`
	Name          string     `json:"name"`
	Stage         string     `json:"stage"`
	Status        string     `json:"status"`
	FailureReason string     `json:"failure_reason"`
	AllowFailure  bool       `json:"allow_failure"`
	StartedAt     *time.Time `json:"started_at"`
	FinishedAt    *time.Time `json:"finished_at"`
	ArtifactsFile *struct {
		Filename string `json:"filename"`
		Size     int64  `json:"size"`
	} `json:"artifacts_file"`
}

// project creates a project named name in root's namespace and pushes files
// to its main branch; it returns the project id.
func (in *instance) project(name string, files map[string]string) (int64, *repo) {
	in.t.Helper()
	var proj apiProject
	in.api("POST", "/api/v4/projects", url.Values{"name": {name}}, http.StatusCreated, &proj)
	r := newRepo(in.t, files)
	r.git("push", "-q", in.pushURL("root/"+name), "main")
	return proj.ID, r
}

// runnerToken creates an instance runner through the API and returns its token.
func (in *instance) runnerToken(tags ...string) string {
	in.t.Helper()
	var out struct {
		Token string `json:"token"`
	}
	form := url.Values{"runner_type": {"instance_type"}, "run_untagged": {"true"}}
	if len(tags) > 0 {
		form.Set("tag_list", strings.Join(tags, ","))
	}
	in.api("POST", "/api/v4/user/runners", form, http.StatusCreated, &out)
	return out.Token
}

// latestPipeline waits for the project's newest pipeline to exist.
func (in *instance) latestPipeline(projectID int64) apiPipeline {
	in.t.Helper()
	var pls []apiPipeline
	eventually(in.t, 15*time.Second, "a pipeline", func() bool {
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", projectID), nil, http.StatusOK, &pls)
		return len(pls) > 0
	})
	return pls[0]
}

// waitPipeline waits until the pipeline's status is one of want.
func (in *instance) waitPipeline(projectID, pipelineID int64, timeout time.Duration, want ...string) apiPipeline {
	in.t.Helper()
	var pl apiPipeline
	eventually(in.t, timeout, "pipeline status "+strings.Join(want, "|"), func() bool {
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", projectID, pipelineID), nil, http.StatusOK, &pl)
		for _, w := range want {
			if pl.Status == w {
				return true
			}
		}
		return false
	})
	return pl
}

// jobs lists a pipeline's jobs by name (include_retried adds retries).
func (in *instance) jobs(projectID, pipelineID int64, includeRetried bool) map[string][]apiJobFull {
	in.t.Helper()
	var list []apiJobFull
	in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/jobs?per_page=100&include_retried=%v", projectID, pipelineID, includeRetried), nil, http.StatusOK, &list)
	out := map[string][]apiJobFull{}
	for _, j := range list {
		out[j.Name] = append(out[j.Name], j)
	}
	return out
}

func (in *instance) trace(projectID, jobID int64) string {
	in.t.Helper()
	_, body, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/trace", projectID, jobID), map[string]string{"PRIVATE-TOKEN": in.token}, nil)
	return string(body)
}

func statuses(jobs map[string][]apiJobFull) string {
	var names []string
	for n := range jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%s ", n, jobs[n][0].Status)
	}
	return strings.TrimSpace(b.String())
}

// TestPipelinesRun pushes pipelines that Baton's runner runs for real and
// checks statuses, ordering, logs and artifacts end to end.
func TestPipelinesRun(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 4)

		t.Run("stages, needs, artifacts and dotenv", func(t *testing.T) {
			pid, _ := in.project("flow", map[string]string{".gitlab-ci.yml": `
stages: [build, test, deploy]
build:
  stage: build
  script:
    - mkdir -p out && echo "payload-$CI_PIPELINE_ID" > out/data.txt
    - echo "BUILD_VERSION=1.2.$CI_PIPELINE_IID" > build.env
    - sleep 4
  artifacts:
    paths: [out/]
    reports:
      dotenv: build.env
slow:
  stage: build
  script: sleep 9
unit:
  stage: test
  needs: [build]
  script:
    - test "$(cat out/data.txt)" = "payload-$CI_PIPELINE_ID"
    - test "$BUILD_VERSION" = "1.2.$CI_PIPELINE_IID"
    - echo "unit saw $BUILD_VERSION"
fetch:
  stage: test
  needs: []
  script:
    - 'code=$(curl -s -o early.json -w "%{http_code}" -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_PIPELINE_ARTIFACTS_URL?job=build"); echo "without wait: $code $(cat early.json)"; test "$code" = 404'
    - grep -q "has no artifacts yet" early.json
    - 'curl -sf -H "JOB-TOKEN: $CI_JOB_TOKEN" -o a.zip "$CI_PIPELINE_ARTIFACTS_URL?job=build&wait=60"'
    - unzip -o a.zip && test "$(cat out/data.txt)" = "payload-$CI_PIPELINE_ID"
    - 'curl -sf -H "JOB-TOKEN: $CI_JOB_TOKEN" "$CI_PIPELINE_ARTIFACTS_URL/raw/out/data.txt?job=build" | grep -q payload'
deploy:
  stage: deploy
  script: echo deployed
`})
			pl := in.latestPipeline(pid)
			done := in.waitPipeline(pid, pl.ID, 90*time.Second, "success", "failed", "canceled")
			jobs := in.jobs(pid, pl.ID, false)
			if done.Status != "success" {
				for n, js := range jobs {
					t.Logf("--- %s (%s)\n%s", n, js[0].Status, in.trace(pid, js[0].ID))
				}
				t.Fatalf("pipeline %s (yaml_errors %s): %s", done.Status, deref(done.YAMLErrors), statuses(jobs))
			}
			// needs: unit started before the slow build-stage job finished.
			unit, slow, deploy := jobs["unit"][0], jobs["slow"][0], jobs["deploy"][0]
			if !unit.StartedAt.Before(*slow.FinishedAt) {
				t.Errorf("unit (needs: [build]) started %v, after slow finished %v", unit.StartedAt, slow.FinishedAt)
			}
			if deploy.StartedAt.Before(*unit.FinishedAt) || deploy.StartedAt.Before(*slow.FinishedAt) {
				t.Errorf("deploy started %v before the test stage finished", deploy.StartedAt)
			}
			// fetch asked before build had uploaded (404), then waited for it.
			fetch, build := jobs["fetch"][0], jobs["build"][0]
			if !fetch.StartedAt.Before(*build.FinishedAt) || !strings.Contains(in.trace(pid, fetch.ID), "without wait: 404") {
				t.Errorf("fetch started %v, build finished %v; fetch log:\n%s", fetch.StartedAt, build.FinishedAt, in.trace(pid, fetch.ID))
			}
			if log := in.trace(pid, unit.ID); !strings.Contains(log, "unit saw 1.2.") {
				t.Errorf("unit's log lacks its output:\n%s", log)
			}
			if b := jobs["build"][0]; b.ArtifactsFile == nil || b.ArtifactsFile.Size == 0 {
				t.Errorf("build has no artifacts_file: %+v", b)
			}
		})

		t.Run("manual, allow_failure, retry and timeout", func(t *testing.T) {
			pid, _ := in.project("rules", map[string]string{".gitlab-ci.yml": `
flaky:
  stage: build
  script: exit 3
  allow_failure:
    exit_codes: [3]
broken:
  stage: build
  retry: 1
  script: exit 1
  allow_failure: true
slowpoke:
  stage: build
  timeout: 2 seconds
  allow_failure: true
  script: sleep 60
release:
  stage: deploy
  when: manual
  script: echo released
`})
			pl := in.latestPipeline(pid)
			in.waitPipeline(pid, pl.ID, 60*time.Second, "manual", "success")
			jobs := in.jobs(pid, pl.ID, true)
			if got := jobs["flaky"][0]; got.Status != "failed" || got.FailureReason != "script_failure" {
				t.Errorf("flaky = %+v, want failed (allowed by exit code)", got)
			}
			if got := len(jobs["broken"]); got != 2 {
				t.Errorf("broken ran %d times, want 2 (retry: 1)", got)
			}
			if got := jobs["slowpoke"][0]; got.Status != "failed" || got.FailureReason != "job_execution_timeout" {
				t.Errorf("slowpoke = %+v, want failed with job_execution_timeout", got)
			}
			release := jobs["release"][0]
			if release.Status != "manual" {
				t.Fatalf("release = %s, want manual", release.Status)
			}
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/play", pid, release.ID), nil, http.StatusOK, nil)
			done := in.waitPipeline(pid, pl.ID, 30*time.Second, "success", "failed")
			if done.Status != "success" {
				t.Fatalf("after play: pipeline %s, %s", done.Status, statuses(in.jobs(pid, pl.ID, false)))
			}

			// Retrying the pipeline re-runs its failed jobs as new attempts.
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/retry", pid, pl.ID), nil, http.StatusCreated, nil)
			// Wait on the new attempts themselves: the pipeline was already success.
			var flaky []apiJobFull
			eventually(t, 60*time.Second, "the retried flaky job to finish", func() bool {
				flaky = in.jobs(pid, pl.ID, true)["flaky"]
				return len(flaky) == 2 && flaky[0].ID > flaky[1].ID && flaky[0].Status == "failed"
			})
			if flaky[0].FailureReason != "script_failure" || !flaky[0].AllowFailure {
				t.Errorf("retried flaky = %+v, want an allowed script failure", flaky[0])
			}
			in.waitPipeline(pid, pl.ID, 60*time.Second, "success")
			// Retrying one job makes one new attempt; its old one is listed only with include_retried.
			var retried apiJobFull
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/retry", pid, release.ID), nil, http.StatusCreated, &retried)
			if retried.ID == release.ID || retried.Name != "release" {
				t.Fatalf("job retry = %+v", retried)
			}
			eventually(t, 30*time.Second, "the retried release job to succeed", func() bool {
				rs := in.jobs(pid, pl.ID, false)["release"]
				return len(rs) == 1 && rs[0].ID == retried.ID && rs[0].Status == "success"
			})
			if n := len(in.jobs(pid, pl.ID, true)["release"]); n != 2 {
				t.Errorf("release has %d attempts with include_retried, want 2", n)
			}
			in.waitPipeline(pid, pl.ID, 30*time.Second, "success")
			// Deleting the pipeline removes it and its jobs.
			in.api("DELETE", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", pid, pl.ID), nil, http.StatusNoContent, nil)
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d", pid, pl.ID), nil, http.StatusNotFound, nil)
			in.api("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d", pid, release.ID), nil, http.StatusNotFound, nil)
		})

		t.Run("force cancel stops a job at once", func(t *testing.T) {
			dir := t.TempDir()
			marker, pidFile := filepath.Join(dir, "after-script-ran"), filepath.Join(dir, "pid")
			pid, _ := in.project("hardstop", map[string]string{".gitlab-ci.yml": `
stuck:
  script:
    - echo $$ > ` + pidFile + `
    - echo started
    - sleep 120
  after_script:
    - touch ` + marker + `
`})
			pl := in.latestPipeline(pid)
			var job apiJobFull
			eventually(t, 30*time.Second, "the job to run", func() bool {
				job = in.jobs(pid, pl.ID, false)["stuck"][0]
				return job.Status == "running" && strings.Contains(in.trace(pid, job.ID), "started")
			})
			var canceled apiJobFull
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/cancel?force=true", pid, job.ID), nil, http.StatusCreated, &canceled)
			if canceled.Status != "canceled" {
				t.Fatalf("force cancel left the job %s", canceled.Status)
			}
			if done := in.waitPipeline(pid, pl.ID, 10*time.Second, "canceled"); done.Status != "canceled" {
				t.Fatalf("pipeline %s", done.Status)
			}
			// The runner hears 403 within its keepalive and kills the script
			// at once, without after_script.
			raw, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			scriptPID, err := strconv.Atoi(strings.TrimSpace(string(raw)))
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, "the runner to kill the script", func() bool {
				return syscall.Kill(scriptPID, 0) == syscall.ESRCH
			})
			time.Sleep(time.Second)
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("after_script ran after a force cancel")
			}
		})

		t.Run("cancel runs after_script and kills the job token", func(t *testing.T) {
			tokenFile := filepath.Join(t.TempDir(), "token")
			pid, _ := in.project("cancel", map[string]string{".gitlab-ci.yml": `
long:
  script:
    - echo "$CI_JOB_TOKEN" > ` + tokenFile + `
    - echo started
    - sleep 120
  after_script:
    - echo after-script-ran
`})
			pl := in.latestPipeline(pid)
			var long apiJobFull
			eventually(t, 30*time.Second, "the long job to run", func() bool {
				long = in.jobs(pid, pl.ID, false)["long"][0]
				return long.Status == "running" && strings.Contains(in.trace(pid, long.ID), "started")
			})
			raw, err := os.ReadFile(tokenFile)
			if err != nil {
				t.Fatal(err)
			}
			jobToken := strings.TrimSpace(string(raw))
			if status, body, _ := in.do("GET", "/api/v4/job", map[string]string{"JOB-TOKEN": jobToken}, nil); status != http.StatusOK || !strings.Contains(string(body), `"name":"long"`) {
				t.Fatalf("GET /job with the running job's token: %d %s", status, body)
			}
			in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/cancel", pid, pl.ID), nil, http.StatusOK, nil)
			done := in.waitPipeline(pid, pl.ID, 45*time.Second, "canceled")
			if done.Status != "canceled" {
				t.Fatalf("pipeline %s after cancel", done.Status)
			}
			eventually(t, 10*time.Second, "after_script output in the log", func() bool {
				return strings.Contains(in.trace(pid, long.ID), "after-script-ran")
			})
			if status, body, _ := in.do("GET", "/api/v4/job", map[string]string{"JOB-TOKEN": jobToken}, nil); status != http.StatusUnauthorized {
				t.Fatalf("GET /job with a finished job's token: %d %s, want 401", status, body)
			}
		})
	})
}
