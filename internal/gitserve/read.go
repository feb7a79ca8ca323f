package gitserve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Bounds of the repository reads the API serves, when the Repos fields
// that override them are zero.
const (
	DefaultMaxBlobSize       = 10 << 20    // bytes of one file served by File
	DefaultMaxTreeEntries    = 100_000     // entries one tree listing reads
	DefaultMaxCompareCommits = 1000        // commits one comparison lists
	DefaultMaxDiffBytes      = 1 << 20     // patch bytes one comparison reads
	maxCompareFiles          = 1000        // files one comparison lists (GitLab's diff_max_files)
	minGitDate               = 100_000_000 // the first epoch second git's --since/--until read as one (1973-03-03)
)

var _ ci.CodeReader = (*Repos)(nil)

// readCommits parses `git log -z` output in commitFormat: nine NUL-ended
// fields per commit.
func readCommits(out []byte) ([]*ci.GitCommit, error) {
	f := strings.Split(string(out), "\x00")
	if n := len(f); n > 0 && f[n-1] == "" {
		f = f[:n-1]
	}
	if len(f)%9 != 0 {
		return nil, fmt.Errorf("unexpected git log output (%d fields)", len(f))
	}
	var cs []*ci.GitCommit
	for i := 0; i < len(f); i += 9 {
		c := &ci.GitCommit{SHA: strings.TrimLeft(f[i], "\n"), ParentSHAs: strings.Fields(f[i+1]), AuthorName: f[i+2],
			AuthorEmail: f[i+3], CommitterName: f[i+5], CommitterEmail: f[i+6], Message: f[i+8]}
		c.Title, _, _ = strings.Cut(strings.TrimLeft(c.Message, "\n"), "\n")
		var err error
		if c.AuthoredAt, err = time.Parse(time.RFC3339, f[i+4]); err != nil {
			return nil, fmt.Errorf("parsing author date of %s: %w", c.SHA, err)
		}
		if c.CommittedAt, err = time.Parse(time.RFC3339, f[i+7]); err != nil {
			return nil, fmt.Errorf("parsing committer date of %s: %w", c.SHA, err)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// commitsBySHA reads the given commits (in one git process), keyed by sha.
func (r *Repos) commitsBySHA(ctx context.Context, dir string, shas []string) (map[string]*ci.GitCommit, error) {
	out := map[string]*ci.GitCommit{}
	if len(shas) == 0 {
		return out, nil
	}
	for _, sha := range shas {
		if err := validRev(sha); err != nil {
			return nil, err
		}
	}
	// --ignore-missing: a sha that is gone (force push, gc) is left out
	// rather than failing the others.
	args := append([]string{"log", "-z", "--no-walk=unsorted", "--ignore-missing", "--format=" + commitFormat}, shas...)
	data, err := r.run(ctx, dir, nil, args...)
	if err != nil {
		return nil, fmt.Errorf("reading commits: %w", err)
	}
	cs, err := readCommits(data)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		out[c.SHA] = c
	}
	return out, nil
}

// GitCommits reads the commits of the given full shas in one git process;
// shas naming no commit are absent from the map.
func (r *Repos) GitCommits(ctx context.Context, projectID int64, shas []string) (map[string]*ci.GitCommit, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	return r.commitsBySHA(ctx, dir, shas)
}

// GitCommit resolves rev to its commit.
func (r *Repos) GitCommit(ctx context.Context, projectID int64, rev string) (*ci.GitCommit, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	sha, err := r.resolveCommit(ctx, dir, rev)
	if err != nil {
		return nil, err
	}
	cs, err := r.commitsBySHA(ctx, dir, []string{sha})
	if err != nil {
		return nil, err
	}
	return cs[sha], nil
}

// DefaultBranch is the branch HEAD points at.
func (r *Repos) DefaultBranch(ctx context.Context, projectID int64) (string, error) {
	return r.HEAD(ctx, projectID)
}

// refEntry is a ref's short name and the commit it peels to.
type refEntry struct{ name, target, commit, message string }

// refs lists refs below prefix (refs/heads/ or refs/tags/) whose short name
// contains search, in git's order for sort.
func (r *Repos) refs(ctx context.Context, dir, prefix, search, sortKey string) ([]refEntry, error) {
	format := "%(refname)%00%(objectname)%00%(*objectname)%00%(contents)%00"
	out, err := r.run(ctx, dir, nil, "for-each-ref", "--sort="+sortKey, "--format="+format, prefix)
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	f := strings.Split(string(out), "\x00")
	var refs []refEntry
	for i := 0; i+4 < len(f); i += 4 {
		name := strings.TrimPrefix(strings.TrimLeft(f[i], "\n"), prefix)
		if search != "" && !strings.Contains(name, search) {
			continue
		}
		e := refEntry{name: name, target: f[i+1], commit: f[i+1]}
		if f[i+2] != "" { // an annotated tag
			e.commit, e.message = f[i+2], strings.TrimRight(f[i+3], "\n")
		}
		refs = append(refs, e)
	}
	return refs, nil
}

// page cuts list to skip, limit.
func page[T any](list []T, skip, limit int) []T {
	if skip >= len(list) {
		return nil
	}
	list = list[skip:]
	if limit > 0 && limit < len(list) {
		list = list[:limit]
	}
	return list
}

// withCommits loads the commits of refs; a ref whose target is not a
// commit (a tag of a tree) is left without one.
func (r *Repos) withCommits(ctx context.Context, dir string, refs []refEntry) (map[string]*ci.GitCommit, error) {
	var shas []string
	for _, e := range refs {
		shas = append(shas, e.commit)
	}
	cs, err := r.commitsBySHA(ctx, dir, shas)
	if err != nil {
		// One ref of a non-commit spoils the batch: read them one by one.
		cs = map[string]*ci.GitCommit{}
		for _, sha := range shas {
			if one, err := r.commitsBySHA(ctx, dir, []string{sha}); err == nil {
				cs[sha] = one[sha]
			}
		}
	}
	return cs, nil
}

// ListBranches lists branches by name, with their commits.
func (r *Repos) ListBranches(ctx context.Context, projectID int64, search string, skip, limit int) ([]ci.GitBranch, int, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, 0, err
	}
	refs, err := r.refs(ctx, dir, "refs/heads/", search, "refname")
	if err != nil {
		return nil, 0, err
	}
	pg := page(refs, skip, limit)
	cs, err := r.withCommits(ctx, dir, pg)
	if err != nil {
		return nil, 0, err
	}
	out := make([]ci.GitBranch, 0, len(pg))
	for _, e := range pg {
		out = append(out, ci.GitBranch{Name: e.name, Commit: cs[e.commit]})
	}
	return out, len(refs), nil
}

// Branch returns one branch; KindNotFound if there is none.
func (r *Repos) Branch(ctx context.Context, projectID int64, name string) (*ci.GitBranch, error) {
	if err := validRefName(name); err != nil {
		return nil, err
	}
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	sha, err := r.refTarget(ctx, dir, "refs/heads/"+name)
	if err != nil {
		return nil, err
	}
	if sha == "" {
		return nil, ci.Errorf(ci.KindNotFound, "branch %q not found", name)
	}
	cs, err := r.commitsBySHA(ctx, dir, []string{sha})
	if err != nil {
		return nil, err
	}
	return &ci.GitBranch{Name: name, Commit: cs[sha]}, nil
}

// ListTags lists tags, newest (by creation date) first, with their commits.
func (r *Repos) ListTags(ctx context.Context, projectID int64, search string, skip, limit int) ([]ci.GitTag, int, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, 0, err
	}
	refs, err := r.refs(ctx, dir, "refs/tags/", search, "-creatordate")
	if err != nil {
		return nil, 0, err
	}
	pg := page(refs, skip, limit)
	cs, err := r.withCommits(ctx, dir, pg)
	if err != nil {
		return nil, 0, err
	}
	out := make([]ci.GitTag, 0, len(pg))
	for _, e := range pg {
		out = append(out, ci.GitTag{Name: e.name, Target: e.target, Message: e.message, Commit: cs[e.commit]})
	}
	return out, len(refs), nil
}

// Tag returns one tag; KindNotFound if there is none.
func (r *Repos) Tag(ctx context.Context, projectID int64, name string) (*ci.GitTag, error) {
	if err := validRefName(name); err != nil {
		return nil, err
	}
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	refs, err := r.refs(ctx, dir, "refs/tags/"+name, "", "refname")
	if err != nil {
		return nil, err
	}
	for _, e := range refs {
		if e.name == "" { // the pattern matched the tag itself
			cs, err := r.withCommits(ctx, dir, []refEntry{e})
			if err != nil {
				return nil, err
			}
			return &ci.GitTag{Name: name, Target: e.target, Message: e.message, Commit: cs[e.commit]}, nil
		}
	}
	return nil, ci.Errorf(ci.KindNotFound, "tag %q not found", name)
}

// logArgs are the revision and filter arguments of q, after rev was
// resolved to a commit.
func logArgs(q ci.LogQuery, sha string) []string {
	// Seconds since the epoch ("@N"): git's date parser silently ignores
	// some calendar dates (years after 2099), which would drop the filter.
	epoch := func(t time.Time) string { return "@" + strconv.FormatInt(t.Unix(), 10) }
	var args []string
	if q.Since != nil {
		args = append(args, "--since="+epoch(*q.Since))
	}
	if q.Until != nil {
		args = append(args, "--until="+epoch(*q.Until))
	}
	args = append(args, sha, "--")
	if q.Path != "" {
		args = append(args, q.Path)
	}
	return args
}

// Log lists the commits q selects, newest first, and their number.
func (r *Repos) Log(ctx context.Context, projectID int64, q ci.LogQuery) ([]*ci.GitCommit, int, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, 0, err
	}
	rev := q.Ref
	if rev == "" {
		rev = "HEAD"
	}
	if err := validPath(q.Path); err != nil {
		return nil, 0, err
	}
	for _, t := range []*time.Time{q.Since, q.Until} {
		// git reads smaller numbers as other date forms, not as seconds.
		if t != nil && t.Unix() < minGitDate {
			return nil, 0, ci.Errorf(ci.KindInvalid, "dates before 1973-03-03 are not supported")
		}
	}
	sha, err := r.resolveCommit(ctx, dir, rev)
	if err != nil {
		return nil, 0, err
	}
	args := []string{"--literal-pathspecs", "log", "-z", "--format=" + commitFormat, "--skip=" + strconv.Itoa(q.Skip)}
	if q.Limit > 0 {
		args = append(args, "--max-count="+strconv.Itoa(q.Limit))
	}
	out, err := r.run(ctx, dir, nil, append(args, logArgs(q, sha)...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing commits: %w", err)
	}
	cs, err := readCommits(out)
	if err != nil {
		return nil, 0, err
	}
	count, err := r.run(ctx, dir, nil, append([]string{"--literal-pathspecs", "rev-list", "--count"}, logArgs(q, sha)...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("counting commits: %w", err)
	}
	total, err := strconv.Atoi(strings.TrimSpace(string(count)))
	if err != nil {
		return nil, 0, fmt.Errorf("counting commits: %q", count)
	}
	return cs, total, nil
}

// Stats counts the lines sha changed against its first parent (against
// the empty tree for a root commit); binary files count nothing.
func (r *Repos) Stats(ctx context.Context, projectID int64, sha string) (ci.CommitStats, error) {
	var st ci.CommitStats
	dir, err := r.existing(projectID)
	if err != nil {
		return st, err
	}
	if sha, err = r.resolveCommit(ctx, dir, sha); err != nil {
		return st, err
	}
	out, err := r.run(ctx, dir, nil, "diff-tree", "--numstat", "-r", "--root", "--no-commit-id", "-m", "--first-parent", sha)
	if err != nil {
		return st, fmt.Errorf("counting changes of %s: %w", sha, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			continue
		}
		add, _ := strconv.Atoi(f[0]) // "-" for binary files
		del, _ := strconv.Atoi(f[1])
		st.Additions += add
		st.Deletions += del
	}
	return st, nil
}

// validPath rejects paths git would take for something else.
func validPath(p string) error {
	if strings.ContainsAny(p, "\x00\n\r") || strings.HasPrefix(p, "-") {
		return ci.Errorf(ci.KindInvalid, "invalid path %q", p)
	}
	return nil
}

// cleanTreePath turns an API path ("", "/", "dir/", "a/b") into git's
// form ("" for the root, else without leading or trailing slashes).
func cleanTreePath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if err := validPath(p); err != nil {
		return "", err
	}
	for _, seg := range strings.Split(p, "/") {
		if p != "" && (seg == "" || seg == "." || seg == "..") {
			return "", ci.Errorf(ci.KindInvalid, "invalid path %q", p)
		}
	}
	return p, nil
}

// Tree lists the entries of the tree at path in rev, streaming git's
// listing: it keeps only the requested page and stops counting at
// MaxTreeEntries (Total -1 then).
func (r *Repos) Tree(ctx context.Context, projectID int64, rev, path string, recursive bool, skip, limit int) (*ci.TreePage, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	if path, err = cleanTreePath(path); err != nil {
		return nil, err
	}
	sha, err := r.resolveCommit(ctx, dir, rev)
	if err != nil {
		return nil, err
	}
	max := r.MaxTreeEntries
	if max <= 0 {
		max = DefaultMaxTreeEntries
	}
	args := []string{"ls-tree", "-z"}
	if recursive {
		args = append(args, "-r", "-t")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops git when we stop reading
	cmd := r.command(ctx, dir, append(args, sha+":"+path)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("listing tree: %w", err)
	}
	pg := &ci.TreePage{Entries: []ci.TreeEntry{}}
	br := bufio.NewReader(stdout)
	n := 0
	for {
		rec, err := br.ReadString(0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing tree: %w", err)
		}
		if n >= max {
			n = -1
			cancel()
			break
		}
		if n >= skip && (limit <= 0 || len(pg.Entries) < limit) {
			meta, name, ok := strings.Cut(strings.TrimSuffix(rec, "\x00"), "\t")
			f := strings.Fields(meta)
			if !ok || len(f) != 3 {
				return nil, fmt.Errorf("listing tree: unexpected entry %q", rec)
			}
			full := name
			if path != "" {
				full = path + "/" + name
			}
			base := full[strings.LastIndex(full, "/")+1:]
			pg.Entries = append(pg.Entries, ci.TreeEntry{ID: f[2], Name: base, Type: f[1], Path: full, Mode: f[0]})
		}
		n++
	}
	werr := cmd.Wait()
	if n >= 0 && werr != nil {
		if strings.Contains(stderr.String(), "Not a valid object name") || strings.Contains(stderr.String(), "not a tree object") {
			return nil, ci.Errorf(ci.KindNotFound, "tree %q not found", path)
		}
		return nil, fmt.Errorf("listing tree: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	pg.Total = n
	return pg, nil
}

// File reads the file at path in rev: its blob, mode, size, the newest
// commit that changed it and, withContent, its bytes. A directory or a
// missing path is KindNotFound; a file over MaxBlobSize KindTooLarge when
// its content is asked for.
func (r *Repos) File(ctx context.Context, projectID int64, rev, path string, withContent bool) (*ci.GitFile, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	if path, err = cleanTreePath(path); err != nil {
		return nil, err
	}
	if path == "" {
		return nil, ci.Errorf(ci.KindInvalid, "file path is missing")
	}
	sha, err := r.resolveCommit(ctx, dir, rev)
	if err != nil {
		return nil, err
	}
	out, err := r.run(ctx, dir, nil, "--literal-pathspecs", "ls-tree", "-z", "-l", "--full-tree", sha, "--", path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	var f *ci.GitFile
	for _, rec := range strings.Split(string(out), "\x00") {
		meta, name, ok := strings.Cut(rec, "\t")
		fs := strings.Fields(meta)
		if !ok || name != path || len(fs) != 4 || fs[1] != "blob" {
			continue
		}
		size, err := strconv.ParseInt(fs[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("reading %s: size %q", path, fs[3])
		}
		f = &ci.GitFile{Path: path, Mode: fs[0], BlobID: fs[2], Size: size, CommitID: sha}
	}
	if f == nil {
		return nil, ci.Errorf(ci.KindNotFound, "file %q not found", path)
	}
	last, err := r.run(ctx, dir, nil, "--literal-pathspecs", "log", "-1", "--format=%H", sha, "--", path)
	if err != nil {
		return nil, fmt.Errorf("finding the last commit of %s: %w", path, err)
	}
	f.LastCommitID = strings.TrimSpace(string(last))
	if !withContent {
		return f, nil
	}
	max := r.MaxBlobSize
	if max <= 0 {
		max = DefaultMaxBlobSize
	}
	if f.Size > max {
		return nil, ci.Errorf(ci.KindTooLarge, "413 Request Entity Too Large: file %q has %d bytes, more than the %d bytes served (--max-blob-size)", path, f.Size, max)
	}
	if f.Content, err = r.run(ctx, dir, nil, "cat-file", "blob", f.BlobID); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return f, nil
}

// Compare compares two revisions as GitLab's compare does: the commits in
// to but not from, oldest first (at most MaxCompareCommits, the newest
// ones), and the diff from their merge base (from itself when straight, or
// when they have none) to to, each file's patch without its header, the
// whole patch bounded by MaxDiffBytes (later files TooLarge).
func (r *Repos) Compare(ctx context.Context, projectID int64, from, to string, straight bool) (*ci.Comparison, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	fromSHA, err := r.resolveCommit(ctx, dir, from)
	if err != nil {
		return nil, err
	}
	toSHA, err := r.resolveCommit(ctx, dir, to)
	if err != nil {
		return nil, err
	}
	cmp := &ci.Comparison{Commits: []*ci.GitCommit{}, Diffs: []ci.FileDiff{}}
	if fromSHA == toSHA {
		cmp.SameRef = true
		return cmp, nil
	}
	maxCommits := r.MaxCompareCommits
	if maxCommits <= 0 {
		maxCommits = DefaultMaxCompareCommits
	}
	out, err := r.run(ctx, dir, nil, "log", "-z", "--format="+commitFormat, "--max-count="+strconv.Itoa(maxCommits+1), toSHA, "^"+fromSHA)
	if err != nil {
		return nil, fmt.Errorf("listing commits from %s to %s: %w", from, to, err)
	}
	cs, err := readCommits(out)
	if err != nil {
		return nil, err
	}
	if len(cs) > maxCommits {
		cs, cmp.Truncated = cs[:maxCommits], true
	}
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	cmp.Commits = cs
	if cmp.Commit, err = r.GitCommit(ctx, projectID, toSHA); err != nil {
		return nil, err
	}
	base := fromSHA
	if !straight {
		if mb, err := r.run(ctx, dir, nil, "merge-base", fromSHA, toSHA); err == nil {
			base = strings.TrimSpace(string(mb))
		}
	}
	if err := r.diff(ctx, dir, base, toSHA, cmp); err != nil {
		return nil, err
	}
	return cmp, nil
}

// diff fills cmp.Diffs with the changes from base to head.
func (r *Repos) diff(ctx context.Context, dir, base, head string, cmp *ci.Comparison) error {
	raw, err := r.run(ctx, dir, nil, "diff", "--raw", "-z", "-M", "--no-ext-diff", base, head)
	if err != nil {
		return fmt.Errorf("diffing %s..%s: %w", base, head, err)
	}
	// --raw -z: ":<a mode> <b mode> <a sha> <b sha> <status>\0<path>\0[<new path>\0]"
	f := strings.Split(string(raw), "\x00")
	var paths []string
	for i := 0; i+1 < len(f); {
		meta := strings.Fields(strings.TrimPrefix(f[i], ":"))
		if len(meta) != 5 {
			return fmt.Errorf("diffing %s..%s: unexpected entry %q", base, head, f[i])
		}
		d := ci.FileDiff{AMode: meta[0], BMode: meta[1], OldPath: f[i+1], NewPath: f[i+1]}
		status := meta[4]
		i += 2
		switch status[0] {
		case 'R', 'C':
			if i >= len(f) {
				return fmt.Errorf("diffing %s..%s: truncated rename", base, head)
			}
			d.NewPath, d.RenamedFile = f[i], status[0] == 'R'
			i++
		case 'A':
			d.NewFile = true
		case 'D':
			d.DeletedFile = true
		}
		if len(cmp.Diffs) == maxCompareFiles {
			cmp.Truncated = true
			break
		}
		cmp.Diffs = append(cmp.Diffs, d)
		paths = append(paths, d.NewPath)
	}
	if len(cmp.Diffs) == 0 {
		return nil
	}
	maxBytes := r.MaxDiffBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxDiffBytes
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := r.command(ctx, dir, "diff", "-M", "--no-color", "--no-ext-diff", base, head)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("diffing %s..%s: %w", base, head, err)
	}
	patch, err := io.ReadAll(io.LimitReader(stdout, maxBytes+1))
	if err != nil {
		return fmt.Errorf("diffing %s..%s: %w", base, head, err)
	}
	complete := int64(len(patch)) <= maxBytes
	cancel()
	_ = cmd.Wait()
	// Split the patch at its "diff --git" headers: one chunk per file, in
	// the order of --raw. A chunk cut by the bound is dropped.
	chunks := splitPatch(string(patch))
	if !complete && len(chunks) > 0 {
		chunks = chunks[:len(chunks)-1]
	}
	for i := range cmp.Diffs {
		if i < len(chunks) {
			cmp.Diffs[i].Diff = hunks(chunks[i])
		} else {
			cmp.Diffs[i].TooLarge = true
			cmp.Truncated = true
		}
	}
	return nil
}

// splitPatch cuts a multi-file patch into one chunk per file.
func splitPatch(p string) []string {
	var chunks []string
	for p != "" {
		next := strings.Index(p[1:], "\ndiff --git ")
		if next < 0 {
			chunks = append(chunks, p)
			break
		}
		chunks = append(chunks, p[:next+2])
		p = p[next+2:]
	}
	return chunks
}

// hunks is a file's patch without its header lines (diff --git, index,
// ---, +++, mode and rename lines), as GitLab's diff field holds it; for
// a binary file, git's "Binary files ... differ" line.
func hunks(chunk string) string {
	if i := strings.Index(chunk, "\n@@"); i >= 0 {
		return chunk[i+1:]
	}
	for _, line := range strings.Split(chunk, "\n") {
		if strings.HasPrefix(line, "Binary files ") {
			return line + "\n"
		}
	}
	return ""
}
