package tests3

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// toolsModule is the module path of the repository's tools module, whose
// go.mod pins the versitygw version.
const toolsModule = "github.com/batonci/baton/tools"

// build is the per-process result of building versitygw. It is the
// package's only state: one build per test binary, however many tests.
var build struct {
	once sync.Once
	path string
	err  error
}

// gatewayBinary returns the path of a versitygw binary, building it on the
// first call of the process unless the cache already holds one built from
// the same tools/go.mod and go.sum. It skips (or, with CI set, fails) the
// test when that is impossible.
func gatewayBinary(tb testing.TB) string {
	tb.Helper()
	if _, err := buildOnce(); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("no S3 server for tests: %v", err)
		}
		tb.Skipf("no S3 server for tests (set BATON_TEST_S3_ENDPOINT or make versitygw buildable): %v", err)
	}
	return build.path
}

// buildOnce builds versitygw once per process.
func buildOnce() (string, error) {
	build.once.Do(func() { build.path, build.err = buildGateway() })
	return build.path, build.err
}

func buildGateway() (string, error) {
	tools, err := toolsDir()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, name := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(tools, name))
		if err != nil {
			return "", fmt.Errorf("reading tools module: %w", err)
		}
		h.Write(b)
	}
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "versitygw-"+hex.EncodeToString(h.Sum(nil))[:16])
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("creating test cache: %w", err)
	}
	// go test runs packages in parallel processes; let one of them build
	// while the others wait for its result.
	unlock, err := lockFile(filepath.Join(cache, "versitygw.lock"))
	if err != nil {
		return "", fmt.Errorf("locking test cache: %w", err)
	}
	defer unlock()
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	// Build to a private name and rename, so that test processes of other
	// packages building at the same time never run a half-written binary.
	tmp := fmt.Sprintf("%s.tmp%d", bin, os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "github.com/versity/versitygw/cmd/versitygw")
	cmd.Dir = tools
	out, err := cmd.CombinedOutput()
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building versitygw in %s: %w\n%s", tools, err, out)
	}
	if err := os.Rename(tmp, bin); err != nil {
		return "", fmt.Errorf("caching versitygw: %w", err)
	}
	return bin, nil
}

// cacheDir is $BATON_TEST_CACHE, or baton-test in the user cache directory.
func cacheDir() (string, error) {
	if d := os.Getenv("BATON_TEST_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache directory (set BATON_TEST_CACHE): %w", err)
	}
	return filepath.Join(d, "baton-test"), nil
}

// toolsDir walks up from the working directory (a test runs in its
// package's directory) to the directory of the tools module.
func toolsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if modulePath(filepath.Join(dir, "go.mod")) == "github.com/batonci/baton" {
			tools := filepath.Join(dir, "tools")
			if modulePath(filepath.Join(tools, "go.mod")) != toolsModule {
				return "", fmt.Errorf("%s is not the %s module", tools, toolsModule)
			}
			return tools, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no github.com/batonci/baton go.mod above the working directory")
		}
		dir = parent
	}
}

// modulePath returns the module path declared in a go.mod, or "".
func modulePath(gomod string) string {
	b, err := os.ReadFile(gomod)
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if f := bytes.Fields(sc.Bytes()); len(f) == 2 && string(f[0]) == "module" {
			return string(bytes.Trim(f[1], `"`))
		}
	}
	return ""
}

// startGateway runs versitygw on a temporary directory and a free loopback
// port until the test ends.
func startGateway(tb testing.TB) Bucket {
	tb.Helper()
	bin := gatewayBinary(tb)
	b := Bucket{Region: "us-east-1", AccessKey: "baton-test", SecretKey: "baton-test-" + randomHex(tb, 8)}
	root := tb.TempDir()
	var lastErr error
	// The free port may be taken between probing and versitygw binding it.
	for range 3 {
		addr, err := freeAddr()
		if err != nil {
			tb.Fatal(err)
		}
		if lastErr = runGateway(tb, bin, addr, root, b); lastErr == nil {
			b.Endpoint = addr
			return b
		}
	}
	tb.Fatalf("starting versitygw: %v", lastErr)
	return b
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// runGateway starts versitygw and waits until it answers HTTP. On success the
// process is stopped at test cleanup; on failure it is already stopped.
func runGateway(tb testing.TB, bin, addr, root string, b Bucket) error {
	stop, err := launch(bin, addr, root, filepath.Join(tb.TempDir(), "versitygw.log"), b)
	if err != nil {
		return err
	}
	tb.Cleanup(stop)
	return nil
}

// launch starts versitygw serving root on addr, logging to logPath, and
// waits until it answers HTTP. On failure it is already stopped.
func launch(bin, addr, root, logPath string, b Bucket) (stop func(), err error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--quiet", "--access", b.AccessKey, "--secret", b.SecretKey,
		"--region", b.Region, "--port", addr, "posix", root)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("running %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func() {
		cmd.Process.Kill()
		<-exited
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	for {
		if answers(ctx, addr) {
			var once sync.Once
			return func() { once.Do(kill) }, nil
		}
		select {
		case err := <-exited:
			exited <- err
			kill()
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("versitygw exited: %v\n%s", err, out)
		case <-ctx.Done():
			kill()
			out, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("versitygw did not answer on %s: %w\n%s", addr, ctx.Err(), out)
		case <-ticker.C:
		}
	}
}

// Start runs a versitygw gateway on dir (its buckets and log) and a free
// loopback port, for programs such as benchmarks, and creates bucket on
// it. It builds versitygw as the tests do. stop ends the gateway.
func Start(dir, bucket string) (b Bucket, stop func(), err error) {
	bin, err := buildOnce()
	if err != nil {
		return Bucket{}, nil, err
	}
	root := filepath.Join(dir, "s3")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Bucket{}, nil, err
	}
	b = Bucket{Region: "us-east-1", AccessKey: "baton-bench", SecretKey: "baton-bench-secret", Bucket: bucket}
	for range 3 {
		addr, aerr := freeAddr()
		if aerr != nil {
			return Bucket{}, nil, aerr
		}
		if stop, err = launch(bin, addr, root, filepath.Join(dir, "versitygw.log"), b); err == nil {
			b.Endpoint = addr
			break
		}
	}
	if err != nil {
		return Bucket{}, nil, fmt.Errorf("starting versitygw: %w", err)
	}
	if bucket != "" {
		c, err := minio.New(b.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(b.AccessKey, b.SecretKey, ""), Region: b.Region,
			BucketLookup: minio.BucketLookupPath})
		if err == nil {
			err = c.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{Region: b.Region})
		}
		if err != nil {
			stop()
			return Bucket{}, nil, fmt.Errorf("creating bucket %s: %w", bucket, err)
		}
	}
	return b, stop, nil
}

// answers reports whether something serves HTTP on addr (an anonymous
// request gets 403 from S3, which is fine).
func answers(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
