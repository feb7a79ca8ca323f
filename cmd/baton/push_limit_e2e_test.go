package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestMaxPushSize: --max-push-size refuses a larger push with git's own
// message; the branch does not move and no pipeline starts.
func TestMaxPushSize(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e, func(c *Config) { c.MaxPushMiB = 1 })
		pid, r := in.project("app", map[string]string{".gitlab-ci.yml": "build:\n  script: [\"true\"]\n"})
		first := in.latestPipeline(pid)
		noise := make([]byte, 1<<20) // 2 MiB of hex: does not compress below 1 MiB
		_, _ = rand.Read(noise)
		r.commit("too big", map[string]string{"big.txt": hex.EncodeToString(noise)})
		out, err := r.gitErr("push", in.pushURL("root/app"), "main")
		if err == nil || !strings.Contains(out, "pack exceeds maximum allowed size") {
			t.Fatalf("push over --max-push-size: err %v, output:\n%s", err, out)
		}
		if remote := r.git("ls-remote", in.pushURL("root/app"), "refs/heads/main"); !strings.HasPrefix(remote, first.SHA) {
			t.Errorf("a refused push moved main: %s, want %s", remote, first.SHA)
		}
		var pls []apiPipeline
		in.api("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", pid), nil, http.StatusOK, &pls)
		if len(pls) != 1 || pls[0].ID != first.ID {
			t.Errorf("a refused push started a pipeline: %+v", pls)
		}
	})
}
