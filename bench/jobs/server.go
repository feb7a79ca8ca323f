package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
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
	cmd   *exec.Cmd
	done  chan error
}

var patRe = regexp.MustCompile(`glpat-[A-Za-z0-9_\-]+`)

// startServer starts bin as `baton server` with a fresh data directory under
// dir and the given --long-poll, and waits until it answers /-/health.
func startServer(ctx context.Context, bin, dir string, longPoll time.Duration) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(dir, "data"),
		"--long-poll", longPoll.String(), "--log-level", "warn")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("piping baton's stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting baton: %w", err)
	}
	s := &server{url: "http://" + addr, cmd: cmd, done: make(chan error, 1)}
	tokens := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if t := patRe.FindString(sc.Text()); t != "" {
				select {
				case tokens <- t:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { s.done <- cmd.Wait() }()
	select {
	case s.token = <-tokens:
	case err := <-s.done:
		return nil, fmt.Errorf("baton server exited before printing its admin token: %v", err)
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("baton server printed no admin token within 60 s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.url + "/-/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("baton server not healthy after 30 s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop terminates the server and waits for it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
