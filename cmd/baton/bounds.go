package main

import (
	"flag"
	"time"

	"github.com/batonci/baton/internal/artifacts"
)

// bindBounds registers the flags that bound what clients can hold: waits
// for artifacts, connections, and the HTTP server's timeouts.
func (c *Config) bindBounds(_ *flag.FlagSet,
	integer func(p *int64, name, env string, def int64, usage string),
	duration func(p *time.Duration, name, env string, def time.Duration, usage string)) {
	integer(&c.MaxWaiters, "max-waiters", "BATON_MAX_WAITERS", artifacts.DefaultMaxWaiters,
		"requests that may wait (wait=SECONDS) for artifacts at once; beyond: 429 (-1: no limit)")
	integer(&c.MaxWaitersPerClient, "max-waiters-per-client", "BATON_MAX_WAITERS_PER_CLIENT", artifacts.DefaultMaxWaitersPerClient,
		"requests one IP, user or job token may have waiting for artifacts at once; beyond: 429 (-1: no limit)")
}
