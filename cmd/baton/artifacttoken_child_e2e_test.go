package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tokenChildCI: the token's pipeline has the job release and a child
// pipeline (bridge outer) whose two children (inner-a, inner-b) each have a
// job release too, so a user's ?job=release&child=outer names both.
const tokenChildCI = `
stages: [build, deploy]
release:
  stage: build
  script:
    - mkdir -p out && echo "release" > out/app.txt
  artifacts:
    paths: [out/]
outer:
  stage: build
  trigger:
    include: ci/outer.yml
mint:
  stage: deploy
  script:
    - 'mint() { curl -s -w "\n%{http_code}" -H "JOB-TOKEN: $CI_JOB_TOKEN" -H "Content-Type: application/json" -d "$1" "$CI_API_V4_URL/projects/$CI_PROJECT_ID/pipelines/$CI_PIPELINE_ID/artifact_tokens" | tr "\n" " "; }'
    - echo "TOKEN main $(mint '{"jobs":["release"]}')"
`

const tokenChildOuter = `
inner-a:
  trigger:
    include: ci/inner.yml
inner-b:
  trigger:
    include: ci/inner.yml
`

const tokenChildInner = `
release:
  script:
    - echo inner
`

// TestArtifactTokenChildSelector: an artifact token reads its own
// pipeline's jobs only, so child= on its reads answers as absent, exactly
// as a child that does not exist, and never names the pipeline's child
// pipelines (a user's read of the same URL is a 409 listing them).
func TestArtifactTokenChildSelector(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 2)
		pid, _ := in.project("tokchild", map[string]string{".gitlab-ci.yml": tokenChildCI,
			"ci/outer.yml": tokenChildOuter, "ci/inner.yml": tokenChildInner})
		pl := in.pushPipeline(pid)
		done := in.waitPipeline(pid, pl.ID, 120*time.Second, "success", "failed", "canceled")
		jobs := in.jobs(pid, pl.ID, false)
		if done.Status != "success" {
			for n, js := range jobs {
				t.Logf("--- %s (%s)\n%s", n, js[0].Status, in.trace(pid, js[0].ID))
			}
			t.Fatalf("pipeline %s", done.Status)
		}
		tok := mintedTokens(t, in.trace(pid, jobs["mint"][0].ID))["main"]
		if tok.status != http.StatusCreated {
			t.Fatalf("mint: %d %s", tok.status, tok.body)
		}
		base := fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts", pid, pl.ID)
		user := map[string]string{"PRIVATE-TOKEN": in.token}
		eventually(t, 60*time.Second, "the user's child=outer to name both inner pipelines", func() bool {
			code, body, _ := in.do("GET", base+"?job=release&child=outer", user, nil)
			return code == http.StatusConflict && strings.Contains(string(body), "inner-a")
		})
		withToken := func(path string) (int, string) {
			code, body, _ := in.do("GET", path, map[string]string{"PRIVATE-TOKEN": tok.Token}, nil)
			return code, string(body)
		}
		if code, body := withToken(base + "?job=release"); code != http.StatusOK {
			t.Fatalf("the token's own read: %d %s", code, body)
		}
		absentCode, absentBody := withToken(base + "?job=release&child=nope")
		if absentCode != http.StatusNotFound {
			t.Fatalf("child=nope with the token: %d %s, want 404", absentCode, absentBody)
		}
		for _, child := range []string{"outer", "outer/inner-a"} {
			code, body := withToken(base + "?job=release&child=" + child)
			if code != absentCode || body != absentBody {
				t.Errorf("child=%s with the token: %d %s; want what an absent child gets: %d %s", child, code, body, absentCode, absentBody)
			}
		}
	})
}
