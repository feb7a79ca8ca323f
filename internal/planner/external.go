package planner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// CreateExternal creates the pipeline an outside system's commit status
// (POST /projects/:id/statuses/:sha) goes into when commit sha has none at
// ref, as GitLab's CreateCommitStatusService: source external, no jobs of
// its own (the status becomes its job), protected as ref is. An unknown ref
// is KindInvalid "Reference not found".
func (p *Planner) CreateExternal(ctx context.Context, proj *ci.Project, ref, sha string, userID int64) (*ci.Pipeline, error) {
	c, tag, err := p.source.ResolveRef(ctx, proj.ID, ref)
	if ci.IsNotFound(err) {
		return nil, ci.Errorf(ci.KindInvalid, "Reference not found")
	}
	if err != nil {
		return nil, fmt.Errorf("resolving ref %q: %w", ref, err)
	}
	if cs, ok := p.source.(CommitSource); ok && c.SHA != sha {
		if c, err = cs.Commit(ctx, proj.ID, sha); err != nil {
			return nil, fmt.Errorf("reading commit %s: %w", sha, err)
		}
	}
	ref = strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	pl := &ci.Pipeline{ProjectID: proj.ID, Ref: ref, Tag: tag, SHA: sha, BeforeSHA: ci.ZeroSHA, Source: ci.SourceExternal,
		UserID: userID, CommitTitle: p.opts.Limits.clip(c.Title), Status: ci.StatusCreated,
		CreatedAt: p.opts.Now().Truncate(time.Microsecond)}
	rules, err := p.store.ListProtectedRefs(ctx, proj.ID)
	if err != nil {
		return nil, fmt.Errorf("reading protected refs: %w", err)
	}
	pl.Protected = ci.RefProtected(rules, ref, tag)
	if err := p.store.CreatePipeline(ctx, pl, nil); err != nil {
		return nil, fmt.Errorf("creating external pipeline: %w", err)
	}
	return pl, nil
}
