package ci

import "time"

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
	CreatedAt            time.Time
	UpdatedAt            time.Time
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
