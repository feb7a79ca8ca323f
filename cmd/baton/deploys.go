package main

// Deploys is the configuration of environments and deployments.
type Deploys struct {
	MaxEnvironments int64 // per project
}

func (c *Config) bindDeploys(integer func(p *int64, name, env string, def int64, usage string)) {
	integer(&c.MaxEnvironments, "max-environments", "BATON_MAX_ENVIRONMENTS", 1000, "most environments one project may have")
}
