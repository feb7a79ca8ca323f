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
