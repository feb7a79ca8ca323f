package planner

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/batonci/baton/internal/ci"
)

// cacheKeys turns every cache:key:files of the plan into its key, as
// GitLab's key_from_files does: the prefix and, joined by "-", the SHA-1 of
// the sorted, distinct git blob ids of the listed files at the commit
// (files that are absent, or directories, left out),
// joined by "-" ("default" when none of them exists).
func (p *Planner) cacheKeys(ctx context.Context, projectID int64, sha string, plan *ci.PipelinePlan) error {
	blobIDs := map[string]string{} // path → blob id, "" when absent
	blobID := func(path string) (string, error) {
		if id, ok := blobIDs[path]; ok {
			return id, nil
		}
		id, err := p.source.BlobID(ctx, projectID, sha, strings.TrimPrefix(path, "/"))
		if ci.IsNotFound(err) {
			id, err = "", nil
		}
		if ci.KindOf(err) == ci.KindInvalid {
			return "", ci.Errorf(ci.KindInvalid, "cache:key:files %q: %s", path, ci.MessageOf(err))
		}
		if err != nil {
			return "", fmt.Errorf("looking up cache key file %s: %w", path, err)
		}
		blobIDs[path] = id
		return id, nil
	}
	for i := range plan.Jobs {
		for k := range plan.Jobs[i].Cache {
			c := &plan.Jobs[i].Cache[k]
			if len(c.KeyFiles) == 0 {
				continue
			}
			var ids []string
			for _, f := range c.KeyFiles {
				if f == "" {
					continue
				}
				id, err := blobID(f)
				if err != nil {
					return err
				}
				if id != "" {
					ids = append(ids, id)
				}
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
			digest := "default"
			if len(ids) > 0 {
				sum := sha1.Sum([]byte(strings.Join(ids, "-")))
				digest = hex.EncodeToString(sum[:])
			}
			c.Key = digest
			if c.KeyPrefix != "" {
				c.Key = c.KeyPrefix + "-" + digest
			}
			c.KeyFiles, c.KeyPrefix = nil, ""
		}
	}
	return nil
}
