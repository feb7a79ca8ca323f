package benchkit

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStartNginx serves a file with each program's settings and reads it
// back; the written config carries the asked workers and connections.
func TestStartNginx(t *testing.T) {
	if _, err := exec.LookPath("/usr/sbin/nginx"); err != nil {
		if _, err := exec.LookPath("nginx"); err != nil {
			t.Skip("nginx not installed")
		}
	}
	for _, tc := range []struct {
		name               string
		workers, conns     int
		wantWorkers, wantC string
	}{
		{"artifacts", 1, 64, "worker_processes 1;", "worker_connections 64;"},
		{"scale", 0, 1024, "worker_processes auto;", "worker_connections 1024;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			file := filepath.Join(tmp, "blob")
			want := bytes.Repeat([]byte(tc.name), 1000)
			if err := os.WriteFile(file, want, 0o644); err != nil {
				t.Fatal(err)
			}
			n, why := StartNginx(context.Background(), "nginx", tmp, file, tc.workers, tc.conns)
			if n == nil {
				t.Fatalf("StartNginx: %s", why)
			}
			defer n.Stop()
			conf, err := os.ReadFile(filepath.Join(tmp, "nginx", "nginx.conf"))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range []string{tc.wantWorkers, tc.wantC} {
				if !strings.Contains(string(conf), line) {
					t.Errorf("nginx.conf lacks %q:\n%s", line, conf)
				}
			}
			resp, err := http.Get(n.URL)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
				t.Errorf("GET %s = %d, %d bytes, %v; want 200 and the file's %d bytes", n.URL, resp.StatusCode, len(got), err, len(want))
			}
		})
	}
}

func TestStartNginxMissing(t *testing.T) {
	for _, tc := range []struct{ bin, want string }{
		{"none", "disabled"},
		{"baton-bench-no-such-nginx", "apt-get install -y nginx"},
	} {
		n, why := StartNginx(context.Background(), tc.bin, t.TempDir(), "x", 1, 64)
		if n != nil || !strings.Contains(why, tc.want) {
			t.Errorf("StartNginx(%q) = %v, %q; want nil and %q", tc.bin, n, why, tc.want)
		}
	}
}
