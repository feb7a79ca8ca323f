package ci

import (
	"context"
	"strings"
	"time"
)

// ProtectedRef protects the branches or the tags of a project whose names
// match Name (GitLab's protected branches and protected tags; "*" in Name
// matches any run of characters, "release/*"). Pipelines of protected refs
// get protected variables.
type ProtectedRef struct {
	ID        int64
	ProjectID int64
	Tag       bool   // a protected tag rule, else a protected branch rule
	Name      string // an exact name or a wildcard pattern
	// PushLevel is the least role that may push to a matching branch
	// (push_access_level; AccessNone: no one).
	PushLevel AccessLevel
	// MergeLevel is merge_access_level (recorded; Baton has no merges).
	MergeLevel AccessLevel
	// CreateLevel is the least role that may create a matching tag
	// (create_access_level).
	CreateLevel AccessLevel
	// AllowForcePush lets whoever may push force-push a matching branch
	// and delete it by push.
	AllowForcePush bool
	CreatedAt      time.Time
}

// AccessAdmin is GitLab's access level 60, "administrators only", which
// protected refs may require.
const AccessAdmin AccessLevel = 60

// ValidProtectLevel reports whether l is one a protected ref may require:
// no one (0), Developer (30), Maintainer (40) or administrators (60).
func ValidProtectLevel(l AccessLevel) bool {
	switch l {
	case AccessNone, AccessDeveloper, AccessMaintainer, AccessAdmin:
		return true
	}
	return false
}

// ProtectLevelName is GitLab's access_level_description of a level a
// protected ref may require ("" for any other).
func ProtectLevelName(l AccessLevel) string {
	switch l {
	case AccessNone:
		return "No one"
	case AccessDeveloper:
		return "Developers + Maintainers"
	case AccessMaintainer:
		return "Maintainers"
	case AccessAdmin:
		return "Administrators"
	}
	return ""
}

// MaxProtectedRefs bounds a project's protected branch and tag rules
// (the API and the settings page alike).
const MaxProtectedRefs = 200

// ValidProtectedRefName reports whether name may be a protected branch or
// tag rule: a ref name or a wildcard of at most 255 bytes.
func ValidProtectedRefName(name string) bool {
	return name != "" && len(name) <= 255 && !strings.ContainsAny(name, " \t\n\x00~^:?[\\")
}

// Matches reports whether the rule protects the branch (tag false) or tag
// named name.
func (r *ProtectedRef) Matches(name string, tag bool) bool {
	return r.Tag == tag && MatchWildcard(r.Name, name)
}

// RefProtected reports whether any of rules protects the branch or tag.
func RefProtected(rules []*ProtectedRef, name string, tag bool) bool {
	for _, r := range rules {
		if r.Matches(name, tag) {
			return true
		}
	}
	return false
}

// ProtectedRefStore keeps a project's protected branches and tags.
type ProtectedRefStore interface {
	// ListProtectedRefs lists a project's rules, branches first, by name.
	ListProtectedRefs(ctx context.Context, projectID int64) ([]*ProtectedRef, error)
	// CreateProtectedRef inserts r, setting ID and CreatedAt. A rule of
	// the same kind and name is KindConflict.
	CreateProtectedRef(ctx context.Context, r *ProtectedRef) error
	// UpdateProtectedRef saves r's levels and force-push flag (by ID).
	UpdateProtectedRef(ctx context.Context, r *ProtectedRef) error
	// DeleteProtectedRef removes a rule by ID; KindNotFound if gone.
	DeleteProtectedRef(ctx context.Context, id int64) error
}
