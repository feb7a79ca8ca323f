package runnerapi

import (
	"strings"
	"time"

	"github.com/batonci/baton/internal/ci"
)

// ParseExpireIn parses an artifact expiry in GitLab's duration syntax
// (ci.ParseDuration): "42" (seconds), "3 mins 4 sec", "2 hrs 20 min",
// "6 mos 1 day", "1 week", or "never", which never reports (keep forever).
// An empty string, anything unreadable or over 100 years is KindInvalid.
func ParseExpireIn(s string) (d time.Duration, never bool, err error) {
	in := strings.ToLower(strings.TrimSpace(s))
	if in == "never" {
		return 0, true, nil
	}
	d, err = ci.ParseDuration(in)
	if err != nil || d > 100*365*24*time.Hour {
		return 0, false, ci.Errorf(ci.KindInvalid, "400 Bad request - expire_in %q is not a valid duration", s)
	}
	return d, false, nil
}

// expireAt is when an artifact uploaded at now with expire_in v expires;
// nil for never. An empty v uses the server's default.
func (s *Server) expireAt(v string, now time.Time) (*time.Time, error) {
	if v == "" {
		v = s.DefaultArtifactExpireIn
	}
	if v == "" {
		return nil, nil
	}
	d, never, err := ParseExpireIn(v)
	if err != nil || never {
		return nil, err
	}
	t := now.Add(d)
	return &t, nil
}
