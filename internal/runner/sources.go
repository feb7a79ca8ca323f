package runner

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// getSources prepares the project dir per GIT_STRATEGY: clone starts from an
// empty dir, fetch reuses it, none leaves it alone, empty empties it.
func (j *job) getSources(ctx context.Context, env []string) error {
	strategy := j.p.gitStrategy()
	switch strategy {
	case "none":
		j.printf("Skipping Git repository setup\n")
		return mkdir(j.projectDir)
	case "empty":
		j.printf("Skipping Git repository setup and creating an empty build directory\n")
		if err := os.RemoveAll(j.projectDir); err != nil {
			return &systemError{fmt.Errorf("emptying project dir: %w", err)}
		}
		return mkdir(j.projectDir)
	case "clone":
		if err := os.RemoveAll(j.projectDir); err != nil {
			return &systemError{fmt.Errorf("removing project dir: %w", err)}
		}
	case "fetch":
	default:
		return fmt.Errorf("unknown GIT_STRATEGY %q", strategy)
	}
	gi := j.p.GitInfo
	if gi.RepoURL == "" || len(gi.Sha) < 8 {
		return fmt.Errorf("the job has no repository url or commit sha")
	}
	depth := gi.Depth
	if v, ok := j.p.variable("GIT_DEPTH"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid GIT_DEPTH %q", v)
		}
		depth = n
	}
	if depth > 0 {
		j.printf(ansiBoldGreen+"Fetching changes with git depth set to %d..."+ansiReset+"\n", depth)
	} else {
		j.printf(ansiBoldGreen + "Fetching changes..." + ansiReset + "\n")
	}
	remote, genv, err := gitRemote(gi.RepoURL, j.p.Token)
	if err != nil {
		return err
	}
	genv = append(append(append([]string(nil), env...), "GIT_TERMINAL_PROMPT=0"), genv...)
	if err := mkdir(j.projectDir); err != nil {
		return err
	}
	git := func(args ...string) error { return j.runCommand(ctx, j.projectDir, genv, "git", args...) }
	if _, err := os.Stat(filepath.Join(j.projectDir, ".git")); err != nil {
		j.printf("Initialized empty Git repository in %s\n", filepath.Join(j.projectDir, ".git"))
		if err := git("init", "-q"); err != nil {
			return fmt.Errorf("initializing repository: %w", err)
		}
	} else {
		j.printf("Reinitialized existing Git repository in %s\n", filepath.Join(j.projectDir, ".git"))
	}
	// "remote add" fails when origin exists; set-url then fixes the url.
	if err := j.runCommandQuiet(ctx, genv, "git", "remote", "add", "origin", remote); err != nil {
		if err := git("remote", "set-url", "origin", remote); err != nil {
			return fmt.Errorf("setting remote: %w", err)
		}
	}
	args := []string{"fetch", "origin", "--no-recurse-submodules"}
	args = append(args, gi.Refspecs...)
	if depth > 0 {
		args = append(args, "--depth", strconv.Itoa(depth))
	}
	extra := "--prune --quiet"
	if v, ok := j.p.variable("GIT_FETCH_EXTRA_FLAGS"); ok {
		extra = v
	}
	args = append(args, strings.Fields(extra)...)
	if err := git(args...); err != nil {
		return fmt.Errorf("fetching %s: %w", remote, err)
	}
	if v, _ := j.p.variable("GIT_CHECKOUT"); strings.EqualFold(v, "false") {
		j.printf("Skipping Git checkout\n")
		return nil
	}
	j.printf(ansiBoldGreen+"Checking out %s as detached HEAD (ref is %s)..."+ansiReset+"\n", gi.Sha[:8], gi.Ref)
	if err := git("checkout", "-f", "-q", gi.Sha); err != nil {
		return fmt.Errorf("checking out %s: %w", gi.Sha[:8], err)
	}
	flags := "-ffdx"
	if v, ok := j.p.variable("GIT_CLEAN_FLAGS"); ok && v != "" {
		flags = v
	}
	if flags != "none" {
		if err := git(append([]string{"clean"}, strings.Fields(flags)...)...); err != nil {
			return fmt.Errorf("cleaning: %w", err)
		}
	}
	return nil
}

// runCommandQuiet runs a git command whose output does not belong in the log.
func (j *job) runCommandQuiet(ctx context.Context, env []string, name string, args ...string) error {
	return j.runCommandTo(ctx, io.Discard, j.projectDir, env, name, args...)
}

// gitRemote returns the remote url without credentials and the environment
// that makes git authenticate: an http.<url>.extraHeader with Basic
// credentials (the url's own, else gitlab-ci-token and the job token), passed
// through GIT_CONFIG_* so that it never shows on a command line.
func gitRemote(repoURL, jobToken string) (string, []string, error) {
	u, err := url.Parse(repoURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return repoURL, nil, nil // local path or another transport: no http credentials
	}
	user, pass := "gitlab-ci-token", jobToken
	if u.User != nil {
		user = u.User.Username()
		if p, ok := u.User.Password(); ok {
			pass = p
		}
		u.User = nil
	}
	scope := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
	cred := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return u.String(), []string{
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=http." + scope + ".extraHeader",
		"GIT_CONFIG_VALUE_0=Authorization: Basic " + cred,
	}, nil
}

func mkdir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &systemError{fmt.Errorf("creating %s: %w", dir, err)}
	}
	return nil
}
