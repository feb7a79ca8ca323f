package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/batonci/baton/internal/tests3"
)

// bucketName is the bucket the replicas share; they create it at start.
const bucketName = "baton-scale"

// buildBaton builds ./cmd/baton of this module into dir.
func buildBaton(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "baton")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/batonci/baton/cmd/baton")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building baton: %w\n%s", err, out)
	}
	return bin, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// replica is a `baton server` child process.
type replica struct {
	name    string
	url     string
	token   string // root's token, printed by the replica that created root
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
}

var patRe = regexp.MustCompile(`glpat-[A-Za-z0-9_\-]+`)

// startReplica starts bin as one replica: its own data directory, the
// shared database, bucket and repository directory. It waits for /-/readiness and, when
// wantToken, for the administrator token the first replica prints.
func startReplica(ctx context.Context, bin, tmp, name, dbURL string, b tests3.Bucket, maxUploadMiB int64, wantToken bool) (*replica, error) {
	reposDir := filepath.Join(tmp, "repos") // shared, as NFS would be
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	r := &replica{name: name, url: "http://" + addr, logPath: filepath.Join(tmp, name+".log"), exited: make(chan struct{})}
	logFile, err := os.Create(r.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	r.cmd = exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(tmp, "data-"+name),
		"--repos-dir", reposDir, "--database-url", dbURL, "--log-level", "warn",
		"--artifact-store", "s3", "--s3-endpoint", b.Endpoint, "--s3-bucket", bucketName, "--s3-region", b.Region,
		"--s3-access-key", b.AccessKey, "--s3-secret-key", b.SecretKey,
		"--max-artifact-size", fmt.Sprint(maxUploadMiB))
	r.cmd.Stderr = logFile
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting replica %s: %w", name, err)
	}
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
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	if wantToken {
		select {
		case r.token = <-tokens:
		case <-r.exited:
			return nil, fmt.Errorf("replica %s exited at start: %s", name, r.logTail())
		case <-deadline.C:
			r.stop()
			return nil, fmt.Errorf("replica %s printed no admin token: %s", name, r.logTail())
		case <-ctx.Done():
			r.stop()
			return nil, ctx.Err()
		}
	}
	for {
		resp, err := http.Get(r.url + "/-/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r, nil
			}
		}
		select {
		case <-r.exited:
			return nil, fmt.Errorf("replica %s exited at start: %s", name, r.logTail())
		case <-deadline.C:
			r.stop()
			return nil, fmt.Errorf("replica %s not ready: %s", name, r.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *replica) stop() {
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

func (r *replica) logTail() string {
	b, err := os.ReadFile(r.logPath)
	if err != nil {
		return "(no log)"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-20):], "\n")
}

// pushRepo makes a one-commit repository holding yml as .gitlab-ci.yml and
// pushes it to main of fullPath on base; the commit says [skip ci], so the
// push starts no pipeline.
func pushRepo(ctx context.Context, base, token, tmp, fullPath, yml string) error {
	dir := filepath.Join(tmp, "repo-"+strings.ReplaceAll(fullPath, "/", "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitlab-ci.yml"), []byte(yml), 0o644); err != nil {
		return err
	}
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	u.User = url.UserPassword("root", token)
	u.Path = "/" + fullPath + ".git"
	env := append(os.Environ(), "HOME="+tmp, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com")
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", ".gitlab-ci.yml"},
		{"commit", "-q", "-m", "benchmark [skip ci]"},
		{"push", "-q", u.String(), "main"},
	} {
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %w\n%s", args[0], err, strings.ReplaceAll(string(out), token, "***"))
		}
	}
	return nil
}

// nginx is a child nginx serving one file with sendfile (as in
// bench/artifacts), with enough workers and connections for the consumers.
type nginx struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

const nginxConf = `daemon off;
master_process on;
worker_processes auto;
%s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    default_type application/octet-stream;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    server {
        listen %[3]s;
        location = /artifacts.zip { alias %[4]s; }
    }
}
`

// startNginx serves file; it returns nil and why when nginx is disabled,
// missing or does not start.
func startNginx(ctx context.Context, bin, tmp, file string) (*nginx, string) {
	if bin == "" || bin == "none" {
		return nil, "disabled (-nginx none)"
	}
	path, err := exec.LookPath(bin)
	if err != nil && !strings.Contains(bin, "/") {
		path, err = exec.LookPath(filepath.Join("/usr/sbin", bin))
	}
	if err != nil {
		return nil, bin + " not found: install it with `apt-get install -y nginx`"
	}
	dir := filepath.Join(tmp, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err.Error()
	}
	port, err := freePort()
	if err != nil {
		return nil, err.Error()
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, dir, addr, file), 0o644); err != nil {
		return nil, err.Error()
	}
	var out bytes.Buffer
	cmd := exec.Command(path, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Sprintf("starting nginx: %v", err)
	}
	n := &nginx{cmd: cmd, url: "http://" + addr + "/artifacts.zip", exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(n.exited)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return n, ""
		}
		select {
		case <-n.exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return nil, fmt.Sprintf("nginx exited at start: %s %s", strings.TrimSpace(out.String()), strings.TrimSpace(string(log)))
		case <-ctx.Done():
			n.stop()
			return nil, ctx.Err().Error()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.stop()
			return nil, "nginx did not listen within 10 s"
		}
	}
}

func (n *nginx) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}
