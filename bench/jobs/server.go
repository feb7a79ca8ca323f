package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// buildBaton builds ./cmd/baton of the module in moduleDir into dir.
func buildBaton(ctx context.Context, moduleDir, dir string) (string, error) {
	bin := filepath.Join(dir, "baton")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/baton")
	cmd.Dir = moduleDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building baton: %w: %s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the directory of the go.mod the go command sees from the
// working directory.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("run from inside the baton module")
	}
	return filepath.Dir(gomod), nil
}

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
