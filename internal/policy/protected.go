package policy

import (
	"context"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// RefChange is one ref a push changes, as PushToProtectedRef sees it.
type RefChange struct {
	Name    string // short name: main, release/1, v1.0
	Tag     bool
	Created bool
	Deleted bool
	// Forced is a branch update that is not a fast-forward (only known
	// once the pushed objects are in; see PushToProtectedRef).
	Forced bool
}

// GitLab's messages for refused pushes.
const (
	msgPushProtected   = "You are not allowed to push code to protected branches on this project."
	msgDeleteProtected = "You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch, and only when the branch allows force push."
	msgForcePush       = "You are not allowed to force push code to a protected branch on this project."
	msgCreateTag       = "You are not allowed to create this tag as it is protected."
	msgChangeTag       = "You are not allowed to change existing tags on this project."
)

// pushLevel is who's level for protected refs: administrators count as
// GitLab's access level 60, which a rule may require; job tokens never
// push, so theirs is none.
func (p *Policy) pushLevel(ctx context.Context, who *auth.Principal, proj *ci.Project) (ci.AccessLevel, error) {
	switch {
	case who.IsJob():
		return ci.AccessNone, nil
	case who.Admin():
		return ci.AccessAdmin, nil
	}
	return p.Level(ctx, who, proj)
}

// PushToProtectedRef decides whether who, who may push to proj (PushCode),
// may make change given the project's protected branch and tag rules. A
// ref no rule protects is free. A protected branch takes a level at least
// one matching rule's push_access_level (0: no one) allows; deleting it or
// force-pushing to it also takes a matching rule that allows force push.
// A protected tag may be created at a matching rule's create_access_level
// and never moved or deleted by a push. The refusal is KindForbidden with
// GitLab's message, which git shows to the pusher.
func (p *Policy) PushToProtectedRef(ctx context.Context, who *auth.Principal, proj *ci.Project, rules []*ci.ProtectedRef, change RefChange) error {
	var matching []*ci.ProtectedRef
	for _, r := range rules {
		if r.Matches(change.Name, change.Tag) {
			matching = append(matching, r)
		}
	}
	if len(matching) == 0 {
		return nil
	}
	lvl, err := p.pushLevel(ctx, who, proj)
	if err != nil {
		return err
	}
	allows := func(need ci.AccessLevel) bool { return need != ci.AccessNone && lvl >= need }
	if change.Tag {
		if !change.Created {
			return ci.Errorf(ci.KindForbidden, "%s", msgChangeTag)
		}
		for _, r := range matching {
			if allows(r.CreateLevel) {
				return nil
			}
		}
		return ci.Errorf(ci.KindForbidden, "%s", msgCreateTag)
	}
	pushes, forces := false, false
	for _, r := range matching {
		if allows(r.PushLevel) {
			pushes = true
			forces = forces || r.AllowForcePush
		}
	}
	switch {
	case change.Deleted && !(pushes && forces):
		return ci.Errorf(ci.KindForbidden, "%s", msgDeleteProtected)
	case !pushes:
		return ci.Errorf(ci.KindForbidden, "%s", msgPushProtected)
	case change.Forced && !forces:
		return ci.Errorf(ci.KindForbidden, "%s", msgForcePush)
	}
	return nil
}

// msgEmptyProject is GitLab's answer to a push it refuses while the
// project has no branch yet, on one line (git shows one line per ref).
const msgEmptyProject = "A default branch (e.g. main) does not yet exist for %s. Ask a project Owner or Maintainer to create a default branch."

// PushToEmptyProject decides whether who, who may push to proj
// (PushCode), may create a branch while proj has none, under the
// instance's default branch protection: as GitLab, every branch counts as
// protected then unless protection is none; Maintainers, Owners and
// administrators may push, Developers only when prot lets them make the
// initial push; job tokens never push. The refusal is KindForbidden with
// GitLab's message.
func (p *Policy) PushToEmptyProject(ctx context.Context, who *auth.Principal, proj *ci.Project, prot ci.BranchProtection) error {
	if !prot.ProtectsEmptyProject() {
		return nil
	}
	lvl, err := p.pushLevel(ctx, who, proj)
	if err != nil {
		return err
	}
	if lvl >= ci.AccessMaintainer || (lvl >= ci.AccessDeveloper && prot.DeveloperCanInitialPush()) {
		return nil
	}
	return ci.Errorf(ci.KindForbidden, msgEmptyProject, proj.FullPath)
}
