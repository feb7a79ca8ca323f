package main

import (
	"context"
	"fmt"

	"github.com/batonci/baton/internal/ci"
)

// BranchDefaults configure how new projects' default branches are
// protected (GitLab's instance setting "Default branch protection").
type BranchDefaults struct {
	DefaultBranchProtection string // --default-branch-protection: a level's name or GitLab's number
	branchProtection        ci.BranchProtection
}

// bindBranchDefaults registers the default branch flags.
func (c *Config) bindBranchDefaults(b flagBinder) {
	b.str(&c.DefaultBranchProtection, "default-branch-protection", "BATON_DEFAULT_BRANCH_PROTECTION", ci.DefaultBranchProtection.String(),
		"how the first push protects a new project's default branch: none, partial (Developers push), full (Maintainers push), protected_against_pushes (Maintainers push, Developers merge) or full_after_initial_push (full, a Developer may make the first push); GitLab's 0-4 too")
}

// check reads --default-branch-protection.
func (b *BranchDefaults) check() error {
	p, err := ci.ParseBranchProtection(b.DefaultBranchProtection)
	if err != nil {
		return fmt.Errorf("--default-branch-protection: %s", ci.MessageOf(err))
	}
	b.branchProtection = p
	return nil
}

// protectDefaultBranch protects a project's new default branch as the
// instance's default branch protection says, unless a rule already
// protects it (GitLab's ProtectDefaultBranchService). The planner calls it
// when the first push sets the default branch, before that push's
// pipeline is created, so the pipeline is on a protected ref.
func (m *Main) protectDefaultBranch(ctx context.Context, proj *ci.Project, branch string) {
	rule := m.Config.branchProtection.Rule(proj.ID, branch)
	if rule == nil {
		return
	}
	log := m.Logger.With("project_id", proj.ID, "branch", branch)
	rules, err := m.Store.ListProtectedRefs(ctx, proj.ID)
	if err != nil {
		log.ErrorContext(ctx, "protecting the default branch: reading protected branches", "err", err)
		return
	}
	if ci.RefProtected(rules, branch, false) {
		return
	}
	if err := m.Store.CreateProtectedRef(ctx, rule); err != nil && !ci.IsConflict(err) {
		log.ErrorContext(ctx, "protecting the default branch", "err", err)
	}
}
