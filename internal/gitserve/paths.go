package gitserve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ChangedPaths lists the paths that differ between the commits from and
// to (a renamed file by both its names, as GitLab's diff_stats paths), at
// most max of them: complete is false when there were more. With
// mergeBase the diff starts at the merge base of from and to (GitLab's
// compare_to), else at from. An unknown revision is KindNotFound.
func (r *Repos) ChangedPaths(ctx context.Context, projectID int64, from, to string, mergeBase bool, max int) (paths []string, complete bool, err error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, false, err
	}
	fromSHA, err := r.resolveCommit(ctx, dir, from)
	if err != nil {
		return nil, false, err
	}
	toSHA, err := r.resolveCommit(ctx, dir, to)
	if err != nil {
		return nil, false, err
	}
	if mergeBase {
		out, err := r.run(ctx, dir, nil, "merge-base", fromSHA, toSHA)
		if err != nil {
			// Unrelated histories: GitLab then has no base either and
			// compares nothing.
			return []string{}, true, nil
		}
		fromSHA = strings.TrimSpace(string(out))
	}
	return r.records(ctx, dir, max, "diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", "--no-textconv", fromSHA, toSHA, "--")
}

// ListPaths lists the paths of the files (and submodules) of the tree at
// rev, recursively, at most max of them: complete is false when
// there were more. An unknown revision is KindNotFound.
func (r *Repos) ListPaths(ctx context.Context, projectID int64, rev string, max int) (paths []string, complete bool, err error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, false, err
	}
	sha, err := r.resolveCommit(ctx, dir, rev)
	if err != nil {
		return nil, false, err
	}
	return r.records(ctx, dir, max, "ls-tree", "-r", "-z", "--name-only", "--full-tree", sha)
}

// records runs git in dir and reads its NUL-ended output records, at most
// max of them: git is stopped as soon as one more arrives (complete false).
func (r *Repos) records(ctx context.Context, dir string, max int, args ...string) ([]string, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops git when we stop reading
	cmd := r.command(ctx, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, false, err
	}
	if err := cmd.Start(); err != nil {
		return nil, false, fmt.Errorf("git %s: %w", args[0], err)
	}
	br := bufio.NewReader(stdout)
	out := []string{}
	complete := true
	for {
		rec, err := br.ReadString(0)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, fmt.Errorf("git %s: %w", args[0], err)
		}
		if len(out) >= max {
			complete = false
			cancel()
			break
		}
		out = append(out, strings.TrimSuffix(rec, "\x00"))
	}
	if werr := cmd.Wait(); complete && werr != nil {
		return nil, false, fmt.Errorf("git %s: %w: %s", args[0], werr, strings.TrimSpace(stderr.String()))
	}
	return out, complete, nil
}
