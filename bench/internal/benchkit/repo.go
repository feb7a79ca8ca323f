package benchkit

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// PushRepo makes a one-commit repository (under tmp, which is also git's
// HOME) holding yml as .gitlab-ci.yml and pushes it as root with token to
// main of fullPath on base; the commit says [skip ci], so the push starts
// no pipeline. The token never shows in the error.
func PushRepo(ctx context.Context, base, token, tmp, fullPath, yml string) error {
	return push(ctx, base, token, tmp, fullPath, yml, "benchmark [skip ci]")
}

// PushPipeline is PushRepo with a commit whose push starts a pipeline.
func PushPipeline(ctx context.Context, base, token, tmp, fullPath, yml string) error {
	return push(ctx, base, token, tmp, fullPath, yml, "benchmark pipeline")
}

func push(ctx context.Context, base, token, tmp, fullPath, yml, message string) error {
	dir := filepath.Join(tmp, "repo-"+strings.ReplaceAll(fullPath, "/", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitlab-ci.yml"), []byte(yml), 0o644); err != nil {
		return err
	}
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	u.User = url.UserPassword("root", token)
	u.Path = "/" + fullPath + ".git"
	env := append(os.Environ(), "HOME="+tmp, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", ".gitlab-ci.yml"},
		{"commit", "-q", "-m", message},
		{"push", "-q", u.String(), "main"},
	} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w\n%s", args[0], err, strings.ReplaceAll(string(out), token, "***"))
		}
	}
	return nil
}
