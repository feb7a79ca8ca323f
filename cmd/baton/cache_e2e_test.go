package main

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCacheSkipsWork: with Baton's runner, a job's cache: makes the second
// pipeline's job find what the first one built (its script records whether
// it had to build), for a key with variables and for a key:files key
// hashed as GitLab hashes it (the SHA-1 of the files' sorted git blob
// ids, joined by "-"), a file larger than Baton reads included.
func TestCacheSkipsWork(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 1)
		pid, repo := in.project("cached", map[string]string{
			"deps.lock": "left-pad 1.3.0\n",
			// Larger than the planner reads: the key needs only its blob id.
			"big.lock": strings.Repeat("lockfile line\n", 200_000),
			".gitlab-ci.yml": `
build:
  cache:
    - key: deps-$CI_COMMIT_REF_SLUG
      paths: [vendor/]
    - key:
        files: [deps.lock, big.lock]
        prefix: lock
      paths: [locked/]
  script:
    - if [ -f vendor/lib.txt ]; then echo "BUILD=cached $(cat vendor/lib.txt)"; else echo "BUILD=fresh"; mkdir -p vendor; echo "from-$CI_PIPELINE_ID" > vendor/lib.txt; fi
    - if [ -f locked/x ]; then echo "LOCKED=cached"; else echo "LOCKED=fresh"; mkdir -p locked; echo 1 > locked/x; fi
`})
		blobs := []string{strings.TrimSpace(repo.git("rev-parse", "HEAD:deps.lock")), strings.TrimSpace(repo.git("rev-parse", "HEAD:big.lock"))}
		slices.Sort(blobs)
		sum := sha1.Sum([]byte(strings.Join(blobs, "-")))
		lockKey := "lock-" + hex.EncodeToString(sum[:])

		run := func(id int64) string {
			t.Helper()
			if pl := in.waitPipeline(pid, id, 60*time.Second, "success", "failed"); pl.Status != "success" {
				t.Fatalf("pipeline %d %s:\n%s", id, pl.Status, in.trace(pid, in.jobs(pid, id, false)["build"][0].ID))
			}
			return in.trace(pid, in.jobs(pid, id, false)["build"][0].ID)
		}
		first := in.latestPipeline(pid)
		log1 := run(first.ID)
		if !strings.Contains(log1, "BUILD=fresh") || !strings.Contains(log1, "LOCKED=fresh") {
			t.Fatalf("first pipeline did not build:\n%s", log1)
		}
		if !strings.Contains(log1, "Checking cache for "+lockKey+"-") {
			t.Errorf("key:files key is not %s-<protection>:\n%s", lockKey, log1)
		}
		var second apiPipeline
		in.api("POST", fmt.Sprintf("/api/v4/projects/%d/pipeline", pid), map[string]any{"ref": "main"}, http.StatusCreated, &second)
		log2 := run(second.ID)
		if want := fmt.Sprintf("BUILD=cached from-%d", first.ID); !strings.Contains(log2, want) || !strings.Contains(log2, "LOCKED=cached") {
			t.Fatalf("second pipeline did not use the first one's cache (want %q):\n%s", want, log2)
		}
		// Changing the key file changes the key: a fresh build of locked/.
		repo.commit("bump deps", map[string]string{"deps.lock": "left-pad 1.3.1\n"})
		repo.git("push", "-q", in.pushURL("root/cached"), "main")
		var third apiPipeline
		eventually(t, 15*time.Second, "the push's pipeline", func() bool {
			third = in.latestPipeline(pid)
			return third.ID != second.ID
		})
		log3 := run(third.ID)
		if !strings.Contains(log3, "LOCKED=fresh") || !strings.Contains(log3, "BUILD=cached") {
			t.Errorf("after changing deps.lock:\n%s", log3)
		}
	})
}
