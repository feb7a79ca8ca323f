package ci

import (
	"context"
	"strings"
	"time"
)

// ReleaseSpec is a job's release: keyword, as written (variables are
// expanded with the job's variables when the release is created).
type ReleaseSpec struct {
	TagName     string            `json:"tag_name"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Ref         string            `json:"ref,omitempty"`
	ReleasedAt  string            `json:"released_at,omitempty"` // RFC 3339
	Links       []ReleaseLinkSpec `json:"links,omitempty"`
}

// ReleaseLinkSpec is one entry of release:assets:links.
type ReleaseLinkSpec struct {
	Name     string `json:"name"`
	URL      string `json:"url"`
	LinkType string `json:"link_type,omitempty"`
	Filepath string `json:"filepath,omitempty"`
}

// ReleaseLinkTypes are GitLab's asset link types; other is the default.
var ReleaseLinkTypes = []string{"other", "runbook", "image", "package"}

// Release is a project's release of a tag.
type Release struct {
	ID          int64
	ProjectID   int64
	TagName     string
	Name        string
	Description string
	SHA         string // the tagged commit
	AuthorID    int64
	JobID       int64 // the release: job that created it, 0 for the API
	ReleasedAt  time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Links       []*ReleaseLink
}

// ReleaseLink is one asset link of a release.
type ReleaseLink struct {
	ID        int64
	ReleaseID int64
	Name      string
	URL       string
	LinkType  string
	Filepath  string // "/path" of the release's permanent download URL, "" if none
	CreatedAt time.Time
}

// Bounds on releases (GitLab's where it has them).
const (
	MaxReleaseName     = 255
	MaxReleaseLinkURL  = 2048
	MaxReleaseLinkName = 255
)

// ValidateLink checks a link's name, URL (http or https), type and file
// path; KindInvalid says which is wrong.
func ValidateLink(l *ReleaseLink) error {
	if l.LinkType == "" {
		l.LinkType = "other"
	}
	switch {
	case l.Name == "" || len(l.Name) > MaxReleaseLinkName || strings.ContainsAny(l.Name, "\n\r"):
		return Errorf(KindInvalid, "400 Bad request - name is missing or longer than %d characters", MaxReleaseLinkName)
	case len(l.URL) > MaxReleaseLinkURL || !(strings.HasPrefix(l.URL, "http://") || strings.HasPrefix(l.URL, "https://")) ||
		strings.ContainsAny(l.URL, " \n\r\t"):
		return Errorf(KindInvalid, "400 Bad request - url is blocked: only http and https URLs of at most %d characters are allowed", MaxReleaseLinkURL)
	case !containsString(ReleaseLinkTypes, l.LinkType):
		return Errorf(KindInvalid, "400 Bad request - link_type does not have a valid value")
	case l.Filepath != "" && (!strings.HasPrefix(l.Filepath, "/") || strings.Contains(l.Filepath, "..") ||
		len(l.Filepath) > MaxReleaseLinkURL || strings.ContainsAny(l.Filepath, " \n\r\t?#")):
		return Errorf(KindInvalid, "400 Bad request - filepath must start with / and be a plain path")
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// ReleaseStore keeps releases and their asset links.
type ReleaseStore interface {
	// CreateRelease inserts r with its links; a second release of one tag
	// is KindConflict, more than maxLinks links KindInvalid.
	CreateRelease(ctx context.Context, r *Release, maxLinks int) error
	// ReleaseByTag returns a release with its links.
	ReleaseByTag(ctx context.Context, projectID int64, tag string) (*Release, error)
	// ListReleases lists releases with their links, newest released first.
	ListReleases(ctx context.Context, projectID int64, p Page) ([]*Release, int, error)
	// UpdateRelease saves r's name, description and release time.
	UpdateRelease(ctx context.Context, r *Release) error
	DeleteRelease(ctx context.Context, projectID int64, tag string) error
	// CreateReleaseLink adds l to its release, KindInvalid past maxLinks;
	// a name or URL the release has already is KindConflict.
	CreateReleaseLink(ctx context.Context, l *ReleaseLink, maxLinks int) error
	UpdateReleaseLink(ctx context.Context, l *ReleaseLink) error
	DeleteReleaseLink(ctx context.Context, releaseID, id int64) error
}
