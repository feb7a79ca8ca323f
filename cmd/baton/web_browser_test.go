package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestWebBrowser runs web-tests/run.mjs: headless Chromium signs in, pushes
// a repository, watches the pipeline graph and a live log, browses and
// previews artifacts, checks that an HTML artifact cannot run script,
// adds a masked CI/CD variable whose value never reaches the page, protects
// a branch, and cancels a pipeline. It needs /usr/bin/chromium, node and
// web-tests/node_modules (`apt-get install -y chromium && (cd web-tests &&
// npm ci)`): without them it fails under CI and skips otherwise.
//
// Screenshots go to a temporary directory, or to docs/screenshots with
// BATON_SCREENSHOTS=1.
func TestWebBrowser(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("browser test skipped in -short mode")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var missing []string
	if _, err := os.Stat(chromium); err != nil {
		missing = append(missing, chromium+" (apt-get install -y chromium)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing = append(missing, "node")
	}
	if _, err := os.Stat(filepath.Join(root, "web-tests", "node_modules", "playwright-core")); err != nil {
		missing = append(missing, "web-tests/node_modules (cd web-tests && npm ci)")
	}
	if len(missing) > 0 {
		if os.Getenv("CI") != "" {
			t.Fatalf("browser test prerequisites missing: %v", missing)
		}
		t.Skipf("browser test prerequisites missing: %v", missing)
	}
	shots := t.TempDir()
	if os.Getenv("BATON_SCREENSHOTS") != "" {
		shots = filepath.Join(root, "docs", "screenshots")
	}

	in := startBaton(t, engines()[0], withSecretsKey(testSecretsKey))
	in.startRunner(in.runnerToken(), 2)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "web-tests", "run.mjs"), in.url, in.token, shots)
	cmd.Dir = filepath.Join(root, "web-tests")
	cmd.Env = append(gitEnv(t), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	t.Logf("browser scenarios:\n%s", out)
	if err != nil {
		t.Fatalf("web-tests/run.mjs: %v (screenshots in %s)", err, shots)
	}
}
