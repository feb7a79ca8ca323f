package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// server is a `baton server` child process on a loopback port.
type server struct {
	url   string
	token string // root's personal access token
	proc  *benchkit.Server
}

// startServer starts bin as `baton server` with a fresh data directory under
// dir and the given --long-poll, and waits until it answers /-/health.
func startServer(ctx context.Context, bin, dir string, longPoll time.Duration) (*server, error) {
	port, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(dir, "data"),
		"--long-poll", longPoll.String(), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	p, err := benchkit.StartServer(ctx, cmd, "http://"+addr, "/-/health", true, 60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("baton server: %w", err)
	}
	return &server{url: p.URL, token: p.Token, proc: p}, nil
}

// stop terminates the server and waits for it.
func (s *server) stop() { s.proc.Stop(15 * time.Second) }
