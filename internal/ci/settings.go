package ci

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// ProjectChange is an edit of a project's settings: nil fields stay as
// they are. The API's PUT /projects/:id and the web settings page both fill
// one and Apply it, so that both validate alike.
type ProjectChange struct {
	Name                 *string
	Description          *string
	Visibility           *Visibility
	DefaultBranch        *string
	CIConfigPath         *string
	BuildTimeout         *int
	AutoCancelPending    *bool
	JobTokenScopeEnabled *bool
	VariablesRole        *VariablesRole
}

// Bounds of the free-text settings, GitLab's.
const (
	MaxProjectName        = 255
	MaxProjectDescription = 2000
	MaxCIConfigPath       = 255
)

// Apply validates c and writes it into p. It reports whether the
// visibility changes (an Owner's decision) and whether the default branch
// changes (the caller checks that the branch exists). An invalid value is
// KindInvalid with GitLab's "400 Bad request - ..." message and leaves p as
// it was.
func (c ProjectChange) Apply(p *Project) (visibilityChanged, branchChanged bool, err error) {
	next := *p
	if c.Name != nil {
		name := strings.TrimSpace(*c.Name)
		if name == "" || utf8.RuneCountInString(name) > MaxProjectName || hasControl(name) {
			return false, false, Errorf(KindInvalid, "400 Bad request - name must be 1 to %d characters without control characters", MaxProjectName)
		}
		next.Name = name
	}
	if c.Description != nil {
		if utf8.RuneCountInString(*c.Description) > MaxProjectDescription || strings.ContainsRune(*c.Description, 0) {
			return false, false, Errorf(KindInvalid, "400 Bad request - description is too long (maximum is %d characters)", MaxProjectDescription)
		}
		next.Description = *c.Description
	}
	if c.Visibility != nil {
		switch *c.Visibility {
		case VisibilityPrivate, VisibilityInternal, VisibilityPublic:
		default:
			return false, false, Errorf(KindInvalid, "400 Bad request - visibility does not have a valid value: %q (private, internal or public)", *c.Visibility)
		}
		next.Visibility = *c.Visibility
	}
	if c.DefaultBranch != nil {
		b := *c.DefaultBranch
		if b == "" || len(b) > 255 || hasControl(b) {
			return false, false, Errorf(KindInvalid, "400 Bad request - default_branch %q is not a branch name", b)
		}
		next.DefaultBranch = b
	}
	if c.CIConfigPath != nil {
		cp, err := cleanCIConfigPath(*c.CIConfigPath)
		if err != nil {
			return false, false, err
		}
		next.CIConfigPath = cp
	}
	if c.BuildTimeout != nil {
		t := *c.BuildTimeout
		if t < MinBuildTimeout || t > MaxBuildTimeout {
			return false, false, Errorf(KindInvalid, "400 Bad request - build_timeout must be between %d (10 minutes) and %d (1 month) seconds, got %d", MinBuildTimeout, MaxBuildTimeout, t)
		}
		next.BuildTimeout = t
	}
	if c.AutoCancelPending != nil {
		next.AutoCancelDisabled = !*c.AutoCancelPending
	}
	if c.JobTokenScopeEnabled != nil {
		next.JobTokenScopeEnabled = *c.JobTokenScopeEnabled
	}
	if c.VariablesRole != nil {
		if !c.VariablesRole.Valid() {
			return false, false, Errorf(KindInvalid, "400 Bad request - ci_pipeline_variables_minimum_override_role does not have a valid value: %q (no_one_allowed, developer, maintainer or owner)", *c.VariablesRole)
		}
		next.VariablesRole = *c.VariablesRole
	}
	visibilityChanged, branchChanged = next.Visibility != p.Visibility, next.DefaultBranch != p.DefaultBranch
	*p = next
	return visibilityChanged, branchChanged, nil
}

// cleanCIConfigPath checks a CI configuration path: a relative path of a
// file in the repository, without "..", NUL or control characters; "" is
// the default, .gitlab-ci.yml.
func cleanCIConfigPath(p string) (string, error) {
	if p == "" {
		return ".gitlab-ci.yml", nil
	}
	bad := func(why string) (string, error) {
		return "", Errorf(KindInvalid, "400 Bad request - ci_config_path %q is invalid: %s", p, why)
	}
	switch {
	case len(p) > MaxCIConfigPath:
		return bad(fmt.Sprintf("longer than %d characters", MaxCIConfigPath))
	case hasControl(p):
		return bad("it contains NUL or control characters")
	case strings.HasPrefix(p, "/") || strings.HasPrefix(p, `\`):
		return bad("it must be relative to the repository's root")
	case strings.HasSuffix(p, "/"):
		return bad("it must name a file")
	}
	for _, seg := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }) {
		if seg == ".." {
			return bad(`it must not contain ".."`)
		}
	}
	return path.Clean(p), nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f })
}
