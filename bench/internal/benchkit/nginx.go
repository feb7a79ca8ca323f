package benchkit

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Nginx is a child nginx serving one file at URL with sendfile.
type Nginx struct {
	Cmd    *exec.Cmd
	URL    string
	exited chan struct{}
}

const nginxInstall = "install it with `apt-get install -y nginx` (Debian package nginx)"

const nginxConf = `daemon off;
master_process on;
worker_processes %[5]s;
%[1]s
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections %[6]d; }
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

// StartNginx runs bin serving file on a free 127.0.0.1 port, with its
// files under tmpDir/nginx, workers worker processes (0: one per core) of
// connections connections each. When nginx is disabled ("" or "none"),
// missing or does not start, it returns nil and why.
func StartNginx(ctx context.Context, bin, tmpDir, file string, workers, connections int) (*Nginx, string) {
	if bin == "" || bin == "none" {
		return nil, "disabled (-nginx none)"
	}
	path, err := exec.LookPath(bin)
	if err != nil && !strings.Contains(bin, "/") {
		path, err = exec.LookPath(filepath.Join("/usr/sbin", bin))
	}
	if err != nil {
		return nil, fmt.Sprintf("%s not found: %s", bin, nginxInstall)
	}
	dir := filepath.Join(tmpDir, "nginx")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Sprintf("creating %s: %v", dir, err)
	}
	port, err := FreePort()
	if err != nil {
		return nil, err.Error()
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	w := "auto"
	if workers > 0 {
		w = fmt.Sprint(workers)
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxConf, user, dir, addr, file, w, connections), 0o644); err != nil {
		return nil, fmt.Sprintf("writing %s: %v", conf, err)
	}
	var out bytes.Buffer
	cmd := exec.Command(path, "-p", dir, "-c", conf, "-e", filepath.Join(dir, "error.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Sprintf("starting nginx: %v", err)
	}
	n := &Nginx{Cmd: cmd, URL: "http://" + addr + "/artifacts.zip", exited: make(chan struct{})}
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
			n.Stop()
			return nil, ctx.Err().Error()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.Stop()
			return nil, "nginx did not listen within 10 s"
		}
	}
}

// Stop asks nginx to quit (SIGTERM: fast shutdown), killing it after 5 s.
func (n *Nginx) Stop() {
	_ = n.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(5 * time.Second):
		_ = n.Cmd.Process.Kill()
		<-n.exited
	}
}
