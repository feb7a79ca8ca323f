package main

import (
	"context"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// nginx is a child nginx serving one file at url with sendfile.
type nginx struct {
	*benchkit.Nginx
	url string
}

// startNginx runs bin serving file with one worker of 64 connections. When
// nginx is disabled, missing or does not start, it returns nil and why.
func startNginx(ctx context.Context, bin, tmp, file string) (*nginx, string) {
	n, why := benchkit.StartNginx(ctx, bin, tmp, file, 1, 64)
	if n == nil {
		return nil, why
	}
	return &nginx{Nginx: n, url: n.URL}, ""
}

// pids are nginx's master and workers.
func (n *nginx) pids() []int {
	return append([]int{n.Cmd.Process.Pid}, childPids(n.Cmd.Process.Pid)...)
}

func (n *nginx) stop() { n.Stop() }
