package gitserve

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// PushLog lists the commits reachable from newSHA but not from oldSHA (all of
// newSHA's history when oldSHA is empty or zeros), newest first, at most
// limit of them, and how many there are in all. A push's webhook payload
// carries them.
func (r *Repos) PushLog(ctx context.Context, projectID int64, oldSHA, newSHA string, limit int) ([]*Commit, int, error) {
	dir, err := r.existing(projectID)
	if err != nil {
		return nil, 0, err
	}
	if err := validRev(newSHA); err != nil {
		return nil, 0, err
	}
	rng := []string{newSHA}
	if oldSHA != "" && strings.Trim(oldSHA, "0") != "" {
		if err := validRev(oldSHA); err != nil {
			return nil, 0, err
		}
		rng = append(rng, "^"+oldSHA)
	}
	out, err := r.run(ctx, dir, nil, append([]string{"rev-list", "--count"}, rng...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("counting commits of project %d: %w", projectID, err)
	}
	total, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return nil, 0, fmt.Errorf("counting commits of project %d: %w", projectID, err)
	}
	// One git process for all of them, not two per commit.
	out, err = r.run(ctx, dir, nil, append([]string{"log", "-z", "--format=" + commitFormat, "--max-count=" + strconv.Itoa(limit)}, rng...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("listing commits of project %d: %w", projectID, err)
	}
	gcs, err := readCommits(out)
	if err != nil {
		return nil, 0, fmt.Errorf("listing commits of project %d: %w", projectID, err)
	}
	cs := make([]*Commit, len(gcs))
	for i, c := range gcs {
		cs[i] = commitOf(c)
	}
	return cs, total, nil
}
