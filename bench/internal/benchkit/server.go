// Package benchkit holds the child processes the bench programs share: a
// `baton server` and an nginx serving one file.
package benchkit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// FreePort is a 127.0.0.1 port nobody listens on right now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Server is a running `baton server` child process.
type Server struct {
	Cmd    *exec.Cmd
	URL    string
	Token  string // root's personal access token, when asked for
	exited chan struct{}
}

var patRe = regexp.MustCompile(`glpat-[A-Za-z0-9_\-]+`)

// StartServer starts cmd, a `baton server` answering at url whose Stdout is
// not yet set. Within timeout it waits, when wantToken, for the
// administrator's token the server prints, then until GET url+ready answers
// 200. The errors do not include the server's log; callers add it.
func StartServer(ctx context.Context, cmd *exec.Cmd, url, ready string, wantToken bool, timeout time.Duration) (*Server, error) {
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("piping baton's stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting baton: %w", err)
	}
	s := &Server{Cmd: cmd, URL: url, exited: make(chan struct{})}
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
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	if wantToken {
		select {
		case s.Token = <-tokens:
		case <-s.exited:
			return nil, fmt.Errorf("baton exited at start")
		case <-deadline.C:
			s.Stop(0)
			return nil, fmt.Errorf("baton printed no admin token within %v", timeout)
		case <-ctx.Done():
			s.Stop(0)
			return nil, ctx.Err()
		}
	}
	for {
		resp, err := http.Get(s.URL + ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.exited:
			return nil, fmt.Errorf("baton exited at start")
		case <-deadline.C:
			s.Stop(0)
			return nil, fmt.Errorf("baton not ready at %s within %v", ready, timeout)
		case <-ctx.Done():
			s.Stop(0)
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop ends the server: SIGTERM, then SIGKILL after grace.
func (s *Server) Stop(grace time.Duration) {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(grace):
		_ = s.Cmd.Process.Kill()
		<-s.exited
	}
}

// LogTail is the last 20 lines of the log at path.
func LogTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}
