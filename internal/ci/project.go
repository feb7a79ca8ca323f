package ci

import (
	"strings"
	"time"
)

// Visibility of a group or project.
type Visibility string

// Visibility levels.
const (
	VisibilityPrivate  Visibility = "private"
	VisibilityInternal Visibility = "internal"
	VisibilityPublic   Visibility = "public"
)

// Namespace kinds.
const (
	NamespaceUser  = "user"
	NamespaceGroup = "group"
)

// Namespace is a user's personal namespace or a (possibly nested) group.
type Namespace struct {
	ID          int64
	Name        string
	Path        string // last path segment
	FullPath    string // "parent/child"
	Kind        string // NamespaceUser or NamespaceGroup
	ParentID    int64  // 0 for top-level
	OwnerID     int64  // the user of a personal namespace, 0 for groups
	Visibility  Visibility
	Description string
	CreatedAt   time.Time
}

// Project is a git repository with its CI settings.
type Project struct {
	ID            int64
	NamespaceID   int64
	Name          string
	Path          string // last path segment
	FullPath      string // namespace full path + "/" + Path
	Description   string
	DefaultBranch string // "" until the first push
	Visibility    Visibility
	CreatorID     int64
	CIConfigPath  string // ".gitlab-ci.yml" unless changed
	// JobTokenScopeEnabled limits job tokens of other projects to the allow-list.
	JobTokenScopeEnabled bool
	// BuildTimeout is the default timeout of the project's jobs in seconds
	// (GitLab's build_timeout, DefaultBuildTimeout unless changed); a job's
	// own timeout: overrides it.
	BuildTimeout int
	// AutoCancelDisabled turns off GitLab's auto_cancel_pending_pipelines
	// (enabled by default, hence the negation: the zero value is GitLab's
	// default), with which a new pipeline on a branch cancels the older
	// unfinished pipelines of that branch.
	AutoCancelDisabled bool
	// VariablesRole is the least role that may give variables when it runs a
	// pipeline (GitLab's ci_pipeline_variables_minimum_override_role).
	VariablesRole VariablesRole
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Bounds and defaults of a project's CI settings, GitLab's.
const (
	DefaultBuildTimeout = 3600    // one hour
	MinBuildTimeout     = 600     // ten minutes
	MaxBuildTimeout     = 2592000 // thirty days
)

// VariablesRole is a project's minimum role to set pipeline variables.
type VariablesRole string

// The values of VariablesRole. GitLab's default for new projects on a
// self-managed instance is developer.
const (
	VariablesNoOneAllowed VariablesRole = "no_one_allowed"
	VariablesDeveloper    VariablesRole = "developer"
	VariablesMaintainer   VariablesRole = "maintainer"
	VariablesOwner        VariablesRole = "owner"
)

// Valid reports whether r is one of the four values.
func (r VariablesRole) Valid() bool {
	switch r {
	case VariablesNoOneAllowed, VariablesDeveloper, VariablesMaintainer, VariablesOwner:
		return true
	}
	return false
}

// ConfigPath is the path of the project's CI configuration file.
func (p *Project) ConfigPath() string {
	if p.CIConfigPath == "" {
		return ".gitlab-ci.yml"
	}
	return p.CIConfigPath
}

// Member grants a user an access level on a project or a namespace (group).
// Exactly one of ProjectID and NamespaceID is set.
type Member struct {
	UserID      int64
	ProjectID   int64
	NamespaceID int64
	AccessLevel AccessLevel
	CreatedAt   time.Time
}

// Trigger is a pipeline trigger token of a project. Only its hash is stored.
type Trigger struct {
	ID          int64
	ProjectID   int64
	OwnerID     int64
	Description string
	TokenHash   string
	TokenTail   string // last 4 characters, to tell tokens apart in lists
	CreatedAt   time.Time
	LastUsedAt  *time.Time
}

// PathFromName is the path a project (or group) gets when it is created
// with a name but no path, by the API and the web form alike: lowercase,
// letters, digits, '_', '.' and '-' kept, every run of other characters
// one '-', and no leading or trailing '-' or '.' (a path GitLab's path
// rules accept).
func PathFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-.")
}
