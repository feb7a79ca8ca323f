// Command waiters measures what held connections cost a Baton server: its
// resident memory, open descriptors and CPU while idle, while N anonymous
// requests wait (wait=SECONDS) for an artifact of a pending job on a public
// project, and while N anonymous keep-alive connections sit idle. It
// builds and starts a real `baton server`, opens the connections from this
// process and samples /proc/<pid> of the server.
//
//	go run ./bench/waiters [-n 5000] [-sample 8s]
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

func main() {
	n := flag.Int("n", 5000, "connections per phase")
	sample := flag.Duration("sample", 8*time.Second, "how long each phase is sampled")
	flag.Parse()
	if err := run(*n, *sample); err != nil {
		fmt.Fprintln(os.Stderr, "waiters:", err)
		os.Exit(1)
	}
}

// usage is what the server holds during a phase.
type usage struct {
	phase      string
	rssKiB     int64
	fds        int
	cpuPercent float64
	note       string
}

func run(n int, sample time.Duration) error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil {
		rl.Cur = rl.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	if rl.Cur < uint64(n)+256 {
		return fmt.Errorf("open-file limit %d is too low for %d connections", rl.Cur, n)
	}
	tmp, err := os.MkdirTemp("", "baton-bench-waiters-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	ctx := context.Background()
	bin, err := benchkit.BuildBaton(ctx, tmp)
	if err != nil {
		return err
	}
	s, err := start(bin, tmp, n)
	if err != nil {
		return err
	}
	defer s.stop()
	path, err := s.setup(tmp)
	if err != nil {
		return err
	}
	var rows []usage
	base, err := s.measure("idle server", sample)
	if err != nil {
		return err
	}
	rows = append(rows, base)

	// Phase 1: n idle keep-alive connections after one request each.
	conns, err := dialAll(s.addr, n, func(c net.Conn) error {
		if _, err := fmt.Fprintf(c, "GET /-/health HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
	if err != nil {
		return err
	}
	u, err := s.measure(fmt.Sprintf("%d idle keep-alives", n), sample)
	if err != nil {
		return err
	}
	rows = append(rows, u)
	closeAll(conns)
	time.Sleep(time.Second)

	// Phase 2: n anonymous waits for an archive that does not come.
	conns, err = dialAll(s.addr, n, func(c net.Conn) error {
		_, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n", path)
		return err
	})
	if err != nil {
		return err
	}
	time.Sleep(time.Second) // let the last requests reach their wait
	held := stillHeld(conns)
	u, err = s.measure(fmt.Sprintf("%d waits (wait=300)", n), sample)
	if err != nil {
		return err
	}
	u.note = fmt.Sprintf("%d of %d still held after sampling", stillHeld(conns), held)
	rows = append(rows, u)
	closeAll(conns)

	fmt.Printf("\nBaton server under held connections (%d per phase, sampled %s each, %d CPUs)\n", n, sample, numCPU())
	fmt.Printf("(phases run in order; RSS is not returned to the OS at once, so each phase includes what the previous one left)\n\n")
	fmt.Printf("| %-26s | %10s | %8s | %8s | %8s | %s\n", "phase", "RSS", "+RSS", "open fds", "CPU", "")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 28), strings.Repeat("-", 12), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 10))
	for _, r := range rows {
		fmt.Printf("| %-26s | %7.1f MB | %5.1f MB | %8d | %6.1f %% | %s\n", r.phase, float64(r.rssKiB)/1024,
			float64(r.rssKiB-base.rssKiB)/1024, r.fds, r.cpuPercent, r.note)
	}
	return nil
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return bytes.Count(b, []byte("\nprocessor")) + 1
}

// dialAll opens n connections, running first on each (64 at a time).
func dialAll(addr string, n int, first func(net.Conn) error) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := range n {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			c, err := net.Dial("tcp", addr)
			if err == nil {
				err = first(c)
			}
			conns[i] = c
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("opening connections: %w", err)
		}
	}
	return conns, nil
}

// stillHeld counts connections on which no answer has arrived.
func stillHeld(conns []net.Conn) int {
	held := 0
	buf := make([]byte, 1)
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				held++
			}
		}
	}
	return held
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}

type server struct {
	cmd   *exec.Cmd
	addr  string
	token string
}

func start(bin, tmp string, n int) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	log, err := os.Create(filepath.Join(tmp, "baton.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(tmp, "data"),
		"--max-waiters", strconv.Itoa(4*n), "--max-waiters-per-client", "-1", "--max-connections", strconv.Itoa(4*n),
		"--log-level", "warn")
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, addr: addr}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); strings.HasPrefix(t, "glpat-") {
			s.token = t
			break
		}
	}
	go io.Copy(io.Discard, out)
	if s.token == "" {
		s.stop()
		return nil, fmt.Errorf("baton printed no admin token (log in %s)", log.Name())
	}
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/-/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if i > 300 {
			s.stop()
			return nil, fmt.Errorf("baton not ready")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// setup creates a public project whose pipeline has a job that stays
// pending (no runner), and returns the anonymous wait URL path for it.
func (s *server) setup(tmp string) (string, error) {
	var proj struct {
		ID   int64  `json:"id"`
		Path string `json:"path_with_namespace"`
	}
	if err := s.call("POST", "/api/v4/projects", url.Values{"name": {"public"}, "visibility": {"public"}}, &proj); err != nil {
		return "", err
	}
	yml := "build:\n  script: [\"true\"]\n  artifacts:\n    paths: [out/]\n"
	if err := benchkit.PushPipeline(context.Background(), "http://"+s.addr, s.token, tmp, proj.Path, yml); err != nil {
		return "", err
	}
	var pls []struct {
		ID int64 `json:"id"`
	}
	for i := 0; len(pls) == 0; i++ {
		if err := s.call("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines", proj.ID), nil, &pls); err != nil {
			return "", err
		}
		if i > 100 {
			return "", fmt.Errorf("no pipeline after the push")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=build&wait=300", proj.ID, pls[0].ID), nil
}

func (s *server) call(method, path string, form url.Values, out any) error {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, "http://"+s.addr+path, body)
	req.Header.Set("PRIVATE-TOKEN", s.token)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return json.Unmarshal(data, out)
}

// measure samples the server for d: the largest RSS and descriptor count
// seen, and the CPU it used as a share of one core.
func (s *server) measure(phase string, d time.Duration) (usage, error) {
	pid := s.cmd.Process.Pid
	u := usage{phase: phase}
	cpu0, err := cpuTime(pid)
	if err != nil {
		return u, err
	}
	t0 := time.Now()
	for time.Since(t0) < d {
		rss, err := rssKiB(pid)
		if err != nil {
			return u, err
		}
		u.rssKiB = max(u.rssKiB, rss)
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			return u, err
		}
		u.fds = max(u.fds, len(ents))
		time.Sleep(500 * time.Millisecond)
	}
	cpu1, err := cpuTime(pid)
	if err != nil {
		return u, err
	}
	u.cpuPercent = 100 * float64(cpu1-cpu0) / float64(time.Since(t0))
	return u, nil
}

func rssKiB(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// cpuTime is the process's user+system CPU time (/proc/pid/stat).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100, nil // USER_HZ is 100 on Linux
}
