package gitserve

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// history is a small repository: c1 (root), c2 (changes and deletions),
// side (branch off c1), merge (of side into main), and tags.
type history struct {
	r                       *Repos
	c1, c2, side, merge, v2 string
}

func mustHistory(t *testing.T) history {
	t.Helper()
	ctx := context.Background()
	h := history{r: MustRepos(t)}
	h.r.MaxReadFileSize = 100
	if err := h.r.Create(ctx, 1); err != nil {
		t.Fatal(err)
	}
	dates := []string{"GIT_AUTHOR_DATE=2024-01-02T03:04:05+02:00", "GIT_COMMITTER_DATE=2024-01-03T00:00:00-05:00"}
	w := t.TempDir()
	commit := func(msg string) string {
		git(t, w, "add", "-A")
		if out, err := gitErr(w, dates, "commit", "--quiet", "-m", msg); err != nil {
			t.Fatalf("commit: %v\n%s", err, out)
		}
		return git(t, w, "rev-parse", "HEAD")
	}
	git(t, w, "init", "--quiet")
	writeFile(t, w, ".gitlab-ci.yml", "test:\n  script: [echo one]\n")
	writeFile(t, w, "dir/sub.txt", "sub\n")
	writeFile(t, w, "big.txt", strings.Repeat("x", 101))
	h.c1 = commit("Initial commit\n\nWith a body.\nAnd lines.")
	writeFile(t, w, ".gitlab-ci.yml", "test:\n  script: [echo two]\n")
	git(t, w, "rm", "--quiet", "-r", "dir")
	h.c2 = commit("Second")
	git(t, w, "checkout", "--quiet", "-b", "side", h.c1)
	writeFile(t, w, "side.txt", "side\n")
	h.side = commit("Side work")
	git(t, w, "checkout", "--quiet", "main")
	if out, err := gitErr(w, dates, "merge", "--quiet", "--no-ff", "-m", "Merge side", "side"); err != nil {
		t.Fatalf("merge: %v\n%s", err, out)
	}
	h.merge = git(t, w, "rev-parse", "HEAD")
	git(t, w, "tag", "v1", h.c1)
	git(t, w, "tag", "-a", "-m", "two", "v2", h.c2)
	h.v2 = git(t, w, "rev-parse", "v2")
	git(t, w, "tag", "-a", "-m", "tag of a tag", "v3", "v2")
	git(t, w, "tag", "both", h.c2)
	git(t, w, "branch", "both", h.c1)
	git(t, w, "push", "--quiet", h.r.Path(1), "--all")
	git(t, w, "push", "--quiet", h.r.Path(1), "--tags")
	return h
}

func TestCommit(t *testing.T) {
	h := mustHistory(t)
	c, err := h.r.Commit(context.Background(), 1, h.c1[:10])
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	want := &Commit{
		SHA:            h.c1,
		Title:          "Initial commit",
		Message:        "Initial commit\n\nWith a body.\nAnd lines.\n",
		AuthorName:     "Ada Author",
		AuthorEmail:    "ada@example.com",
		AuthoredAt:     time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 2*3600)),
		CommitterName:  "Cy Committer",
		CommitterEmail: "cy@example.com",
		CommittedAt:    time.Date(2024, 1, 3, 0, 0, 0, 0, time.FixedZone("", -5*3600)),
		ParentSHAs:     []string{},
	}
	if !c.AuthoredAt.Equal(want.AuthoredAt) || !c.CommittedAt.Equal(want.CommittedAt) {
		t.Errorf("dates = %v, %v; want %v, %v", c.AuthoredAt, c.CommittedAt, want.AuthoredAt, want.CommittedAt)
	}
	if _, off := c.AuthoredAt.Zone(); off != 2*3600 {
		t.Errorf("author zone offset = %d, want +2h", off)
	}
	c.AuthoredAt, c.CommittedAt, want.AuthoredAt, want.CommittedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Commit =\n %+v\nwant\n %+v", c, want)
	}

	tests := []struct {
		name, rev string
		sha       string
		parents   []string
		kind      ci.Kind
	}{
		{"branch", "main", h.merge, []string{h.c2, h.side}, ""},
		{"full sha", h.c2, h.c2, []string{h.c1}, ""},
		{"annotated tag peels", "v2", h.c2, []string{h.c1}, ""},
		{"tag of a tag peels", "v3", h.c2, []string{h.c1}, ""},
		{"tag object sha peels", h.v2, h.c2, []string{h.c1}, ""},
		{"unknown sha", strings.Repeat("ab", 20), "", nil, ci.KindNotFound},
		{"unknown branch", "nope", "", nil, ci.KindNotFound},
		{"tree is not a commit", h.c1 + "^{tree}", "", nil, ci.KindNotFound},
		{"option", "--all", "", nil, ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := h.r.Commit(context.Background(), 1, tt.rev)
			if ci.KindOf(err) != tt.kind {
				t.Fatalf("error = %v, want kind %q", err, tt.kind)
			}
			if err != nil {
				return
			}
			if c.SHA != tt.sha || !reflect.DeepEqual(c.ParentSHAs, tt.parents) {
				t.Errorf("Commit = %s parents %v, want %s parents %v", c.SHA, c.ParentSHAs, tt.sha, tt.parents)
			}
		})
	}
	t.Run("missing repository", func(t *testing.T) {
		if _, err := h.r.Commit(context.Background(), 9, "main"); !ci.IsNotFound(err) {
			t.Errorf("error = %v, want not found", err)
		}
	})
}

func TestResolveRef(t *testing.T) {
	h := mustHistory(t)
	tests := []struct {
		name, ref string
		sha       string
		tag       bool
		kind      ci.Kind
	}{
		{"branch", "main", h.merge, false, ""},
		{"full branch name", "refs/heads/side", h.side, false, ""},
		{"lightweight tag", "v1", h.c1, true, ""},
		{"annotated tag", "v2", h.c2, true, ""},
		{"tag of a tag", "v3", h.c2, true, ""},
		{"full tag name", "refs/tags/v2", h.c2, true, ""},
		{"branch wins over tag", "both", h.c1, false, ""},
		{"full tag name of a shadowed tag", "refs/tags/both", h.c2, true, ""},
		{"unknown", "nope", "", false, ci.KindNotFound},
		{"prefix of a branch", "mai", "", false, ci.KindNotFound},
		{"glob", "v*", "", false, ci.KindNotFound},
		{"sha is not a ref", h.c1, "", false, ci.KindNotFound},
		{"option", "--help", "", false, ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sha, tag, err := h.r.ResolveRef(context.Background(), 1, tt.ref)
			if ci.KindOf(err) != tt.kind {
				t.Fatalf("error = %v, want kind %q", err, tt.kind)
			}
			if sha != tt.sha || tag != tt.tag {
				t.Errorf("ResolveRef(%q) = %s, %v; want %s, %v", tt.ref, sha, tag, tt.sha, tt.tag)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	h := mustHistory(t)
	tests := []struct {
		name, rev, path string
		want            string
		kind            ci.Kind
	}{
		{"at first commit", h.c1, ".gitlab-ci.yml", "test:\n  script: [echo one]\n", ""},
		{"at second commit", h.c2, ".gitlab-ci.yml", "test:\n  script: [echo two]\n", ""},
		{"nested", h.c1, "dir/sub.txt", "sub\n", ""},
		{"leading slash", h.c1, "/dir/sub.txt", "sub\n", ""},
		{"by branch", "side", "side.txt", "side\n", ""},
		{"deleted later", h.c2, "dir/sub.txt", "", ci.KindNotFound},
		{"not there yet", h.c1, "side.txt", "", ci.KindNotFound},
		{"missing file", h.c1, "nope.yml", "", ci.KindNotFound},
		{"unknown commit", strings.Repeat("ab", 20), ".gitlab-ci.yml", "", ci.KindNotFound},
		{"directory", h.c1, "dir", "", ci.KindInvalid},
		{"too large", h.c1, "big.txt", "", ci.KindInvalid},
		{"empty path", h.c1, "", "", ci.KindInvalid},
		{"newline in path", h.c1, "a\nb", "", ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.r.ReadFile(context.Background(), 1, tt.rev, tt.path)
			if ci.KindOf(err) != tt.kind {
				t.Fatalf("error = %v, want kind %q", err, tt.kind)
			}
			if string(got) != tt.want {
				t.Errorf("ReadFile = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBlobID(t *testing.T) {
	h := mustHistory(t)
	w := t.TempDir()
	git(t, w, "clone", "--quiet", h.r.Path(1), ".")
	tests := []struct {
		name, rev, path string
		kind            ci.Kind
	}{
		{"file", h.c1, ".gitlab-ci.yml", ""},
		{"nested", h.c1, "dir/sub.txt", ""},
		{"over the read limit", h.c1, "big.txt", ""},
		{"directory", h.c1, "dir", ci.KindNotFound},
		{"deleted later", h.c2, "dir/sub.txt", ci.KindNotFound},
		{"missing", h.c1, "nope", ci.KindNotFound},
		{"empty path", h.c1, "", ci.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := h.r.BlobID(context.Background(), 1, tt.rev, tt.path)
			if ci.KindOf(err) != tt.kind {
				t.Fatalf("error = %v, want kind %q", err, tt.kind)
			}
			if tt.kind == "" {
				if want := git(t, w, "rev-parse", tt.rev+":"+tt.path); got != want {
					t.Errorf("BlobID = %q, git says %q", got, want)
				}
			}
		})
	}
}

// PushLog lists a push's commits newest first, as Commit reads each, with
// their total, in a bounded number of git processes however many commits
// it lists (a push's webhook payload is built from it).
func TestPushLog(t *testing.T) {
	h := mustHistory(t)
	ctx := context.Background()
	// Count the git processes through a wrapper around the real git.
	count := filepath.Join(t.TempDir(), "count")
	wrapper := filepath.Join(t.TempDir(), "git")
	script := "#!/bin/sh\necho x >> '" + count + "'\nexec '" + h.r.git + "' \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	runs := func() int {
		data, _ := os.ReadFile(count)
		return strings.Count(string(data), "x")
	}
	tests := []struct {
		name, old, new string
		limit, total   int
		want           []string // the range's commits (the first limit of them are listed)
	}{
		{"a range", h.c1, h.merge, 10, 3, []string{h.merge, h.side, h.c2}},
		{"limited", h.c1, h.merge, 2, 3, []string{h.merge, h.side, h.c2}},
		{"a new branch (zeros)", strings.Repeat("0", 40), h.c2, 10, 2, []string{h.c2, h.c1}},
		{"nothing new", h.c2, h.c2, 10, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The order is git's (the fixture's commits share their dates).
			args := []string{"--git-dir=" + h.r.Path(1), "rev-list", "--max-count=" + strconv.Itoa(tt.limit), tt.new}
			if strings.Trim(tt.old, "0") != "" {
				args = append(args, "^"+tt.old)
			}
			order := strings.Fields(git(t, "", args...))
			if len(order) != min(tt.limit, len(tt.want)) {
				t.Fatalf("git rev-list lists %v, the fixture has %v", order, tt.want)
			}
			for _, sha := range order {
				if !slices.Contains(tt.want, sha) {
					t.Fatalf("git rev-list lists %v, the fixture has %v", order, tt.want)
				}
			}
			var want []*Commit
			for _, sha := range order {
				c, err := h.r.Commit(ctx, 1, sha)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, c)
			}
			real := h.r.git
			h.r.git = wrapper
			defer func() { h.r.git = real }()
			before := runs()
			got, total, err := h.r.PushLog(ctx, 1, tt.old, tt.new, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			if total != tt.total || len(got) != len(want) {
				t.Fatalf("PushLog = %d commits of %d, want %d of %d", len(got), total, len(want), tt.total)
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("commit %d =\n %+v\nwant\n %+v", i, got[i], want[i])
				}
			}
			if n := runs() - before; n > 2 {
				t.Errorf("PushLog ran git %d times for %d commits, want at most 2 (count, log)", n, len(want))
			}
		})
	}
}
