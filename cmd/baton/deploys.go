package main

// Deploys is the configuration of environments, deployments and releases.
type Deploys struct {
	MaxEnvironments int64 // per project
	MaxReleaseLinks int64 // asset links of one release
}

func (c *Config) bindDeploys(b flagBinder) {
	b.integer(&c.MaxEnvironments, "max-environments", "BATON_MAX_ENVIRONMENTS", 1000, "most environments one project may have")
	b.integer(&c.MaxReleaseLinks, "max-release-links", "BATON_MAX_RELEASE_LINKS", 50, "most asset links one release may have")
}
