// Package gitserve hosts Baton's git repositories: bare repositories on disk,
// one per project, served over git's smart HTTP protocol by the real
// `git http-backend`, plus the few read operations the rest of Baton needs
// (a file at a commit, a commit's metadata, a ref's target).
package gitserve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// DefaultMaxReadFileSize is the largest file ReadFile returns unless
// Repos.MaxReadFileSize says otherwise.
const DefaultMaxReadFileSize = 1 << 20

// Repos manages bare repositories on disk, one per project:
// <root>/<project id>.git. Its methods are safe for concurrent use.
type Repos struct {
	root string
	git  string // absolute path of the git binary

	// MaxReadFileSize caps ReadFile; larger files are KindInvalid.
	// Zero means DefaultMaxReadFileSize.
	MaxReadFileSize int64

	// Bounds of the API's repository reads (read.go); zero means the
	// Default of each.
	MaxBlobSize       int64 // bytes of a file File returns
	MaxTreeEntries    int   // entries a Tree listing reads
	MaxCompareCommits int   // commits a Compare lists
	MaxDiffBytes      int64 // patch bytes a Compare reads
}

// NewRepos returns Repos rooted at root, creating the directory if needed. It
// fails when git or git-http-backend cannot be found.
func NewRepos(root string) (*Repos, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("finding git: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving repository root: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("creating repository root: %w", err)
	}
	r := &Repos{root: abs, git: gitPath}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	execPath, err := r.run(ctx, "", nil, "--exec-path")
	if err != nil {
		return nil, fmt.Errorf("finding git exec path: %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("finding git-http-backend: %w", err)
	}
	return r, nil
}

// Root returns the absolute directory holding the repositories.
func (r *Repos) Root() string { return r.root }

// Path returns the bare repository directory of the project.
func (r *Repos) Path(projectID int64) string {
	return filepath.Join(r.root, fmt.Sprintf("%d.git", projectID))
}

// Create initialises an empty bare repository for the project, ready to be
// pushed to over HTTP. Its HEAD points at refs/heads/main until SetHEAD is
// called (Baton calls it with the first pushed branch, as GitLab does).
// An existing repository is KindConflict, a non-positive id KindInvalid.
func (r *Repos) Create(ctx context.Context, projectID int64) error {
	if projectID <= 0 {
		return ci.Errorf(ci.KindInvalid, "invalid project id %d", projectID)
	}
	final := r.Path(projectID)
	if _, err := os.Stat(final); err == nil {
		return ci.Errorf(ci.KindConflict, "repository of project %d already exists", projectID)
	}
	// Initialise under a temporary name and rename, so that nobody ever
	// sees a half-configured repository.
	tmp, err := os.MkdirTemp(r.root, fmt.Sprintf(".create-%d-", projectID))
	if err != nil {
		return fmt.Errorf("creating repository of project %d: %w", projectID, err)
	}
	defer os.RemoveAll(tmp)
	if _, err := r.run(ctx, "", nil, "-c", "init.defaultBranch=main", "init", "--quiet", "--bare", tmp); err != nil {
		return fmt.Errorf("initialising repository of project %d: %w", projectID, err)
	}
	settings := [][2]string{
		{"http.receivepack", "true"},
		{"http.uploadpack", "true"},
		{"core.logAllRefUpdates", "always"},
		{"receive.denyNonFastForwards", "false"},
		{"uploadpack.allowFilter", "true"},
		{"repack.writeBitmaps", "true"},
		{"gc.auto", "6700"},
	}
	for _, s := range settings {
		if _, err := r.run(ctx, tmp, nil, "config", s[0], s[1]); err != nil {
			return fmt.Errorf("configuring repository of project %d: %w", projectID, err)
		}
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(final); serr == nil {
			return ci.Errorf(ci.KindConflict, "repository of project %d already exists", projectID)
		}
		return fmt.Errorf("moving repository of project %d in place: %w", projectID, err)
	}
	return nil
}

// Delete removes the project's repository. A missing one is KindNotFound.
func (r *Repos) Delete(ctx context.Context, projectID int64) error {
	p := r.Path(projectID)
	// Rename first so that concurrent requests see no repository rather
	// than a half-deleted one.
	trash := filepath.Join(r.root, fmt.Sprintf(".delete-%d-%d", projectID, time.Now().UnixNano()))
	if err := os.Rename(p, trash); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return ci.Errorf(ci.KindNotFound, "repository of project %d not found", projectID)
		}
		return fmt.Errorf("deleting repository of project %d: %w", projectID, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("deleting repository of project %d: %w", projectID, err)
	}
	return nil
}

// SetHEAD points the repository's HEAD (the default branch clones check out)
// at branch. A branch that does not exist is KindNotFound, an invalid name
// KindInvalid.
func (r *Repos) SetHEAD(ctx context.Context, projectID int64, branch string) error {
	dir, err := r.existing(projectID)
	if err != nil {
		return err
	}
	if err := validRefName(branch); err != nil {
		return err
	}
	ref := "refs/heads/" + branch
	sha, err := r.refTarget(ctx, dir, ref)
	if err != nil {
		return err
	}
	if sha == "" {
		return ci.Errorf(ci.KindNotFound, "branch %q not found", branch)
	}
	if _, err := r.run(ctx, dir, nil, "symbolic-ref", "HEAD", ref); err != nil {
		return fmt.Errorf("setting HEAD of project %d: %w", projectID, err)
	}
	return nil
}

// HEAD returns the branch the repository's HEAD points at (it may not exist
// yet in an empty repository).
func (r *Repos) HEAD(ctx context.Context, projectID int64) (string, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return "", err
	}
	out, err := r.run(ctx, dir, nil, "symbolic-ref", "--short", "HEAD")
	if err != nil {
		return "", fmt.Errorf("reading HEAD of project %d: %w", projectID, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Branches lists the repository's branch names, sorted.
func (r *Repos) Branches(ctx context.Context, projectID int64) ([]string, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	out, err := r.run(ctx, dir, nil, "for-each-ref", "--format=%(refname)", "refs/heads/")
	if err != nil {
		return nil, fmt.Errorf("listing branches of project %d: %w", projectID, err)
	}
	branches := []string{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "refs/heads/"); ok {
			branches = append(branches, name)
		}
	}
	sort.Strings(branches)
	return branches, nil
}

// Tags lists the repository's tag names, sorted.
func (r *Repos) Tags(ctx context.Context, projectID int64) ([]string, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	out, err := r.run(ctx, dir, nil, "for-each-ref", "--format=%(refname)", "refs/tags/")
	if err != nil {
		return nil, fmt.Errorf("listing tags of project %d: %w", projectID, err)
	}
	tags := []string{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "refs/tags/"); ok {
			tags = append(tags, name)
		}
	}
	sort.Strings(tags)
	return tags, nil
}

// existing returns the project's repository directory, KindNotFound if absent.
func (r *Repos) existing(projectID int64) (string, error) {
	dir := r.Path(projectID)
	if projectID <= 0 {
		return "", ci.Errorf(ci.KindNotFound, "repository of project %d not found", projectID)
	}
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", ci.Errorf(ci.KindNotFound, "repository of project %d not found", projectID)
		}
		return "", fmt.Errorf("opening repository of project %d: %w", projectID, err)
	}
	return dir, nil
}

// refTarget returns the object a ref names exactly, or "" when it does not exist.
func (r *Repos) refTarget(ctx context.Context, dir, ref string) (string, error) {
	targets, err := r.refTargets(ctx, dir, []string{ref})
	if err != nil {
		return "", err
	}
	return targets[ref], nil
}

// refTargets returns the objects the given full ref names point at; refs that
// do not exist are absent from the map.
func (r *Repos) refTargets(ctx context.Context, dir string, refs []string) (map[string]string, error) {
	want := make(map[string]bool, len(refs))
	args := []string{"for-each-ref", "--format=%(refname)%00%(objectname)", "--"}
	for _, ref := range refs {
		want[ref] = true
	}
	// Name the refs as patterns unless there are so many (a mirror push)
	// that listing every ref is cheaper than a huge command line.
	if len(refs) <= 1000 {
		args = append(args, refs...)
	}
	out, err := r.run(ctx, dir, nil, args...)
	if err != nil {
		return nil, fmt.Errorf("reading refs: %w", err)
	}
	targets := make(map[string]string, len(refs))
	for _, line := range strings.Split(string(out), "\n") {
		name, sha, ok := strings.Cut(line, "\x00")
		// for-each-ref patterns also match refs below a name; keep exact ones.
		if ok && want[name] {
			targets[name] = sha
		}
	}
	return targets, nil
}

// validRefName rejects names that could be mistaken for options or break
// git's line-based input; git itself checks the rest of the ref syntax.
func validRefName(name string) error {
	if name == "" || strings.HasPrefix(name, "-") || strings.ContainsAny(name, "\x00\n\r") {
		return ci.Errorf(ci.KindInvalid, "invalid ref name %q", name)
	}
	return nil
}

// run runs git with args in the bare repository dir ("" for none), feeding
// stdin, and returns its standard output. A failure includes git's stderr.
func (r *Repos) run(ctx context.Context, dir string, stdin []byte, args ...string) ([]byte, error) {
	cmd := r.command(ctx, dir, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), &gitError{args: args, err: err, stderr: strings.TrimSpace(stderr.String())}
	}
	return stdout.Bytes(), nil
}

// command prepares a git command in the bare repository dir ("" for none)
// with a sanitised environment.
func (r *Repos) command(ctx context.Context, dir string, args ...string) *exec.Cmd {
	full := args
	if dir != "" {
		full = append([]string{"--git-dir=" + dir}, args...)
	}
	cmd := exec.CommandContext(ctx, r.git, full...)
	cmd.Env = gitEnv()
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// gitError is a failed git command with its stderr.
type gitError struct {
	args   []string
	err    error
	stderr string
}

func (e *gitError) Error() string {
	name := "git"
	if len(e.args) > 0 {
		name += " " + e.args[0]
	}
	if e.stderr != "" {
		return fmt.Sprintf("%s: %v: %s", name, e.err, e.stderr)
	}
	return fmt.Sprintf("%s: %v", name, e.err)
}

func (e *gitError) Unwrap() error { return e.err }

// gitEnv returns the process environment without the variables that would
// make git look at another repository or pretend to be a CGI request.
func gitEnv() []string {
	env := os.Environ()
	kept := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "HTTP_"), strings.HasPrefix(name, "CONTENT_"),
			strings.HasPrefix(name, "REMOTE_"), strings.HasPrefix(name, "GIT_HTTP_"):
			continue
		}
		switch name {
		case "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
			"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_NAMESPACE", "GIT_PROTOCOL",
			"GIT_COMMON_DIR", "GIT_PREFIX", "GIT_QUARANTINE_PATH", "GIT_CEILING_DIRECTORIES",
			"GIT_PROJECT_ROOT", "REQUEST_METHOD", "QUERY_STRING", "PATH_INFO",
			"PATH_TRANSLATED", "GATEWAY_INTERFACE", "SERVER_PROTOCOL":
			continue
		}
		kept = append(kept, kv)
	}
	return kept
}
