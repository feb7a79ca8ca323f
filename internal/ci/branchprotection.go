package ci

import "strings"

// BranchProtection is the instance's default branch protection (GitLab's
// default_branch_protection): the rule the first push that creates a
// project's default branch protects it with, and who may push to a
// project that has no branch yet.
type BranchProtection int

// GitLab's levels, with its numbers (the application setting's values).
const (
	// ProtectionNone: not protected; Developers push, force-push, delete.
	ProtectionNone BranchProtection = 0
	// ProtectionPartial: Developers push, Maintainers merge, no force push.
	ProtectionPartial BranchProtection = 1
	// ProtectionFull: Maintainers push and merge, no force push (GitLab's
	// default).
	ProtectionFull BranchProtection = 2
	// ProtectionAgainstPushes: Maintainers push, Developers merge.
	ProtectionAgainstPushes BranchProtection = 3
	// ProtectionFullAfterInitialPush: as full, but a Developer may make
	// the push that creates the default branch.
	ProtectionFullAfterInitialPush BranchProtection = 4
)

// DefaultBranchProtection is GitLab's default: fully protected.
const DefaultBranchProtection = ProtectionFull

var protectionNames = []string{"none", "partial", "full", "protected_against_pushes", "full_after_initial_push"}

// String is the level's name as --default-branch-protection takes it.
func (b BranchProtection) String() string {
	if b < 0 || int(b) >= len(protectionNames) {
		return "invalid"
	}
	return protectionNames[b]
}

// ParseBranchProtection reads a level by its name or GitLab's number (0-4).
func ParseBranchProtection(s string) (BranchProtection, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	for i, n := range protectionNames {
		if s == n || s == string(rune('0'+i)) {
			return BranchProtection(i), nil
		}
	}
	return 0, Errorf(KindInvalid, "default branch protection %q: want one of %s (or GitLab's 0-4)", s, strings.Join(protectionNames, ", "))
}

// Rule is the protected branch rule b gives a project's new default
// branch, nil for none (GitLab's ProtectDefaultBranchService).
func (b BranchProtection) Rule(projectID int64, branch string) *ProtectedRef {
	r := &ProtectedRef{ProjectID: projectID, Name: branch, PushLevel: AccessMaintainer, MergeLevel: AccessMaintainer}
	switch b {
	case ProtectionPartial:
		r.PushLevel = AccessDeveloper
	case ProtectionFull, ProtectionFullAfterInitialPush:
	case ProtectionAgainstPushes:
		r.MergeLevel = AccessDeveloper
	default:
		return nil
	}
	return r
}

// ProtectsEmptyProject reports whether, while a project has no branch,
// its branches count as protected (GitLab: every level but none).
func (b BranchProtection) ProtectsEmptyProject() bool { return b != ProtectionNone }

// DeveloperCanInitialPush reports whether a Developer may make the push
// that creates a project's first branch (partial: Developers push anyway;
// full_after_initial_push). Maintainers and administrators always may.
func (b BranchProtection) DeveloperCanInitialPush() bool {
	return b == ProtectionNone || b == ProtectionPartial || b == ProtectionFullAfterInitialPush
}
