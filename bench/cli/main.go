// Command cli measures `baton artifacts get` against curl downloading the
// same URL in the same run: it builds ./cmd/baton, starts `baton server`
// with a fresh data directory, takes a job as a runner, publishes a zip of
// -size random bytes from it, and then alternates curl and the CLI, each
// writing the archive to a file, -rounds times. The CLI also verifies the
// SHA-256 (the archive's ETag) while it writes. Target: CLI ≥ 0.9× curl.
//
//	go run ./bench/cli                    # 256 MiB, 5 rounds each
//	go run ./bench/cli -size 64 -rounds 3
package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/batonci/baton/bench/internal/benchkit"
)

func main() {
	sizeMiB := flag.Int("size", 256, "archive size, MiB")
	rounds := flag.Int("rounds", 5, "downloads per tool")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	flag.Parse()
	if err := run(*sizeMiB, *rounds, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cli:", err)
		os.Exit(1)
	}
}

func run(sizeMiB, rounds int, keep bool) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "bench-cli-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(tmp)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		return fmt.Errorf("curl is needed for the baseline: %w", err)
	}
	bin, err := benchkit.BuildBaton(context.Background(), tmp)
	if err != nil {
		return err
	}
	port, err := benchkit.FreePort()
	if err != nil {
		return err
	}
	logPath := filepath.Join(tmp, "baton.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "server", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--data-dir", filepath.Join(tmp, "data"),
		"--max-artifact-size", fmt.Sprint(sizeMiB+16))
	cmd.Stderr = logFile
	srv, err := benchkit.StartServer(ctx, cmd, fmt.Sprintf("http://127.0.0.1:%d", port), "/-/readiness", true, 30*time.Second)
	if err != nil {
		return fmt.Errorf("%w: %s", err, benchkit.LogTail(logPath))
	}
	defer srv.Stop(10 * time.Second)
	a := &api{base: srv.URL, token: srv.Token}

	// A project whose pipeline has one job, taken as a runner; the job
	// publishes the archive.
	var proj struct {
		ID   int64  `json:"id"`
		Path string `json:"path_with_namespace"`
	}
	if err := a.call("POST", "/api/v4/projects", "application/x-www-form-urlencoded", strings.NewReader("name=bench"), nil, 201, &proj); err != nil {
		return err
	}
	if err := benchkit.PushPipeline(context.Background(), srv.URL, srv.Token, tmp, proj.Path, "build:\n  script: [echo]\n"); err != nil {
		return err
	}
	var rn struct{ Token string }
	if err := a.call("POST", "/api/v4/user/runners", "application/x-www-form-urlencoded",
		strings.NewReader("runner_type=instance_type&run_untagged=true"), nil, 201, &rn); err != nil {
		return err
	}
	var job struct {
		ID      int64  `json:"id"`
		Token   string `json:"token"`
		JobInfo struct {
			PipelineID int64 `json:"pipeline_id"`
		} `json:"job_info"`
	}
	reqBody, _ := json.Marshal(map[string]any{"token": rn.Token, "info": map[string]any{"features": map[string]bool{"two_phase_job_commit": true}}})
	for deadline := time.Now().Add(30 * time.Second); job.ID == 0; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("no job for the runner within 30 s")
		}
		_ = a.call("POST", "/api/v4/jobs/request", "application/json", bytes.NewReader(reqBody), http.Header{"Runner-Token": {rn.Token}}, 201, &job)
	}
	ack, _ := json.Marshal(map[string]any{"token": job.Token, "state": "running"})
	if err := a.call("PUT", fmt.Sprintf("/api/v4/jobs/%d", job.ID), "application/json", bytes.NewReader(ack), http.Header{"Job-Token": {job.Token}}, 200, nil); err != nil {
		return err
	}
	zipPath := filepath.Join(tmp, "big.zip")
	if err := makeZip(zipPath, int64(sizeMiB)<<20); err != nil {
		return err
	}
	zf, err := os.Open(zipPath)
	if err != nil {
		return err
	}
	st, _ := zf.Stat()
	err = a.callSized("PUT", fmt.Sprintf("/api/v4/jobs/%d/artifacts/publish/big", job.ID), zf, st.Size(), http.Header{"Job-Token": {job.Token}}, 201)
	zf.Close()
	if err != nil {
		return err
	}
	_ = os.Remove(zipPath)

	pipeline := fmt.Sprint(job.JobInfo.PipelineID)
	u := fmt.Sprintf("%s/api/v4/projects/%d/pipelines/%s/artifacts?job=build&artifact=big", srv.URL, proj.ID, pipeline)
	out := filepath.Join(tmp, "out.zip")
	curlArgs := []string{"-sf", "-H", "PRIVATE-TOKEN: " + srv.Token, "-o", out, u}
	cliArgs := []string{"artifacts", "get", "--project", fmt.Sprint(proj.ID), "--pipeline", pipeline, "--job", "build", "--artifact", "big", "--output", out}
	env := append(os.Environ(), "BATON_URL="+srv.URL, "BATON_TOKEN="+srv.Token)
	var curlT, cliT, sumT, curlCPU, cliCPU []time.Duration
	for i := range rounds + 1 {
		for _, tool := range []string{"curl", "baton", "curl+sha256sum"} {
			_ = os.Remove(out)
			var c *exec.Cmd
			switch tool {
			case "curl":
				c = exec.Command("curl", curlArgs...)
			case "curl+sha256sum":
				// What a script does for the same guarantee: download, then hash.
				c = exec.Command("sh", "-c", `curl "$@" && sha256sum "$OUT" >/dev/null`, "sh")
				c.Args = append(c.Args, curlArgs...)
				c.Env = append(os.Environ(), "OUT="+out)
			default:
				c = exec.Command(bin, cliArgs...)
				c.Env = env
			}
			var stderr bytes.Buffer
			c.Stderr = &stderr
			start := time.Now()
			if err := c.Run(); err != nil {
				return fmt.Errorf("%s: %w: %s", tool, err, stderr.String())
			}
			d := time.Since(start)
			if fi, err := os.Stat(out); err != nil || fi.Size() != st.Size() {
				return fmt.Errorf("%s wrote %v bytes, want %d", tool, fi, st.Size())
			}
			if i == 0 {
				continue // warm-up: page cache, connection setup
			}
			cpu := c.ProcessState.UserTime() + c.ProcessState.SystemTime()
			switch tool {
			case "curl":
				curlT, curlCPU = append(curlT, d), append(curlCPU, cpu)
			case "baton":
				cliT, cliCPU = append(cliT, d), append(cliCPU, cpu)
			default:
				sumT = append(sumT, d)
			}
		}
	}
	_ = os.Remove(out)
	mbps := func(d time.Duration) float64 { return float64(st.Size()) / 1e6 / d.Seconds() }
	mc, mb := median(curlT), median(cliT)
	fmt.Printf("download of a %d MiB archive by the pipeline route, %d rounds each (median wall time of the process):\n", sizeMiB, rounds)
	fmt.Printf("  curl -o FILE                     %8.1f MB/s  (%v; best %v; CPU %v)\n", mbps(mc), mc.Round(time.Millisecond),
		slices.Min(curlT).Round(time.Millisecond), median(curlCPU).Round(time.Millisecond))
	fmt.Printf("  baton artifacts get --output F   %8.1f MB/s  (%v; best %v; CPU %v), SHA-256 verified\n", mbps(mb), mb.Round(time.Millisecond),
		slices.Min(cliT).Round(time.Millisecond), median(cliCPU).Round(time.Millisecond))
	fmt.Printf("  curl + sha256sum (same guarantee)%8.1f MB/s  (%v)\n", mbps(median(sumT)), median(sumT).Round(time.Millisecond))
	ok := "met"
	if mc.Seconds()/mb.Seconds() < 0.9 {
		ok = "MISSED"
	}
	fmt.Printf("  ratio baton/curl: %.2f×  (target ≥ 0.9×: %s)\n", mc.Seconds()/mb.Seconds(), ok)
	fmt.Printf("  all curl: %v\n  all baton: %v\n  load average: %s", curlT, cliT, loadavg())
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, k int) bool { return s[i] < s[k] })
	return s[len(s)/2]
}

// makeZip writes a zip holding one stored (uncompressed) file of size
// random bytes.
func makeZip(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: "blob.bin", Method: zip.Store})
	if err != nil {
		return err
	}
	if _, err := io.CopyN(w, rand.Reader, size); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}

// api calls the server with root's token.
type api struct{ base, token string }

func (a *api) call(method, path, ct string, body io.Reader, h http.Header, want int, out any) error {
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("PRIVATE-TOKEN", a.token)
	req.Header.Set("Content-Type", ct)
	for k, v := range h {
		req.Header[k] = v
	}
	return a.do(req, want, out)
}

func (a *api) callSized(method, path string, body io.Reader, size int64, h http.Header, want int) error {
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	for k, v := range h {
		req.Header[k] = v
	}
	return a.do(req, want, nil)
}

func (a *api) do(req *http.Request, want int, out any) error {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return string(b)
}
