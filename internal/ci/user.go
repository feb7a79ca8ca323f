package ci

import "time"

// User is a person or bot that owns tokens and projects. The first user,
// "root", is the administrator.
type User struct {
	ID        int64
	Username  string
	Name      string
	Email     string
	Admin     bool
	CreatedAt time.Time
}

// AccessLevel is a member's role in a group or project, GitLab's numbers.
type AccessLevel int

// GitLab's access levels.
const (
	AccessNone       AccessLevel = 0
	AccessGuest      AccessLevel = 10
	AccessReporter   AccessLevel = 20
	AccessDeveloper  AccessLevel = 30
	AccessMaintainer AccessLevel = 40
	AccessOwner      AccessLevel = 50
)

// Role reports whether l is one of the roles a membership can grant.
func (l AccessLevel) Role() bool {
	switch l {
	case AccessGuest, AccessReporter, AccessDeveloper, AccessMaintainer, AccessOwner:
		return true
	}
	return false
}

// Token scopes of personal access tokens.
const (
	ScopeAPI          = "api"
	ScopeReadAPI      = "read_api"
	ScopeCreateRunner = "create_runner"
	ScopeReadRepo     = "read_repository"
	ScopeWriteRepo    = "write_repository"
)

// PersonalToken is a personal access token. Only its SHA-256 hash is stored;
// the secret is shown once, when it is created.
type PersonalToken struct {
	ID         int64
	UserID     int64
	Name       string
	Scopes     []string
	TokenHash  string // hex SHA-256 of the secret
	ExpiresAt  *time.Time
	Revoked    bool
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// HasScope reports whether the token carries scope s. The api scope implies read_api.
func (t *PersonalToken) HasScope(s string) bool {
	for _, have := range t.Scopes {
		if have == s || (have == ScopeAPI && s == ScopeReadAPI) {
			return true
		}
	}
	return false
}

// Active reports whether the token may be used at now.
func (t *PersonalToken) Active(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt))
}
