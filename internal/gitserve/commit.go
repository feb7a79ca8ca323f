package gitserve

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// Commit is a commit's metadata.
type Commit struct {
	SHA            string // full object name
	Title          string // first line of the message
	Message        string // full message
	AuthorName     string
	AuthorEmail    string
	AuthoredAt     time.Time // with the author's time zone
	CommitterName  string
	CommitterEmail string
	CommittedAt    time.Time // with the committer's time zone
	ParentSHAs     []string  // empty for a root commit
}

// commitFormat separates the fields git log prints with NULs; the message,
// which may contain anything but NUL, comes last.
const commitFormat = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B"

// Commit resolves rev (a full or abbreviated sha, a branch, a tag or any
// revision git understands) to the commit it names. A rev naming no commit
// is KindNotFound, a missing repository KindNotFound.
func (r *Repos) Commit(ctx context.Context, projectID int64, rev string) (*Commit, error) {
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
		return nil, fmt.Errorf("reading commit %s of project %d: %w", sha, projectID, err)
	}
	if cs[sha] == nil {
		return nil, fmt.Errorf("reading commit %s of project %d: git log printed no commit", sha, projectID)
	}
	return commitOf(cs[sha]), nil
}

// commitOf is c (as readCommits parses git log) with its message ending
// in one newline ("" when blank) and its title that message's first line.
func commitOf(c *ci.GitCommit) *Commit {
	msg := strings.TrimRight(c.Message, "\n") + "\n"
	if strings.TrimSpace(c.Message) == "" {
		msg = ""
	}
	title, _, _ := strings.Cut(msg, "\n")
	return &Commit{SHA: c.SHA, Title: title, Message: msg, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail,
		AuthoredAt: c.AuthoredAt, CommitterName: c.CommitterName, CommitterEmail: c.CommitterEmail,
		CommittedAt: c.CommittedAt, ParentSHAs: c.ParentSHAs}
}

// resolveCommit returns the full sha of the commit rev names, KindNotFound if none.
func (r *Repos) resolveCommit(ctx context.Context, dir, rev string) (string, error) {
	if err := validRev(rev); err != nil {
		return "", err
	}
	out, err := r.run(ctx, dir, nil, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			// --verify exits 1 for a name that resolves to no commit
			// (unknown, or another type of object); 128 is a real failure.
			return "", ci.Errorf(ci.KindNotFound, "commit %q not found", rev)
		}
		return "", fmt.Errorf("resolving %q: %w", rev, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ResolveRef returns the commit a branch or tag points at (annotated tags are
// peeled) and whether ref is a tag. ref is a short name ("main", "v1.0") or a
// full one ("refs/heads/main", "refs/tags/v1.0"); when a branch and a tag
// share a short name the branch wins. An unknown ref is KindNotFound.
func (r *Repos) ResolveRef(ctx context.Context, projectID int64, ref string) (sha string, tag bool, err error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return "", false, err
	}
	if err := validRefName(ref); err != nil {
		return "", false, err
	}
	candidates := []string{"refs/heads/" + ref, "refs/tags/" + ref}
	if strings.HasPrefix(ref, "refs/heads/") || strings.HasPrefix(ref, "refs/tags/") {
		candidates = []string{ref}
	}
	args := []string{"for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)%00%(objecttype)%00%(*objecttype)", "--"}
	args = append(args, candidates...)
	out, err := r.run(ctx, dir, nil, args...)
	if err != nil {
		return "", false, fmt.Errorf("resolving ref %q of project %d: %w", ref, projectID, err)
	}
	found := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) == 5 {
			found[f[0]] = f
		}
	}
	for _, name := range candidates {
		f, ok := found[name]
		if !ok {
			continue
		}
		sha, typ := f[1], f[3]
		if f[2] != "" { // an annotated tag, peeled once
			sha, typ = f[2], f[4]
		}
		if typ != "commit" {
			// A tag of a tag, or of a tree: let git peel it all the way.
			if sha, err = r.resolveCommit(ctx, dir, name); err != nil {
				return "", false, err
			}
		}
		return sha, strings.HasPrefix(name, "refs/tags/"), nil
	}
	return "", false, ci.Errorf(ci.KindNotFound, "ref %q not found", ref)
}

// ReadFile returns the content of the file at path in the commit sha (or any
// revision). A missing commit or file is KindNotFound; a directory, or a file
// larger than MaxReadFileSize, is KindInvalid.
func (r *Repos) ReadFile(ctx context.Context, projectID int64, sha, path string) ([]byte, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, err
	}
	path = strings.TrimPrefix(path, "/")
	if path == "" || strings.ContainsAny(path, "\x00\n\r") {
		return nil, ci.Errorf(ci.KindInvalid, "invalid file path %q", path)
	}
	commit, err := r.resolveCommit(ctx, dir, sha)
	if err != nil {
		return nil, err
	}
	limit := r.MaxReadFileSize
	if limit <= 0 {
		limit = DefaultMaxReadFileSize
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // kills cat-file if we stop reading early
	cmd := r.command(ctx, dir, "cat-file", "--batch")
	cmd.Stdin = strings.NewReader(commit + ":" + path + "\n")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	data, readErr := readBatchBlob(bufio.NewReader(stdout), path, limit)
	if readErr != nil {
		cancel()
		_ = cmd.Wait()
		return nil, readErr
	}
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("reading %s at %s: %w", path, commit, err)
	}
	return data, nil
}

// readBatchBlob reads one `git cat-file --batch` answer: "<oid> <type> <size>\n<content>\n"
// or "<name> missing\n".
func readBatchBlob(br *bufio.Reader, path string, limit int64) ([]byte, error) {
	header, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	f := strings.Fields(header)
	if len(f) != 3 {
		// "missing", "ambiguous" and the like.
		return nil, ci.Errorf(ci.KindNotFound, "file %q not found", path)
	}
	switch f[1] {
	case "blob":
	case "tree":
		return nil, ci.Errorf(ci.KindInvalid, "%q is a directory", path)
	default:
		return nil, ci.Errorf(ci.KindNotFound, "file %q not found", path)
	}
	size, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("reading %s: parsing size %q: %w", path, f[2], err)
	}
	if size > limit {
		return nil, ci.Errorf(ci.KindInvalid, "file %q is larger than %d bytes", path, limit)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(br, data); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return data, nil
}

// validRev rejects revisions that could be mistaken for options or that
// would break cat-file's line-based input.
func validRev(rev string) error {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, "\x00\n\r") {
		return ci.Errorf(ci.KindInvalid, "invalid revision %q", rev)
	}
	return nil
}

// BlobID returns the git object id of the file at path in the commit sha,
// without reading its content (any size). KindNotFound if the commit or
// the file is missing, or path is not a file.
func (r *Repos) BlobID(ctx context.Context, projectID int64, sha, path string) (string, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return "", err
	}
	path = strings.TrimPrefix(path, "/")
	if path == "" || strings.ContainsAny(path, "\x00\n\r") {
		return "", ci.Errorf(ci.KindInvalid, "invalid file path %q", path)
	}
	commit, err := r.resolveCommit(ctx, dir, sha)
	if err != nil {
		return "", err
	}
	out, err := r.run(ctx, dir, []byte(commit+":"+path+"\n"), "cat-file", "--batch-check")
	if err != nil {
		return "", fmt.Errorf("looking up %s: %w", path, err)
	}
	// "<id> blob <size>", or "<name> missing".
	f := strings.Fields(string(out))
	if len(f) != 3 || f[1] != "blob" {
		return "", ci.Errorf(ci.KindNotFound, "file %q not found", path)
	}
	return f[0], nil
}
