package planner

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/gitserve"
)

// countingRepos is a real repository store that counts the files read
// and looked up, by path.
type countingRepos struct {
	*gitserve.Repos
	mu     sync.Mutex
	reads  map[string]int
	lookup map[string]int
}

func (r *countingRepos) ResolveRef(ctx context.Context, projectID int64, ref string) (ci.Commit, bool, error) {
	sha, tag, err := r.Repos.ResolveRef(ctx, projectID, ref)
	if err != nil {
		return ci.Commit{}, false, err
	}
	return ci.Commit{SHA: sha}, tag, nil
}

func (r *countingRepos) ReadFile(ctx context.Context, projectID int64, sha, path string) ([]byte, error) {
	r.mu.Lock()
	r.reads[path]++
	r.mu.Unlock()
	return r.Repos.ReadFile(ctx, projectID, sha, path)
}

func (r *countingRepos) BlobID(ctx context.Context, projectID int64, sha, path string) (string, error) {
	r.mu.Lock()
	r.lookup[path]++
	r.mu.Unlock()
	return r.Repos.BlobID(ctx, projectID, sha, path)
}

// pushRepo creates project 1's repository with files on main.
func pushRepo(t *testing.T, files map[string]string) *countingRepos {
	t.Helper()
	return pushProject(t, 1, files)
}

// pushProject creates project id's repository with files on main.
func pushProject(t *testing.T, id int64, files map[string]string) *countingRepos {
	t.Helper()
	home := t.TempDir()
	for k, v := range map[string]string{"HOME": home, "XDG_CONFIG_HOME": home, "GIT_CONFIG_NOSYSTEM": "1",
		"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@example.com", "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@example.com"} {
		t.Setenv(k, v)
	}
	repos, err := gitserve.NewRepos(filepath.Join(t.TempDir(), "repos"))
	if err != nil {
		t.Fatal(err)
	}
	if err := repos.Create(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	for name, content := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-qm", "files"},
		{"push", "-q", repos.Path(id), "main"}} {
		if out, err := exec.Command("git", append([]string{"-C", work}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return &countingRepos{Repos: repos, reads: map[string]int{}, lookup: map[string]int{}}
}

// rules:exists with a plain path asks whether the file is there without
// reading it: a file larger than the repository store reads is there too,
// and each path is looked up once per pipeline however many jobs ask.
func TestRulesExistsPlainPaths(t *testing.T) {
	repos := pushRepo(t, map[string]string{"README.md": "hi\n", "data/big.bin": strings.Repeat("x", 64)})
	repos.MaxReadFileSize = 32 // big.bin is over it
	var y strings.Builder
	for _, j := range []string{"a", "b", "c"} {
		y.WriteString(j + "-big:\n  script: x\n  rules:\n    - exists: [data/big.bin]\n")
		y.WriteString(j + "-gone:\n  script: x\n  rules:\n    - exists: [nope.txt, data]\n")
	}
	p := New(repos, nil, nil, nil, Options{})
	res, err := p.Lint(context.Background(), LintRequest{Project: &ci.Project{ID: 1, DefaultBranch: "main"},
		Content: []byte(y.String()), Ref: "main", DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Valid {
		t.Fatalf("lint errors: %v", res.Errors)
	}
	var names []string
	for _, j := range res.Jobs {
		names = append(names, j.Name)
	}
	if got, want := strings.Join(names, " "), "a-big b-big c-big"; got != want {
		t.Errorf("jobs %q, want %q (a file over the read limit exists; a missing file and a directory do not)", got, want)
	}
	for _, path := range []string{"data/big.bin", "nope.txt", "data"} {
		if n := repos.lookup[path] + repos.reads[path]; n != 1 {
			t.Errorf("%s looked up or read %d times, want once", path, n)
		}
	}
}
