package ci

import (
	"context"
	"time"
)

// GitCommit is a commit of a project's repository.
type GitCommit struct {
	SHA            string
	ParentSHAs     []string
	Title          string // first line of the message
	Message        string
	AuthorName     string
	AuthorEmail    string
	AuthoredAt     time.Time
	CommitterName  string
	CommitterEmail string
	CommittedAt    time.Time
}

// CommitStats counts a commit's changed lines against its first parent.
type CommitStats struct{ Additions, Deletions int }

// GitBranch is a branch and the commit it points at.
type GitBranch struct {
	Name   string
	Commit *GitCommit
}

// GitTag is a tag: Target is the tag object (annotated) or the commit
// (lightweight), Message the annotation ("" for lightweight tags), Commit
// the commit it peels to.
type GitTag struct {
	Name    string
	Target  string
	Message string
	Commit  *GitCommit
}

// LogQuery selects commits for Log: reachable from Ref (the default branch
// when ""), touching Path when set, committed within Since..Until when
// set; Skip and Limit page them, newest first.
type LogQuery struct {
	Ref          string
	Path         string
	Since, Until *time.Time
	Skip, Limit  int
}

// TreeEntry is one entry of a tree listing: Type blob, tree or commit
// (a submodule), Path from the repository root.
type TreeEntry struct {
	ID   string
	Name string
	Type string
	Path string
	Mode string
}

// TreePage is one page of a tree listing; Total is -1 when counting the
// entries stopped at the listing bound.
type TreePage struct {
	Entries []TreeEntry
	Total   int
}

// GitFile is a file of a commit: its blob and content.
type GitFile struct {
	Path         string
	BlobID       string
	Mode         string
	Size         int64
	Content      []byte
	CommitID     string // the commit the ref resolved to
	LastCommitID string // the newest commit that changed the file
}

// FileDiff is one file's change in a comparison. Diff is empty with
// TooLarge set when the comparison's diff bound was reached.
type FileDiff struct {
	OldPath, NewPath string
	AMode, BMode     string
	Diff             string
	NewFile          bool
	RenamedFile      bool
	DeletedFile      bool
	TooLarge         bool
}

// Comparison is what changed from one revision to another: the commits
// reachable from To but not From (oldest first), the diff between their
// merge base and To (or From and To when Straight), and the newest commit.
type Comparison struct {
	Commits   []*GitCommit
	Diffs     []FileDiff
	Commit    *GitCommit // To's commit, nil when From and To are the same
	SameRef   bool
	Truncated bool // Commits or Diffs stopped at a bound
}

// CodeReader reads a project's repository for the API. A missing
// repository, ref, commit or path is KindNotFound; an invalid name
// KindInvalid; a file over the blob bound KindTooLarge.
type CodeReader interface {
	// ListBranches lists branches by name (those containing search, when
	// set), skip then at most limit, with their total.
	ListBranches(ctx context.Context, projectID int64, search string, skip, limit int) ([]GitBranch, int, error)
	Branch(ctx context.Context, projectID int64, name string) (*GitBranch, error)
	// ListTags lists tags, newest first, like ListBranches.
	ListTags(ctx context.Context, projectID int64, search string, skip, limit int) ([]GitTag, int, error)
	Tag(ctx context.Context, projectID int64, name string) (*GitTag, error)
	// Log lists commits, newest first, and how many the query selects.
	Log(ctx context.Context, projectID int64, q LogQuery) ([]*GitCommit, int, error)
	// GitCommit resolves rev to its commit.
	GitCommit(ctx context.Context, projectID int64, rev string) (*GitCommit, error)
	// GitCommits reads several commits by full sha at once; shas naming no
	// commit are absent from the map.
	GitCommits(ctx context.Context, projectID int64, shas []string) (map[string]*GitCommit, error)
	Stats(ctx context.Context, projectID int64, sha string) (CommitStats, error)
	// Tree lists the tree at path in rev (recursive: every entry below it),
	// skip entries then at most limit.
	Tree(ctx context.Context, projectID int64, rev, path string, recursive bool, skip, limit int) (*TreePage, error)
	// File reads a file at rev; withContent false reads only its metadata.
	File(ctx context.Context, projectID int64, rev, path string, withContent bool) (*GitFile, error)
	// Compare compares from with to; straight compares them directly
	// rather than from their merge base.
	Compare(ctx context.Context, projectID int64, from, to string, straight bool) (*Comparison, error)
	// DefaultBranch is the branch HEAD points at.
	DefaultBranch(ctx context.Context, projectID int64) (string, error)
}
