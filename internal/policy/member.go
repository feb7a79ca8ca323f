package policy

import (
	"cmp"
	"context"
	"slices"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
)

// Membership is one change of a membership, for Grant and Revoke: the
// caller's level on the project or group, the member's level before (0 for
// a new member) and after (0 for a removal), and whether the member is the
// caller.
type Membership struct {
	CallerLevel ci.AccessLevel
	Admin       bool
	From, To    ci.AccessLevel
}

// ChangeMember applies GitLab's rules for changing a membership, after the
// caller passed AdminMembers or AdminGroupMembers: nobody grants a level
// above their own; only Owners grant, change or remove Owner; the last
// Owner cannot be removed or demoted (owners counts them, including the
// member being changed). Administrators may do anything but remove the
// last Owner.
func ChangeMember(m Membership, owners int) error {
	if m.From == ci.AccessOwner && m.To != ci.AccessOwner && owners <= 1 {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - the last owner cannot be removed or demoted; add another owner first")
	}
	if m.Admin {
		return nil
	}
	if m.To > m.CallerLevel {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - you cannot grant an access level (%d) above your own (%d)", m.To, m.CallerLevel)
	}
	if (m.To == ci.AccessOwner || m.From == ci.AccessOwner) && m.CallerLevel < ci.AccessOwner {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - only owners can grant, change or remove the Owner role")
	}
	if m.From > m.CallerLevel {
		return ci.Errorf(ci.KindForbidden, "403 Forbidden - you cannot change a member whose access level (%d) is above your own (%d)", m.From, m.CallerLevel)
	}
	return nil
}

// Caller fills the caller half of a Membership for a project.
func (p *Policy) Caller(ctx context.Context, who *auth.Principal, proj *ci.Project) (Membership, error) {
	lvl, err := p.Level(ctx, who, proj)
	return Membership{CallerLevel: lvl, Admin: who.Admin()}, err
}

// GroupCaller fills the caller half of a Membership for a group.
func (p *Policy) GroupCaller(ctx context.Context, who *auth.Principal, ns *ci.Namespace) (Membership, error) {
	lvl, err := p.NamespaceLevel(ctx, who, ns)
	return Membership{CallerLevel: lvl, Admin: who.Admin()}, err
}

// EffectiveMembers merges direct and inherited memberships (a project's
// own members, its ancestor groups' members, the owner of its personal
// namespace) into one per user at the highest level any of them grants,
// as GitLab's members/all shows them, ordered by user id.
func EffectiveMembers(lists ...[]*ci.Member) []*ci.Member {
	best := map[int64]*ci.Member{}
	for _, list := range lists {
		for _, m := range list {
			if b, ok := best[m.UserID]; !ok || m.AccessLevel > b.AccessLevel {
				best[m.UserID] = m
			}
		}
	}
	out := make([]*ci.Member, 0, len(best))
	for _, m := range best {
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *ci.Member) int { return cmp.Compare(a.UserID, b.UserID) })
	return out
}
