package gitserve

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/batonci/baton/internal/ci"
)

func TestListBranchesAndTags(t *testing.T) {
	h := mustHistory(t)
	ctx := context.Background()
	bs, total, err := h.r.ListBranches(ctx, 1, "", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range bs {
		names = append(names, b.Name+"@"+b.Commit.SHA[:7])
	}
	want := []string{"both@" + h.c1[:7], "main@" + h.merge[:7], "side@" + h.side[:7]}
	if total != 3 || !reflect.DeepEqual(names, want) {
		t.Errorf("ListBranches = %v (total %d), want %v (3)", names, total, want)
	}
	if bs, total, _ := h.r.ListBranches(ctx, 1, "i", 1, 1); total != 2 || len(bs) != 1 || bs[0].Name != "side" {
		t.Errorf("ListBranches(search i, page 2 of 1) = %+v total %d, want side of 2", bs, total)
	}
	if b, err := h.r.Branch(ctx, 1, "side"); err != nil || b.Commit.Title != "Side work" || b.Commit.AuthorEmail != "ada@example.com" {
		t.Errorf("Branch(side) = %+v, %v", b, err)
	}
	if _, err := h.r.Branch(ctx, 1, "v1"); !ci.IsNotFound(err) {
		t.Errorf("Branch(v1, a tag) = %v, want not found", err)
	}

	tags, total, err := h.r.ListTags(ctx, 1, "v", 0, 0)
	if err != nil || total != 3 {
		t.Fatalf("Tags = %d, %v; want 3", total, err)
	}
	byName := map[string]ci.GitTag{}
	for _, tg := range tags {
		byName[tg.Name] = tg
	}
	if v1 := byName["v1"]; v1.Target != h.c1 || v1.Message != "" || v1.Commit.SHA != h.c1 {
		t.Errorf("lightweight v1 = %+v", v1)
	}
	if v2 := byName["v2"]; v2.Target != h.v2 || v2.Message != "two" || v2.Commit.SHA != h.c2 {
		t.Errorf("annotated v2 = %+v", v2)
	}
	if tg, err := h.r.Tag(ctx, 1, "v2"); err != nil || tg.Commit.SHA != h.c2 || tg.Message != "two" {
		t.Errorf("Tag(v2) = %+v, %v", tg, err)
	}
	if _, err := h.r.Tag(ctx, 1, "v"); !ci.IsNotFound(err) {
		t.Errorf("Tag(v, a prefix) = %v, want not found", err)
	}
}

func TestLogAndStats(t *testing.T) {
	h := mustHistory(t)
	ctx := context.Background()
	at := func(s string) *time.Time { tm, _ := time.Parse(time.RFC3339, s); return &tm }
	tests := []struct {
		name  string
		q     ci.LogQuery
		want  []string
		total int
	}{
		// side and c2 have the same date: git may list them either way.
		{"default branch", ci.LogQuery{}, []string{h.merge, h.side, h.c2, h.c1}, 4},
		{"page", ci.LogQuery{Skip: 1, Limit: 2}, []string{h.side, h.c2}, 4},
		{"ref", ci.LogQuery{Ref: "side"}, []string{h.side, h.c1}, 2},
		{"path", ci.LogQuery{Path: "dir/sub.txt"}, []string{h.c2, h.c1}, 2},
		{"literal path", ci.LogQuery{Path: "*.txt"}, nil, 0},
		{"since after all", ci.LogQuery{Since: at("2024-01-04T00:00:00Z")}, nil, 0},
		{"since far in the future", ci.LogQuery{Since: at("2999-01-01T00:00:00Z")}, nil, 0},
		{"until before all", ci.LogQuery{Until: at("2024-01-02T00:00:00Z")}, nil, 0},
		{"within", ci.LogQuery{Ref: "side", Since: at("2024-01-02T00:00:00Z"), Until: at("2024-01-04T00:00:00Z")}, []string{h.side, h.c1}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, total, err := h.r.Log(ctx, 1, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, c := range cs {
				got = append(got, c.SHA)
			}
			if len(got) > 2 && got[1] == h.c2 {
				got[1], got[2] = got[2], got[1]
			} else if len(got) == 2 && got[0] == h.c2 && got[1] == h.side {
				got[0], got[1] = got[1], got[0]
			}
			if !reflect.DeepEqual(got, tt.want) || total != tt.total {
				t.Errorf("Log = %v (total %d), want %v (%d)", got, total, tt.want, tt.total)
			}
		})
	}
	if _, _, err := h.r.Log(ctx, 1, ci.LogQuery{Until: at("1973-01-01T00:00:00Z")}); ci.KindOf(err) != ci.KindInvalid {
		t.Errorf("Log(until 1973) = %v, want invalid (git would misread the date)", err)
	}
	if _, _, err := h.r.Log(ctx, 1, ci.LogQuery{Ref: "nope"}); !ci.IsNotFound(err) {
		t.Errorf("Log(unknown ref) = %v, want not found", err)
	}
	// c2 changes one line of .gitlab-ci.yml and deletes dir/sub.txt.
	if st, err := h.r.Stats(ctx, 1, h.c2); err != nil || st != (ci.CommitStats{Additions: 1, Deletions: 2}) {
		t.Errorf("Stats(c2) = %+v, %v; want 1 addition, 2 deletions", st, err)
	}
	// The root commit against the empty tree: three files of one line
	// each (big.txt has no newline but is one line).
	if st, err := h.r.Stats(ctx, 1, h.c1); err != nil || st.Additions != 4 || st.Deletions != 0 {
		t.Errorf("Stats(c1) = %+v, %v; want 4 additions", st, err)
	}
	if c, err := h.r.GitCommit(ctx, 1, "v2"); err != nil || c.SHA != h.c2 || c.Title != "Second" || !reflect.DeepEqual(c.ParentSHAs, []string{h.c1}) {
		t.Errorf("GitCommit(v2) = %+v, %v", c, err)
	}
}

func TestTree(t *testing.T) {
	h := mustHistory(t)
	ctx := context.Background()
	paths := func(pg *ci.TreePage) []string {
		var out []string
		for _, e := range pg.Entries {
			out = append(out, e.Type+":"+e.Path)
		}
		return out
	}
	tests := []struct {
		name      string
		rev, path string
		recursive bool
		skip, lim int
		want      []string
		total     int
	}{
		{"root", h.c1, "", false, 0, 0, []string{"blob:.gitlab-ci.yml", "blob:big.txt", "tree:dir"}, 3},
		{"recursive", h.c1, "/", true, 0, 0, []string{"blob:.gitlab-ci.yml", "blob:big.txt", "tree:dir", "blob:dir/sub.txt"}, 4},
		{"subdirectory", h.c1, "dir/", false, 0, 0, []string{"blob:dir/sub.txt"}, 1},
		{"page", h.c1, "", true, 1, 2, []string{"blob:big.txt", "tree:dir"}, 4},
		{"branch", "side", "", false, 0, 0, []string{"blob:.gitlab-ci.yml", "blob:big.txt", "tree:dir", "blob:side.txt"}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pg, err := h.r.Tree(ctx, 1, tt.rev, tt.path, tt.recursive, tt.skip, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if got := paths(pg); !reflect.DeepEqual(got, tt.want) || pg.Total != tt.total {
				t.Errorf("Tree = %v (total %d), want %v (%d)", got, pg.Total, tt.want, tt.total)
			}
		})
	}
	if pg, _ := h.r.Tree(ctx, 1, h.c1, "dir", false, 0, 0); pg.Entries[0].Name != "sub.txt" || pg.Entries[0].Mode != "100644" || len(pg.Entries[0].ID) != 40 {
		t.Errorf("entry = %+v", pg.Entries[0])
	}
	for name, path := range map[string]string{"missing": "nope", "a file": "big.txt", "gone": "dir"} {
		rev := h.c1
		if name == "gone" {
			rev = h.c2
		}
		if _, err := h.r.Tree(ctx, 1, rev, path, false, 0, 0); !ci.IsNotFound(err) {
			t.Errorf("Tree(%s) = %v, want not found", name, err)
		}
	}
	if _, err := h.r.Tree(ctx, 1, h.c1, "../x", false, 0, 0); ci.KindOf(err) != ci.KindInvalid {
		t.Errorf("Tree(../x) = %v, want invalid", err)
	}
	h.r.MaxTreeEntries = 2
	pg, err := h.r.Tree(ctx, 1, h.c1, "", true, 0, 1)
	if err != nil || pg.Total != -1 || len(pg.Entries) != 1 {
		t.Errorf("Tree over the bound = %+v, %v; want one entry and total -1", pg, err)
	}
}

func TestFile(t *testing.T) {
	h := mustHistory(t)
	ctx := context.Background()
	f, err := h.r.File(ctx, 1, "main", "/.gitlab-ci.yml", true)
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Content) != "test:\n  script: [echo two]\n" || f.Size != int64(len(f.Content)) || f.LastCommitID != h.c2 ||
		f.CommitID != h.merge || f.Mode != "100644" || len(f.BlobID) != 40 {
		t.Errorf("File = %+v", f)
	}
	if f, err := h.r.File(ctx, 1, h.c1, "dir/sub.txt", false); err != nil || f.Content != nil || f.LastCommitID != h.c1 {
		t.Errorf("File(metadata) = %+v, %v", f, err)
	}
	for name, c := range map[string]struct {
		rev, path string
		kind      ci.Kind
	}{
		"directory":   {h.c1, "dir", ci.KindNotFound},
		"deleted":     {"main", "dir/sub.txt", ci.KindNotFound},
		"unknown ref": {"nope", "big.txt", ci.KindNotFound},
		"escape":      {"main", "dir/../big.txt", ci.KindInvalid},
	} {
		if _, err := h.r.File(ctx, 1, c.rev, c.path, true); ci.KindOf(err) != c.kind {
			t.Errorf("File(%s) = %v, want %s", name, err, c.kind)
		}
	}
	h.r.MaxBlobSize = 100
	if _, err := h.r.File(ctx, 1, "main", "big.txt", true); ci.KindOf(err) != ci.KindTooLarge {
		t.Errorf("File over the bound = %v, want too large", err)
	}
	if f, err := h.r.File(ctx, 1, "main", "big.txt", false); err != nil || f.Size != 101 {
		t.Errorf("metadata of a large file = %+v, %v", f, err)
	}
}

func TestCompare(t *testing.T) {
	h := mustHistory(t)
	ctx := context.Background()
	cmp, err := h.r.Compare(ctx, 1, h.c1, h.c2, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Commits) != 1 || cmp.Commits[0].SHA != h.c2 || cmp.Commit.SHA != h.c2 || cmp.SameRef || cmp.Truncated {
		t.Errorf("Compare(c1, c2) = %+v", cmp)
	}
	want := []ci.FileDiff{
		{OldPath: ".gitlab-ci.yml", NewPath: ".gitlab-ci.yml", AMode: "100644", BMode: "100644",
			Diff: "@@ -1,2 +1,2 @@\n test:\n-  script: [echo one]\n+  script: [echo two]\n"},
		{OldPath: "dir/sub.txt", NewPath: "dir/sub.txt", AMode: "100644", BMode: "000000", DeletedFile: true,
			Diff: "@@ -1 +0,0 @@\n-sub\n"},
	}
	if !reflect.DeepEqual(cmp.Diffs, want) {
		t.Errorf("Diffs =\n %+v\nwant\n %+v", cmp.Diffs, want)
	}

	// From c2 to side: side's commits not in c2; the diff from their merge
	// base (c1) unless straight.
	cmp, err = h.r.Compare(ctx, 1, h.c2, "side", false)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Commits) != 1 || cmp.Commits[0].SHA != h.side {
		t.Errorf("commits c2..side = %+v, want side", cmp.Commits)
	}
	if files := diffPaths(cmp); !reflect.DeepEqual(files, []string{"side.txt"}) {
		t.Errorf("diff from the merge base = %v, want side.txt", files)
	}
	straight, err := h.r.Compare(ctx, 1, h.c2, "side", true)
	if err != nil {
		t.Fatal(err)
	}
	if files := diffPaths(straight); !reflect.DeepEqual(files, []string{".gitlab-ci.yml", "dir/sub.txt", "side.txt"}) {
		t.Errorf("straight diff = %v", files)
	}
	if d := straight.Diffs[1]; !d.NewFile || d.DeletedFile {
		t.Errorf("dir/sub.txt from c2 to side = %+v, want a new file", d)
	}

	same, err := h.r.Compare(ctx, 1, "v2", h.c2, false)
	if err != nil || !same.SameRef || len(same.Commits) != 0 || same.Commit != nil {
		t.Errorf("Compare(same) = %+v, %v", same, err)
	}
	if _, err := h.r.Compare(ctx, 1, "nope", "main", false); !ci.IsNotFound(err) {
		t.Errorf("Compare(unknown) = %v, want not found", err)
	}

	h.r.MaxCompareCommits, h.r.MaxDiffBytes = 1, 200
	small, err := h.r.Compare(ctx, 1, "side", h.c2, true)
	if err != nil {
		t.Fatal(err)
	}
	if !small.Truncated || len(small.Commits) != 1 || small.Commits[0].SHA != h.c2 {
		t.Errorf("bounded commits = %d, truncated %v; want c2 only", len(small.Commits), small.Truncated)
	}
	if d := small.Diffs; len(d) != 3 || d[0].Diff == "" || d[0].TooLarge || !d[2].TooLarge || d[2].Diff != "" {
		t.Errorf("bounded diffs = %+v; want the first complete, the last too large", d)
	}
}

func diffPaths(c *ci.Comparison) []string {
	var out []string
	for _, d := range c.Diffs {
		out = append(out, d.NewPath)
	}
	return out
}

func TestGitCommits(t *testing.T) {
	h := mustHistory(t)
	gone := "0123456789012345678901234567890123456789"
	cs, err := h.r.GitCommits(context.Background(), 1, []string{h.c2, gone, h.c1, h.c2})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[h.c1].Title != "Initial commit" || cs[h.c2].Title != "Second" || cs[gone] != nil {
		t.Errorf("GitCommits = %v", cs)
	}
	if _, err := h.r.GitCommits(context.Background(), 1, []string{"--all"}); ci.KindOf(err) != ci.KindInvalid {
		t.Errorf("GitCommits(--all) = %v, want invalid", err)
	}
}
