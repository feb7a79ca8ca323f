package ciconfig

import (
	"time"

	"github.com/batonci/baton/internal/ci"
)

// parseDuration parses GitLab's duration syntax into whole seconds.
func parseDuration(s string) (int, error) {
	d, err := ci.ParseDuration(s)
	return int(d / time.Second), err
}

// maxStartIn is GitLab's limit on start_in: one week.
const maxStartIn = 7 * 24 * 3600

// parseStartIn reads a delayed job's (or rule's) start_in: a GitLab
// duration of at most one week, required.
func parseStartIn(n *node, where string, probs *problems) int {
	if n == nil {
		probs.add("%s:start_in config can't be blank for a delayed job", where)
		return 0
	}
	src, ok := scalarString(n)
	if !ok {
		probs.add("%s:start_in config should be a duration", where)
		return 0
	}
	secs, err := parseDuration(src)
	switch {
	case err != nil:
		probs.add("%s:start_in config should be a duration", where)
	case secs > maxStartIn:
		probs.add("%s:start_in config should not exceed the limit (1 week)", where)
	}
	return secs
}
