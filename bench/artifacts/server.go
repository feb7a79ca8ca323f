package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

// server is a running `baton server` child process.
type server struct {
	cmd     *exec.Cmd
	url     string
	token   string // root's personal access token
	logPath string
	client  *http.Client
	proc    *benchkit.Server
}

// startServer starts bin as `baton server` with a fresh data dir under tmp,
// allowing uploads of maxUpload bytes, and waits for it to answer and to
// print the administrator's token.
func startServer(ctx context.Context, bin, tmp string, maxUpload int64) (*server, error) {
	port, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &server{logPath: filepath.Join(tmp, "baton.log"),
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("creating server log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(tmp, "data"),
		"--max-artifact-size", fmt.Sprint(maxUpload>>20+16))
	cmd.Stderr = logFile
	cmd.Env = append(os.Environ(), "BATON_LOG_LEVEL=info")
	s.proc, err = benchkit.StartServer(ctx, cmd, "http://"+addr, "/-/readiness", true, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, s.logTail())
	}
	s.cmd, s.url, s.token = cmd, s.proc.URL, s.proc.Token
	return s, nil
}

// stop ends the server (SIGTERM, then SIGKILL after 10 s).
func (s *server) stop() { s.proc.Stop(10 * time.Second) }

// logTail is the last 20 lines of the server's log.
func (s *server) logTail() string { return benchkit.LogTail(s.logPath) }

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
