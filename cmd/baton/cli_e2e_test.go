package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/batonci/baton/internal/cli"
)

// cliCI: producer writes a 300 kB incompressible blob into its archive and
// publishes notes with `baton artifacts publish` (the runner put baton on
// its PATH; it uses only the job's CI_* variables); consumer, in the same
// stage, reads the published file and then the producer's archive with the
// CLI, waiting for both, and checks an exit code; sleeper keeps the
// pipeline running while the test drives the CLI from outside.
const cliCI = `
producer:
  stage: build
  script:
    - mkdir -p out && head -c 300000 /dev/urandom > out/blob.bin && echo hello > out/hello.txt
    - echo "notes of $CI_JOB_ID" > notes.txt
    - baton artifacts publish notes notes.txt --json > published.json
    - cat published.json
    - sleep 2
  artifacts:
    paths: [out/]
consumer:
  stage: build
  script:
    - baton artifacts cat notes.txt --job producer --artifact notes --wait 60s > got.txt
    - echo "consumer got $(cat got.txt)"
    - baton artifacts get out/hello.txt --job producer --wait 60s
    - echo "hello file $(cat hello.txt)"
    - baton artifacts ls --job producer | grep blob.bin
    - 'baton artifacts cat nothing.txt --job nosuchjob || echo "missing exit=$?"'
sleeper:
  stage: build
  script:
    - echo "$CI_JOB_ID" > /dev/null; sleep 25
  artifacts:
    paths: [nothing/]
`

// cliEnv is an Env for the CLI run in-process: its own config dir, no CI_*
// variables, the given extra environment.
type cliEnv struct {
	t    *testing.T
	dir  string
	env  map[string]string
	http *http.Client // nil: the CLI's own
}

func newCLIEnv(t *testing.T) *cliEnv {
	return &cliEnv{t: t, dir: t.TempDir(), env: map[string]string{}}
}

// run runs `baton args...` and returns its exit code, stdout and stderr.
func (c *cliEnv) run(args ...string) (int, string, string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	env := cli.Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return c.env[k] },
		ConfigDir: c.dir, PollInterval: 200 * time.Millisecond, HTTP: c.http}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	err := cli.Main(ctx, args, env)
	if err != nil {
		fmt.Fprintln(&errb, "baton:", err)
	}
	return cli.Code(err), out.String(), errb.String()
}

// must runs args and fails the test unless the exit code is want.
func (c *cliEnv) must(want int, args ...string) (string, string) {
	c.t.Helper()
	code, out, errs := c.run(args...)
	if code != want {
		c.t.Fatalf("baton %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errs)
	}
	return out, errs
}

// TestCLI drives the `baton` CLI against a real server on both engines:
// inside jobs run by Baton's runner with only CI_* variables (publish,
// cat with --wait, get, ls, an exit code), and from outside with a stored
// login: get by pipeline, commit, ref and job id, cat, ls, wait with a
// timeout, flags and environment over the stored login, refused config
// permissions, pipeline status and watch, --log, ci lint.
func TestCLI(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		in.startRunner(in.runnerToken(), 3)
		pid, _ := in.project("cli", map[string]string{".gitlab-ci.yml": cliCI})
		pl := in.latestPipeline(pid)
		var jobs map[string][]apiJobFull
		eventually(t, 90*time.Second, "producer and consumer finished", func() bool {
			jobs = in.jobs(pid, pl.ID, false)
			return len(jobs["consumer"]) > 0 && len(jobs["producer"]) > 0 &&
				jobs["consumer"][0].FinishedAt != nil && jobs["producer"][0].FinishedAt != nil
		})
		producer, consumer := jobs["producer"][0], jobs["consumer"][0]
		if producer.Status != "success" || consumer.Status != "success" {
			t.Fatalf("producer %s:\n%s\nconsumer %s:\n%s", producer.Status, in.trace(pid, producer.ID), consumer.Status, in.trace(pid, consumer.ID))
		}
		plog, clog := in.trace(pid, producer.ID), in.trace(pid, consumer.ID)
		for _, want := range []string{fmt.Sprintf("consumer got notes of %d", producer.ID), "hello file hello", "out/blob.bin", "missing exit=2"} {
			if !strings.Contains(clog, want) {
				t.Errorf("consumer log lacks %q:\n%s", want, clog)
			}
		}
		if !strings.Contains(plog, `"name": "notes"`) || !strings.Contains(plog, `"file_type": "published"`) || !strings.Contains(plog, `"verified": true`) {
			t.Errorf("producer log lacks the publish JSON:\n%s", plog)
		}

		root := map[string]string{"PRIVATE-TOKEN": in.token}
		_, archive, hdr := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/jobs/%d/artifacts", pid, producer.ID), root, nil)
		if len(archive) < 300000 || hdr.Get("ETag") == "" {
			t.Fatalf("producer archive: %d bytes, ETag %q", len(archive), hdr.Get("ETag"))
		}
		c := newCLIEnv(t)

		t.Run("login", func(t *testing.T) {
			if code, _, errs := c.run("login", "--url", in.url, "--token", "glpat-wrong"); code != cli.ExitAuth {
				t.Fatalf("login with a wrong token: exit %d, want %d: %s", code, cli.ExitAuth, errs)
			}
			out, _ := c.must(0, "login", "--url", in.url+"/", "--token", in.token, "--json")
			var got struct{ URL, User, Config string }
			if err := json.Unmarshal([]byte(out), &got); err != nil || got.User != "root" || got.URL != in.url {
				t.Fatalf("login --json: %q %v", out, err)
			}
			st, err := os.Stat(filepath.Join(c.dir, "baton", "config.json"))
			if err != nil || st.Mode().Perm() != 0o600 || got.Config != filepath.Join(c.dir, "baton", "config.json") {
				t.Fatalf("config file: %v %v", st, err)
			}
		})

		dir := t.TempDir()
		sc := []string{"--project", "root/cli", "--job", "producer"}
		byPipeline := append([]string{"--pipeline", fmt.Sprint(pl.ID)}, sc...)
		t.Run("get by pipeline, commit, ref and job id", func(t *testing.T) {
			for name, args := range map[string][]string{
				"pipeline": byPipeline,
				"commit":   append([]string{"--commit", pl.SHA[:10]}, sc...),
				"job":      {"--project", fmt.Sprint(pid), "--job", fmt.Sprint(producer.ID)},
			} {
				outFile := filepath.Join(dir, name+".zip")
				out, _ := c.must(0, append([]string{"artifacts", "get", "--output", outFile, "--json"}, args...)...)
				var tr struct {
					Size     int64
					SHA256   string
					Verified bool
					JobID    int64 `json:"job_id"`
				}
				if err := json.Unmarshal([]byte(out), &tr); err != nil {
					t.Fatalf("%s: %q: %v", name, out, err)
				}
				got, err := os.ReadFile(outFile)
				if err != nil || !bytes.Equal(got, archive) || !tr.Verified || tr.SHA256 != sha256hex(archive) || tr.JobID != producer.ID {
					t.Errorf("%s: %d bytes (%v), %+v", name, len(got), err, tr)
				}
				if _, err := os.Stat(outFile + ".part"); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: .part left behind: %v", name, err)
				}
			}
			// Without --output: the archive's own name, in the working dir.
			wd, _ := os.Getwd()
			defer os.Chdir(wd)
			_ = os.Chdir(dir)
			c.must(0, append([]string{"artifacts", "get"}, byPipeline...)...)
			if got, err := os.ReadFile(filepath.Join(dir, "artifacts.zip")); err != nil || !bytes.Equal(got, archive) {
				t.Errorf("default output: %d bytes, %v", len(got), err)
			}
		})

		t.Run("cat, ls and one file", func(t *testing.T) {
			out, _ := c.must(0, append([]string{"artifacts", "cat", "out/hello.txt"}, byPipeline...)...)
			if out != "hello\n" {
				t.Errorf("cat: %q", out)
			}
			blob := filepath.Join(dir, "blob.bin")
			out, _ = c.must(0, append([]string{"artifacts", "get", "out/blob.bin", "--output", blob, "--json"}, byPipeline...)...)
			data, _ := os.ReadFile(blob)
			if len(data) != 300000 || !strings.Contains(out, `"verified": true`) || !strings.Contains(out, sha256hex(data)) {
				t.Errorf("one file: %d bytes; %s", len(data), out)
			}
			out, _ = c.must(0, append([]string{"artifacts", "ls", "--json"}, byPipeline...)...)
			var files []struct{ Path, SHA256 string }
			if err := json.Unmarshal([]byte(out), &files); err != nil {
				t.Fatal(err)
			}
			sums := map[string]string{}
			for _, f := range files {
				sums[f.Path] = f.SHA256
			}
			if len(files) != 2 || sums["out/blob.bin"] != sha256hex(data) || sums["out/hello.txt"] != sha256hex([]byte("hello\n")) {
				t.Errorf("ls --json: %s", out)
			}
			c.must(cli.ExitNotFound, append([]string{"artifacts", "cat", "out/none.txt"}, byPipeline...)...)
			c.must(cli.ExitNotFound, "artifacts", "get", "--project", "root/nope", "--pipeline", "1", "--job", "producer", "--output", filepath.Join(dir, "x"))
			c.must(cli.ExitUsage, "artifacts", "get", "--project", "root/cli", "--job", "producer")
		})

		t.Run("published artifact and wait", func(t *testing.T) {
			out, _ := c.must(0, append([]string{"artifacts", "cat", "notes.txt", "--artifact", "notes"}, byPipeline...)...)
			if out != fmt.Sprintf("notes of %d\n", producer.ID) {
				t.Errorf("published: %q", out)
			}
			out, _ = c.must(0, append([]string{"artifacts", "wait", "--json"}, byPipeline...)...)
			if !strings.Contains(out, fmt.Sprintf(`"job_id": %d`, producer.ID)) || !strings.Contains(out, sha256hex(archive)) {
				t.Errorf("wait --json: %s", out)
			}
			// sleeper runs 25 s and then uploads nothing: a short wait times out.
			_, errs := c.must(cli.ExitTimeout, "artifacts", "wait", "--project", "root/cli", "--pipeline", fmt.Sprint(pl.ID), "--job", "sleeper", "--wait", "1500ms")
			if !strings.Contains(errs, "--wait 1.5s") {
				t.Errorf("timeout message: %s", errs)
			}
		})

		t.Run("flags and environment over the stored login", func(t *testing.T) {
			c.env["BATON_TOKEN"] = "glpat-bogus"
			c.must(cli.ExitAuth, append([]string{"artifacts", "ls"}, byPipeline...)...)
			c.must(0, append([]string{"artifacts", "ls", "--token", in.token}, byPipeline...)...)
			delete(c.env, "BATON_TOKEN")
			cfg := filepath.Join(c.dir, "baton", "config.json")
			if err := os.Chmod(cfg, 0o644); err != nil {
				t.Fatal(err)
			}
			_, errs := c.must(cli.ExitAuth, append([]string{"artifacts", "ls"}, byPipeline...)...)
			if !strings.Contains(errs, "chmod 600") {
				t.Errorf("world-readable config: %s", errs)
			}
			c.env["BATON_URL"], c.env["BATON_TOKEN"] = in.url, in.token
			c.must(0, append([]string{"artifacts", "ls"}, byPipeline...)...)
			delete(c.env, "BATON_URL")
			delete(c.env, "BATON_TOKEN")
			_ = os.Chmod(cfg, 0o600)
		})

		t.Run("ci lint", func(t *testing.T) {
			good, bad := filepath.Join(dir, "good.yml"), filepath.Join(dir, "bad.yml")
			_ = os.WriteFile(good, []byte(cliCI), 0o644)
			_ = os.WriteFile(bad, []byte("job:\n  stage: nope\n  script: [true]\n"), 0o644)
			out, _ := c.must(0, "ci", "lint", good, "--project", "root/cli")
			if !strings.Contains(out, "is valid") {
				t.Errorf("lint good: %s", out)
			}
			out, _ = c.must(cli.ExitFailed, "ci", "lint", bad, "--project", "root/cli", "--json")
			var res struct {
				Valid  bool
				Errors []string
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || res.Valid || len(res.Errors) == 0 || !strings.Contains(res.Errors[0], "stage") {
				t.Errorf("lint bad --json: %s %v", out, err)
			}
		})

		t.Run("pipeline status, log and watch", func(t *testing.T) {
			pa := []string{"--project", "root/cli", "--pipeline", fmt.Sprint(pl.ID)}
			out, _ := c.must(0, append([]string{"pipeline", "status"}, pa...)...)
			for _, want := range []string{fmt.Sprintf("Pipeline #%d", pl.ID), "build", "✔ producer", "consumer", "sleeper"} {
				if !strings.Contains(out, want) {
					t.Errorf("status lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("status has colours off a terminal:\n%q", out)
			}
			out, _ = c.must(0, append([]string{"pipeline", "status", "--json"}, pa...)...)
			var v struct {
				Pipeline struct{ ID int64 }
				Stages   []struct {
					Name string
					Jobs []struct{ Name, Status string }
				}
			}
			if err := json.Unmarshal([]byte(out), &v); err != nil || v.Pipeline.ID != pl.ID || len(v.Stages) != 1 || len(v.Stages[0].Jobs) != 3 {
				t.Errorf("status --json: %s %v", out, err)
			}
			out, _ = c.must(0, append([]string{"pipeline", "watch", "--log", "consumer"}, pa...)...)
			if !strings.Contains(out, "consumer got notes of") || strings.Contains(out, "\x1b[") || !strings.Contains(clog, "\x1b[") {
				t.Errorf("--log off a terminal (ANSI must go):\n%q", out)
			}
			// watch follows the pipeline until sleeper ends it.
			out, _ = c.must(0, append([]string{"pipeline", "watch", "--json"}, pa...)...)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			var last struct{ Pipeline struct{ Status string } }
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Pipeline.Status != "success" ||
				!strings.Contains(out, `"name":"sleeper","stage":"build","status":"success"`) {
				t.Errorf("watch --json:\n%s", out)
			}
		})

		t.Run("by ref once the pipeline succeeded", func(t *testing.T) {
			outFile := filepath.Join(dir, "ref.zip")
			c.must(0, append([]string{"artifacts", "get", "--ref", "main", "--output", outFile}, sc...)...)
			if got, err := os.ReadFile(outFile); err != nil || !bytes.Equal(got, archive) {
				t.Errorf("get --ref: %d bytes, %v", len(got), err)
			}
			// The ref scope has no manifest route: ls finds the job first.
			out, _ := c.must(0, append([]string{"artifacts", "ls", "--ref", "main"}, sc...)...)
			if !strings.Contains(out, "out/hello.txt") || !strings.Contains(out, sha256hex([]byte("hello\n"))) {
				t.Errorf("ls --ref: %s", out)
			}
		})
	})
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// cutProxy forwards to a Baton server; while cut is set it ends the first
// answer's body after cutAfter bytes by closing the connection, as a killed
// download would. It records each request's Range and If-Range.
type cutProxy struct {
	target   string
	cutAfter int64
	mu       sync.Mutex
	cut      bool
	seen     []string
}

func (p *cutProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.seen = append(p.seen, r.Header.Get("Range")+"|"+r.Header.Get("If-Range"))
	cut := p.cut
	p.cut = false
	p.mu.Unlock()
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), nil)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	if !cut {
		_, _ = io.Copy(w, resp.Body)
		return
	}
	_, _ = io.CopyN(w, resp.Body, p.cutAfter)
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler) // the client sees the connection drop
}

func (p *cutProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestCLIResumeAndVerify: a download cut off mid-way leaves OUTPUT.part;
// the next run asks for the rest with Range and If-Range on the ETag and
// ends with the whole, verified file. A .part whose bytes were corrupted
// is detected by the SHA-256 check (exit 4) and deleted. A progress bar is
// drawn only when stderr is a terminal (a real pty).
func TestCLIResumeAndVerify(t *testing.T) {
	in := startBaton(t, engines()[0])
	in.startRunner(in.runnerToken(), 1)
	pid, _ := in.project("resume", map[string]string{".gitlab-ci.yml": `
build:
  script:
    - mkdir -p out && head -c 2000000 /dev/urandom > out/blob.bin
  artifacts:
    paths: [out/]
`})
	pl := in.latestPipeline(pid)
	in.waitPipeline(pid, pl.ID, 90*time.Second, "success")
	_, archive, hdr := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts?job=build", pid, pl.ID), map[string]string{"PRIVATE-TOKEN": in.token}, nil)
	etag := hdr.Get("ETag")

	proxy := &cutProxy{target: in.url, cutAfter: 700000}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: proxy}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	c := newCLIEnv(t)
	c.env["BATON_URL"], c.env["BATON_TOKEN"] = "http://"+ln.Addr().String(), in.token
	out := filepath.Join(t.TempDir(), "site.zip")
	get := []string{"artifacts", "get", "--project", "root/resume", "--pipeline", fmt.Sprint(pl.ID), "--job", "build", "--output", out, "--json"}

	cutOnce := func() int64 {
		t.Helper()
		proxy.mu.Lock()
		proxy.cut = true
		proxy.mu.Unlock()
		_, errs := c.must(cli.ExitServer, get...)
		if !strings.Contains(errs, "run the same command again to resume") {
			t.Errorf("cut download: %s", errs)
		}
		st, err := os.Stat(out + ".part")
		if err != nil || st.Size() == 0 || st.Size() > proxy.cutAfter {
			t.Fatalf(".part after the cut: %v %v", st, err)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("output exists after a cut download: %v", err)
		}
		return st.Size()
	}

	t.Run("resume", func(t *testing.T) {
		have := cutOnce()
		n := len(proxy.requests())
		stdout, _ := c.must(0, get...)
		reqs := proxy.requests()[n:]
		if len(reqs) != 1 || reqs[0] != fmt.Sprintf("bytes=%d-|%s", have, etag) {
			t.Errorf("resume requests %q, want Range from %d with If-Range %s", reqs, have, etag)
		}
		var tr struct {
			Resumed  int64 `json:"resumed_from"`
			Verified bool
		}
		_ = json.Unmarshal([]byte(stdout), &tr)
		got, _ := os.ReadFile(out)
		if !bytes.Equal(got, archive) || tr.Resumed != have || !tr.Verified {
			t.Errorf("resumed download: %d bytes of %d, %s", len(got), len(archive), stdout)
		}
		if _, err := os.Stat(out + ".part"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf(".part left: %v", err)
		}
		_ = os.Remove(out)
	})

	t.Run("resume one file", func(t *testing.T) {
		// The raw route answers Range too: 206 from the asked byte,
		// with the whole file's digest.
		_, whole, _ := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts/raw/out/blob.bin?job=build", pid, pl.ID), map[string]string{"PRIVATE-TOKEN": in.token}, nil)
		status, part, h := in.do("GET", fmt.Sprintf("/api/v4/projects/%d/pipelines/%d/artifacts/raw/out/blob.bin?job=build", pid, pl.ID),
			map[string]string{"PRIVATE-TOKEN": in.token, "Range": "bytes=1999990-"}, nil)
		if len(whole) != 2000000 || status != http.StatusPartialContent || !bytes.Equal(part, whole[1999990:]) ||
			h.Get("Content-Range") != "bytes 1999990-1999999/2000000" || h.Get("Repr-Digest") == "" {
			t.Fatalf("raw Range: %d, %d bytes, %v", status, len(part), h)
		}
		file := filepath.Join(filepath.Dir(out), "blob.bin")
		raw := []string{"artifacts", "get", "out/blob.bin", "--project", "root/resume", "--pipeline", fmt.Sprint(pl.ID), "--job", "build", "--output", file, "--json"}
		proxy.mu.Lock()
		proxy.cut = true
		proxy.mu.Unlock()
		c.must(cli.ExitServer, raw...)
		st, err := os.Stat(file + ".part")
		if err != nil || st.Size() == 0 {
			t.Fatalf(".part: %v %v", st, err)
		}
		n := len(proxy.requests())
		stdout, _ := c.must(0, raw...)
		if reqs := proxy.requests()[n:]; len(reqs) != 1 || !strings.HasPrefix(reqs[0], fmt.Sprintf("bytes=%d-|\"", st.Size())) {
			t.Errorf("resume requests %q", reqs)
		}
		got, _ := os.ReadFile(file)
		if !bytes.Equal(got, whole) || !strings.Contains(stdout, fmt.Sprintf(`"resumed_from": %d`, st.Size())) || !strings.Contains(stdout, `"verified": true`) {
			t.Errorf("resumed file: %d bytes; %s", len(got), stdout)
		}
	})

	t.Run("digest mismatch", func(t *testing.T) {
		cutOnce()
		f, err := os.OpenFile(out+".part", os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		_, _ = f.ReadAt(b, 1000)
		b[0] ^= 0xff
		_, _ = f.WriteAt(b, 1000)
		f.Close()
		_, errs := c.must(cli.ExitVerify, get...)
		if !strings.Contains(errs, "SHA-256 MISMATCH") || !strings.Contains(errs, sha256hex(archive)) {
			t.Errorf("mismatch message: %s", errs)
		}
		for _, p := range []string{out, out + ".part"} {
			if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s exists after a mismatch: %v", p, err)
			}
		}
		// The next run starts over and succeeds.
		c.must(0, get...)
		if got, _ := os.ReadFile(out); !bytes.Equal(got, archive) {
			t.Errorf("download after a mismatch: %d bytes", len(got))
		}
		_ = os.Remove(out)
	})

	t.Run("progress only on a terminal", func(t *testing.T) {
		ptmx, tty, err := pty.Open()
		if err != nil {
			if os.Getenv("CI") != "" { // CI has ptys: a skip there would hide a broken progress bar
				t.Fatalf("no pty: %v", err)
			}
			t.Skipf("no pty: %v", err)
		}
		defer ptmx.Close()
		var seen bytes.Buffer
		done := make(chan struct{})
		go func() { defer close(done); _, _ = io.Copy(&seen, ptmx) }()
		piped, err := os.CreateTemp(t.TempDir(), "stderr")
		if err != nil {
			t.Fatal(err)
		}
		for _, stderr := range []*os.File{tty, piped} {
			env := cli.OSEnv()
			env.Stdout, env.Stderr, env.ConfigDir = io.Discard, stderr, c.dir
			env.Getenv = func(k string) string { return c.env[k] }
			args := []string{"artifacts", "get", "--project", "root/resume", "--pipeline", fmt.Sprint(pl.ID), "--job", "build", "--output", out}
			if err := cli.Main(context.Background(), args, env); err != nil {
				t.Fatal(err)
			}
			_ = os.Remove(out)
		}
		tty.Close()
		<-done
		if s := seen.String(); !strings.Contains(s, "downloading site.zip") || !strings.Contains(s, "100%") {
			t.Errorf("terminal shows no progress bar: %q", s)
		}
		plain, _ := os.ReadFile(piped.Name())
		if strings.Contains(string(plain), "%") || !strings.Contains(string(plain), "SHA-256 verified") {
			t.Errorf("a progress bar on a file: %q", plain)
		}
	})
}

// watchCI runs long enough that a watch started before the runner sees
// every job move.
const watchCI = `
first:
  stage: build
  script: [sleep 2]
second:
  stage: test
  script: [sleep 1]
`

// watchTransport is the CLI's transport to a real server, recording each
// request; it cuts the first event stream after its first event (a dropped
// connection), or with missing sends event streams to a route that does
// not exist (a server without them).
type watchTransport struct {
	mu      sync.Mutex
	reqs    []string // method and path
	lastIDs []string // each event stream request's Last-Event-ID
	streams int
	missing bool
}

func (wt *watchTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	wt.mu.Lock()
	wt.reqs = append(wt.reqs, r.Method+" "+r.URL.Path)
	stream := strings.HasSuffix(r.URL.Path, "/events")
	if stream {
		wt.lastIDs = append(wt.lastIDs, r.Header.Get("Last-Event-ID"))
		wt.streams++
	}
	first := stream && wt.streams == 1
	wt.mu.Unlock()
	if stream && wt.missing {
		r = r.Clone(r.Context())
		r.URL.Path += "-missing"
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && first && !wt.missing && resp.StatusCode == http.StatusOK {
		resp.Body = &cutAfterEvent{rc: resp.Body}
	}
	return resp, err
}

func (wt *watchTransport) count(suffix string) int {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	n := 0
	for _, r := range wt.reqs {
		if strings.HasSuffix(strings.Split(r, "?")[0], suffix) {
			n++
		}
	}
	return n
}

// cutAfterEvent passes a stream through up to the end of its first event
// (the blank line after the first id: line) and then fails as a dropped
// connection does.
type cutAfterEvent struct {
	rc   io.ReadCloser
	seen []byte
	sent int
	cut  bool
}

func (c *cutAfterEvent) Read(p []byte) (int, error) {
	for !c.cut {
		if i := bytes.Index(c.seen, []byte("\nid: ")); i >= 0 {
			if k := bytes.Index(c.seen[i+1:], []byte("\n\n")); k >= 0 {
				c.seen, c.cut = c.seen[:i+1+k+2], true
				break
			}
		}
		if c.sent < len(c.seen) {
			break
		}
		buf := make([]byte, 32<<10)
		n, err := c.rc.Read(buf)
		c.seen = append(c.seen, buf[:n]...)
		if err != nil {
			return 0, err
		}
	}
	if c.sent < len(c.seen) {
		n := copy(p, c.seen[c.sent:])
		c.sent += n
		return n, nil
	}
	c.rc.Close()
	return 0, io.ErrUnexpectedEOF
}

func (c *cutAfterEvent) Close() error { return c.rc.Close() }

// TestCLIWatchStream: `baton pipeline watch` follows the pipeline's event
// stream from before its jobs run until it finished, asking for the jobs
// list never; a connection dropped after the first event is resumed with
// Last-Event-ID; a server without event streams is polled.
func TestCLIWatchStream(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		in := startBaton(t, e)
		pid, _ := in.project("watch", map[string]string{".gitlab-ci.yml": watchCI})
		pl := in.latestPipeline(pid)
		c := newCLIEnv(t)
		c.env["BATON_URL"], c.env["BATON_TOKEN"] = in.url, in.token
		wt := &watchTransport{}
		c.http = &http.Client{Transport: wt}
		pa := []string{"pipeline", "watch", "--json", "--project", "root/watch", "--pipeline", fmt.Sprint(pl.ID)}
		type result struct {
			code     int
			out, err string
		}
		done := make(chan result, 1)
		go func() {
			code, out, errs := c.run(pa...)
			done <- result{code, out, errs}
		}()
		// No runner yet: the jobs move only once watch follows.
		eventually(t, 30*time.Second, "watch following the stream", func() bool { return wt.count("/events") > 0 })
		in.startRunner(in.runnerToken(), 1)
		res := <-done
		if res.code != 0 {
			t.Fatalf("watch: exit %d\n%s\n%s", res.code, res.out, res.err)
		}
		lines := strings.Split(strings.TrimSpace(res.out), "\n")
		var last struct{ Pipeline struct{ Status string } }
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Pipeline.Status != "success" {
			t.Errorf("watch --json last line:\n%s", res.out)
		}
		for _, want := range []string{`"name":"first","stage":"build","status":"success"`, `"name":"second","stage":"test","status":"success"`} {
			if !strings.Contains(res.out, want) {
				t.Errorf("watch --json lacks %s:\n%s", want, res.out)
			}
		}
		wt.mu.Lock()
		reqs, lastIDs := wt.reqs, wt.lastIDs
		wt.mu.Unlock()
		if n := wt.count("/jobs"); n != 0 {
			t.Errorf("watch asked for the jobs %d times (polling): %q", n, reqs)
		}
		if len(lastIDs) < 2 || lastIDs[0] != "" || lastIDs[1] != "1" {
			t.Errorf("event stream requests' Last-Event-ID: %q, want a resume after event 1", lastIDs)
		}

		// A server without event streams (404): watch polls the jobs.
		c2 := newCLIEnv(t)
		c2.env = c.env
		wt2 := &watchTransport{missing: true}
		c2.http = &http.Client{Transport: wt2}
		out, _ := c2.must(0, pa...)
		if !strings.Contains(out, `"name":"second","stage":"test","status":"success"`) || wt2.count("/jobs") == 0 || wt2.count("/events") != 1 {
			t.Errorf("watch without a stream: %q\n%s", wt2.reqs, out)
		}
	})
}
