package main

import (
	"context"
	"strings"
	"time"

	"github.com/batonci/baton/internal/auth"
	"github.com/batonci/baton/internal/ci"
	"github.com/batonci/baton/internal/ciconfig"
	"github.com/batonci/baton/internal/planner"
	"github.com/batonci/baton/internal/policy"
)

// IncludeConfig is what include:remote and include:template may read
// (README "Security").
type IncludeConfig struct {
	RemoteAllow      string        // comma-separated hosts include:remote may fetch from; "": none
	RemoteMaxBytes   int64         // largest include:remote file
	RemoteTimeout    time.Duration // one include:remote fetch
	TemplatesProject string        // full path of the include:template project; "": refused
}

func (c *Config) bindIncludes(b flagBinder) {
	ic := &c.Includes
	b.str(&ic.RemoteAllow, "include-remote-allow", "BATON_INCLUDE_REMOTE_ALLOW", "",
		"comma-separated hosts (host or host:port) include:remote may fetch from; empty refuses include:remote")
	b.integer(&ic.RemoteMaxBytes, "include-remote-max-bytes", "BATON_INCLUDE_REMOTE_MAX_BYTES", ciconfig.DefaultRemoteMaxBytes,
		"largest file include:remote may fetch, in bytes")
	b.duration(&ic.RemoteTimeout, "include-remote-timeout", "BATON_INCLUDE_REMOTE_TIMEOUT", ciconfig.DefaultRemoteTimeout,
		"time one include:remote fetch may take")
	b.str(&ic.TemplatesProject, "templates-project", "BATON_TEMPLATES_PROJECT", "",
		"full path of the project include:template reads templates from; empty refuses include:template")
}

// includes builds what the planner reads included files with: other
// projects as the pipeline's user (policy ReadCode), the allowed remote
// hosts, the templates project.
func (m *Main) includes(db interface {
	ci.ProjectStore
	ci.UserStore
}) *planner.Includes {
	ic := m.Config.Includes
	var allow []string
	for _, h := range strings.Split(ic.RemoteAllow, ",") {
		if h = strings.TrimSpace(h); h != "" {
			allow = append(allow, h)
		}
	}
	in := &planner.Includes{Repos: m.Repos, Projects: db, TemplatesProject: strings.Trim(ic.TemplatesProject, "/"),
		CanReadCode: func(ctx context.Context, userID int64, proj *ci.Project) bool {
			who := &auth.Principal{}
			if userID > 0 {
				u, err := db.UserByID(ctx, userID)
				if err != nil {
					return false
				}
				who.User = u
			}
			return m.Policy.Project(ctx, who, policy.ReadCode, proj) == nil
		}}
	// Components are addressed by $CI_SERVER_FQDN, the value jobs get.
	in.ServerFQDN = ci.ServerFQDN(m.Config.ExternalURL)
	if len(allow) > 0 {
		in.Remote = &ciconfig.RemoteFetcher{Allow: allow, MaxBytes: ic.RemoteMaxBytes, Timeout: ic.RemoteTimeout}
	}
	return in
}
