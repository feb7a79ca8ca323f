package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
	"github.com/batonci/baton/internal/tests3"
)

// bucketName is the bucket the replicas share; they create it at start.
const bucketName = "baton-scale"

// replica is a `baton server` child process.
type replica struct {
	name    string
	url     string
	token   string // root's token, printed by the replica that created root
	logPath string
	proc    *benchkit.Server
}

// startReplica starts bin as one replica: its own data directory, the
// shared database, bucket and repository directory. It waits for /-/readiness and, when
// wantToken, for the administrator token the first replica prints.
func startReplica(ctx context.Context, bin, tmp, name, dbURL string, b tests3.Bucket, maxUploadMiB int64, download string, wantToken bool) (*replica, error) {
	reposDir := filepath.Join(tmp, "repos") // shared, as NFS would be
	port, err := benchkit.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	r := &replica{name: name, logPath: filepath.Join(tmp, name+".log")}
	logFile, err := os.Create(r.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "server", "--listen", addr, "--data-dir", filepath.Join(tmp, "data-"+name),
		"--repos-dir", reposDir, "--database-url", dbURL, "--log-level", "warn",
		"--artifact-store", "s3", "--s3-endpoint", b.Endpoint, "--s3-bucket", bucketName, "--s3-region", b.Region,
		"--s3-access-key", b.AccessKey, "--s3-secret-key", b.SecretKey,
		"--max-artifact-size", fmt.Sprint(maxUploadMiB), "--artifact-download", download)
	cmd.Stderr = logFile
	r.proc, err = benchkit.StartServer(ctx, cmd, "http://"+addr, "/-/readiness", wantToken, 60*time.Second)
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w: %s", name, err, benchkit.LogTail(r.logPath))
	}
	r.url, r.token = r.proc.URL, r.proc.Token
	return r, nil
}

func (r *replica) stop() { r.proc.Stop(15 * time.Second) }

// startNginx serves file with sendfile (as in bench/artifacts), with a
// worker per core and enough connections for the consumers; it returns nil
// and why when nginx is disabled, missing or does not start.
func startNginx(ctx context.Context, bin, tmp, file string) (*benchkit.Nginx, string) {
	return benchkit.StartNginx(ctx, bin, tmp, file, 0, 1024)
}
