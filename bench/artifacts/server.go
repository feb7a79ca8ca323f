package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// server is a running `baton server` child process.
type server struct {
	cmd     *exec.Cmd
	url     string
	token   string // root's personal access token
	logPath string
	client  *http.Client
	exited  chan struct{}
}

// buildBaton builds ./cmd/baton of this module into dir.
func buildBaton(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "baton")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/batonci/baton/cmd/baton")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building baton: %w\n%s", err, out)
	}
	return bin, nil
}

// freePort is a 127.0.0.1 port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startServer starts bin as `baton server` with a fresh data dir under tmp,
// allowing uploads of maxUpload bytes, and waits for it to answer and to
// print the administrator's token.
func startServer(ctx context.Context, bin, tmp string, maxUpload int64) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &server{url: "http://" + addr, logPath: filepath.Join(tmp, "baton.log"), exited: make(chan struct{}),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("creating server log: %w", err)
	}
	defer logFile.Close()
	s.cmd = exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(tmp, "data"),
		"--max-artifact-size", fmt.Sprint(maxUpload>>20+16))
	s.cmd.Stderr = logFile
	s.cmd.Env = append(os.Environ(), "BATON_LOG_LEVEL=info")
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("starting baton: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting baton: %w", err)
	}
	tokens := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if t := strings.TrimSpace(sc.Text()); strings.HasPrefix(t, "glpat-") {
				select {
				case tokens <- t:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	select {
	case s.token = <-tokens:
	case <-s.exited:
		return nil, fmt.Errorf("baton exited at start: %s", s.logTail())
	case <-deadline.C:
		s.stop()
		return nil, fmt.Errorf("baton printed no admin token within 30 s: %s", s.logTail())
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	for {
		resp, err := s.client.Get(s.url + "/-/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-deadline.C:
			s.stop()
			return nil, fmt.Errorf("baton not ready within 30 s: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 10 s).
func (s *server) stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// logTail is the last 20 lines of the server's log.
func (s *server) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// call sends a request and decodes a JSON answer into out (when non-nil);
// any status other than want is an error carrying the body.
func (s *server) call(ctx context.Context, method, path string, header http.Header, body io.Reader, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, body)
	if err != nil {
		return fmt.Errorf("building %s %s: %w", method, path, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return &statusError{method: method, path: path, got: resp.StatusCode, want: want, body: bytes.TrimSpace(data)}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decoding %q: %w", method, path, data, err)
		}
	}
	return nil
}

// statusError is an answer with an unexpected status.
type statusError struct {
	method, path string
	got, want    int
	body         []byte
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: status %d, want %d: %s", e.method, e.path, e.got, e.want, e.body)
}

// form posts form values with root's token.
func (s *server) form(ctx context.Context, path string, values url.Values, want int, out any) error {
	h := http.Header{"Private-Token": {s.token}, "Content-Type": {"application/x-www-form-urlencoded"}}
	return s.call(ctx, http.MethodPost, path, h, strings.NewReader(values.Encode()), want, out)
}

// jsonCall sends v as a JSON body.
func (s *server) jsonCall(ctx context.Context, method, path string, header http.Header, v any, want int, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s body: %w", path, err)
	}
	if header == nil {
		header = http.Header{}
	}
	header.Set("Content-Type", "application/json")
	return s.call(ctx, method, path, header, bytes.NewReader(b), want, out)
}

// cpuTime is the user+system CPU time the process pid and its threads
// used so far, from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading CPU time of %d: %w", pid, err)
	}
	// Fields after the command (which may hold spaces) start after ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	var utime, stime int64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck, nil
}
