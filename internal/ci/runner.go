package ci

import "time"

// Runner types, GitLab's names.
const (
	RunnerInstance = "instance_type"
	RunnerGroup    = "group_type"
	RunnerProject  = "project_type"
)

// Runner is a registered runner. Only its token's hash is stored.
type Runner struct {
	ID             int64
	Description    string
	TokenHash      string
	TokenExpiresAt *time.Time
	RunnerType     string
	ProjectID      int64 // project runners: the project they serve
	NamespaceID    int64 // group runners: the group they serve
	Tags           []string
	RunUntagged    bool
	Paused         bool
	Locked         bool
	AccessLevel    string // not_protected or ref_protected
	MaximumTimeout int    // seconds, 0 = none
	// Facts the runner reported about itself on its last contact.
	Version      string
	Platform     string
	Architecture string
	Executor     string
	IPAddress    string
	ContactedAt  *time.Time
	CreatedAt    time.Time
}
