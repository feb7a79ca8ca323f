package runner

import (
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// checkFinal asserts the final update's fields and its trace checksum.
func checkFinal(t *testing.T, trace string, final map[string]any, state, reason string, exitCode int) {
	t.Helper()
	if final["state"] != state {
		t.Errorf("state = %v, want %s; trace:\n%s", final["state"], state, trace)
	}
	if got, _ := final["failure_reason"].(string); got != reason {
		t.Errorf("failure_reason = %q, want %q", got, reason)
	}
	if got, _ := final["exit_code"].(float64); int(got) != exitCode {
		t.Errorf("exit_code = %v, want %d", final["exit_code"], exitCode)
	}
	out, _ := final["output"].(map[string]any)
	if want := fmt.Sprintf("crc32:%08x", crc32.ChecksumIEEE([]byte(trace))); out["checksum"] != want {
		t.Errorf("output.checksum = %v, want %s (stored trace)", out["checksum"], want)
	}
	if n, _ := out["bytesize"].(float64); int(n) != len(trace) {
		t.Errorf("output.bytesize = %v, want %d", out["bytesize"], len(trace))
	}
}

func TestJobOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		script   []string
		after    []string
		state    string
		reason   string
		exitCode int
		inTrace  []string
	}{
		{"success", []string{"echo hello-$CI_JOB_ID", `test "$PWD" = "$CI_PROJECT_DIR"`}, []string{"echo after-ran; exit 9"},
			"success", "", 0, []string{"\x1b[32;1m$ echo hello-$CI_JOB_ID\x1b[0;m", "hello-1\n", "after-ran", "section_start:", "step_script", "Job succeeded"}},
		{"script failure keeps its exit code", []string{"echo before", "(exit 3)", "echo never-printed"}, []string{"echo after-ran"},
			"failed", "script_failure", 3, []string{"before", "after-ran", "exit code 3"}},
		{"pipefail", []string{"false | true", "echo never-printed"}, nil,
			"failed", "script_failure", 1, []string{"$ false | true"}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCoordinator(t)
			p := payload(100+i, tc.script, nil)
			if tc.after != nil {
				p["steps"] = append(p["steps"].([]map[string]any), afterScript(tc.after...))
			}
			j := f.enqueue(p)
			startRunner(t, newTestRunner(t, f, 1))
			trace, final, _ := waitFinal(t, f, j)
			checkFinal(t, trace, final, tc.state, tc.reason, tc.exitCode)
			for _, s := range tc.inTrace {
				if !strings.Contains(trace, s) {
					t.Errorf("trace lacks %q:\n%s", s, trace)
				}
			}
			if strings.Contains(trace, "never-printed\n") {
				t.Errorf("script went on after a failure:\n%s", trace)
			}
			_, updates, _ := f.snapshot(j)
			if updates[0]["state"] != "running" || len(updates[0]["output"].(map[string]any)) != 0 {
				t.Errorf("first update is not the acknowledgement: %v", updates[0])
			}
		})
	}
}

func TestSourcesAndVariables(t *testing.T) {
	repo, sha := gitRepo(t)
	f := newFakeCoordinator(t)
	p := payload(7, []string{"cat README", `cat "$MY_FILE"`, "echo plain=$PLAIN", "git rev-parse HEAD", "touch junk.tmp", `echo "derived=$DERIVED"`, `echo "raw=$RAWV"`}, map[string]any{
		"git_info": map[string]any{"repo_url": repo, "ref": "main", "sha": sha, "ref_type": "branch",
			"refspecs": []string{"+refs/heads/*:refs/remotes/origin/*"}, "depth": 1},
		"variables": []map[string]any{
			{"key": "GIT_STRATEGY", "value": "fetch"},
			{"key": "MY_FILE", "value": "file-content\n", "file": true},
			{"key": "PLAIN", "value": "v1"},
			{"key": "DERIVED", "value": "$PLAIN-x ${CI_CONCURRENT_ID} $$HOME $UNKNOWN."},
			{"key": "RAWV", "value": "$PLAIN", "raw": true},
		},
	})
	j := f.enqueue(p)
	r := newTestRunner(t, f, 1)
	startRunner(t, r)
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	for _, s := range []string{"hello from git", "file-content", "plain=v1", "derived=v1-x 0 $HOME .\n", "raw=$PLAIN\n", sha + "\n", "Fetching changes with git depth set to 1"} {
		if !strings.Contains(trace, s) {
			t.Errorf("trace lacks %q:\n%s", s, trace)
		}
	}
	dir := filepath.Join(r.cfg.BuildsDir, shortToken(f.runnerToken), "0", filepath.Base(repo))
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Errorf("project dir: %v", err)
	}

	t.Run("fetch strategy reuses the dir and git clean removes junk", func(t *testing.T) {
		p["id"] = 8
		j := f.enqueue(p)
		trace, final, _ := waitFinal(t, f, j)
		checkFinal(t, trace, final, "success", "", 0)
		if !strings.Contains(trace, "Reinitialized existing Git repository") || !strings.Contains(trace, "Removing junk.tmp") {
			t.Errorf("second fetch did not reuse the repository:\n%s", trace)
		}
	})
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name        string
		prelude     string
		jobTimeout  int
		stepTimeout int
	}{
		{"job timeout", "true", 1, 3600},
		{"step timeout", "true", 3600, 1},
		{"SIGTERM ignored: SIGKILL after the grace", "trap '' TERM", 1, 3600},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCoordinator(t)
			p := payload(160+i, []string{tc.prelude, "sleep 300 &", "echo $! > bg.pid", "echo started", "sleep 300"}, map[string]any{
				"runner_info": map[string]any{"timeout": tc.jobTimeout},
			})
			p["steps"].([]map[string]any)[0]["timeout"] = tc.stepTimeout
			p["steps"] = append(p["steps"].([]map[string]any), afterScript("echo after-ran"))
			j := f.enqueue(p)
			r := newTestRunner(t, f, 1)
			startRunner(t, r)
			trace, final, _ := waitFinal(t, f, j)
			checkFinal(t, trace, final, "failed", "job_execution_timeout", 0)
			if !strings.Contains(trace, "after-ran") {
				t.Errorf("after_script did not run after the timeout:\n%s", trace)
			}
			b, err := os.ReadFile(filepath.Join(r.cfg.BuildsDir, shortToken(f.runnerToken), "0", "project-1", "bg.pid"))
			if err != nil {
				t.Fatal(err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			eventually(t, "the background process to die", func() bool { return !alive(pid) })
		})
	}
}

// alive reports whether pid is a live (not zombie) process.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

func TestGracefulCancel(t *testing.T) {
	f := newFakeCoordinator(t)
	p := payload(10, []string{"echo started", "sleep 300", "echo never-printed"}, nil)
	p["steps"] = append(p["steps"].([]map[string]any), afterScript("echo after-ran"))
	f.patchHook = func(j *fakeJob, _ int, data []byte) int {
		if strings.Contains(string(data), "started") {
			j.canceling = true
		}
		return 0
	}
	j := f.enqueue(p)
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "failed", "job_canceled", 0)
	if !strings.Contains(trace, "after-ran") || strings.Contains(trace, "never-printed\n") {
		t.Errorf("graceful cancel: after_script must run, the script must stop:\n%s", trace)
	}
}

func TestHardCancel(t *testing.T) {
	f := newFakeCoordinator(t)
	p := payload(11, []string{"echo $$ > shell.pid", "echo started", "sleep 300"}, nil)
	p["steps"] = append(p["steps"].([]map[string]any), afterScript("touch after-ran"))
	f.patchHook = func(j *fakeJob, _ int, data []byte) int {
		if strings.Contains(string(data), "started") {
			j.forbidden = true
			return 403
		}
		return 0
	}
	j := f.enqueue(p)
	r := newTestRunner(t, f, 1)
	startRunner(t, r)
	eventually(t, "the runner to poll again after the abort", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return j.forbidden && f.requests >= 2
	})
	_, updates, _ := f.snapshot(j)
	if len(updates) != 1 {
		t.Errorf("updates after a hard cancel: %v", updates)
	}
	dir := filepath.Join(r.cfg.BuildsDir, shortToken(f.runnerToken), "0", "project-1")
	if _, err := os.Stat(filepath.Join(dir, "after-ran")); err == nil {
		t.Error("after_script ran after a hard cancel")
	}
	b, err := os.ReadFile(filepath.Join(dir, "shell.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	eventually(t, "the job shell to die", func() bool { return !alive(pid) })
}

func TestTraceResumesAfter416(t *testing.T) {
	f := newFakeCoordinator(t)
	lost := false
	// The first patch is stored but its answer is lost (502): the retry
	// starts at 0 again, gets 416 with Range: 0-N and must resume at N.
	f.patchHook = func(j *fakeJob, start int, data []byte) int {
		if !lost {
			lost = true
			j.trace = append(j.trace, data...)
			return 502
		}
		return 0
	}
	j := f.enqueue(payload(12, []string{"echo line-one", "sleep 0.2", "echo line-two"}, nil))
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	if strings.Count(trace, "line-one\n") != 1 || strings.Count(trace, "line-two\n") != 1 {
		t.Errorf("trace duplicated or lost output:\n%s", trace)
	}
}

func TestMasking(t *testing.T) {
	f := newFakeCoordinator(t)
	p := payload(13, []string{`echo "secret=$SECRET"`, `printf 'split=%s' "${SECRET:0:6}"; sleep 0.1; printf '%s\n' "${SECRET:6}"`, `echo "token=$CI_JOB_TOKEN"`, `echo "public=$PUBLIC"`, "echo pat=glpat-Abc123_x"}, nil)
	p["features"].(map[string]any)["token_mask_prefixes"] = []string{"glpat-"}
	addVar(p, map[string]any{"key": "SECRET", "value": "s3cr3t-value-42", "masked": true})
	addVar(p, map[string]any{"key": "CI_JOB_TOKEN", "value": p["token"], "masked": true})
	addVar(p, map[string]any{"key": "PUBLIC", "value": "visible-value"})
	j := f.enqueue(p)
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	if strings.Contains(trace, "s3cr3t-value-42") || strings.Contains(trace, p["token"].(string)) {
		t.Errorf("secret leaked:\n%s", trace)
	}
	for _, s := range []string{"secret=[MASKED]", "split=[MASKED]", "token=[MASKED]", "public=visible-value", "pat=glpat-[MASKED]\n"} {
		if !strings.Contains(trace, s) {
			t.Errorf("trace lacks %q:\n%s", s, trace)
		}
	}
}

func TestStepsWhenAndAllowFailure(t *testing.T) {
	f := newFakeCoordinator(t)
	p := payload(14, []string{"echo main"}, nil)
	step := func(name, when string, allow bool, lines ...string) map[string]any {
		return map[string]any{"name": name, "script": lines, "timeout": 3600, "when": when, "allow_failure": allow}
	}
	p["steps"] = append(p["steps"].([]map[string]any),
		step("lint", "on_success", true, "exit 4"),
		step("notify", "on_failure", false, "echo notify-ran"),
		step("release", "on_success", false, "echo release-ran"),
		afterScript("echo after-start", "sleep 300"),
	)
	addVar(p, map[string]any{"key": "RUNNER_AFTER_SCRIPT_TIMEOUT", "value": "500ms"})
	j := f.enqueue(p)
	startRunner(t, newTestRunner(t, f, 1))
	trace, final, _ := waitFinal(t, f, j)
	checkFinal(t, trace, final, "success", "", 0)
	for _, s := range []string{"step_lint failed with exit code 4, allowed to fail", "release-ran\n", "after-start\n", "after_script failed, but job will continue unaffected"} {
		if !strings.Contains(trace, s) {
			t.Errorf("trace lacks %q:\n%s", s, trace)
		}
	}
	if strings.Contains(trace, "notify-ran\n") {
		t.Errorf("on_failure step ran in a successful job:\n%s", trace)
	}
}

func TestAcknowledgement(t *testing.T) {
	tests := []struct {
		name      string
		canceling bool // Job-Status: canceling on the ack
		forbidden bool // 403 on the ack: the job is dropped
	}{
		{"canceling before start", true, false},
		{"refused acknowledgement", false, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCoordinator(t)
			p := payload(15+i, []string{"touch script-ran"}, nil)
			p["steps"] = append(p["steps"].([]map[string]any), afterScript("touch after-ran"))
			j := f.enqueue(p)
			j.canceling, j.forbidden = tc.canceling, tc.forbidden
			r := newTestRunner(t, f, 1)
			startRunner(t, r)
			dir := filepath.Join(r.cfg.BuildsDir, shortToken(f.runnerToken), "0", "project-1")
			if tc.forbidden {
				eventually(t, "the runner to poll again", func() bool { return f.requestCount() >= 2 })
				if trace, updates, _ := f.snapshot(j); trace != "" || len(updates) != 0 {
					t.Errorf("dropped job still reported: %q %v", trace, updates)
				}
			} else {
				trace, final, _ := waitFinal(t, f, j)
				checkFinal(t, trace, final, "failed", "job_canceled", 0)
			}
			for _, name := range []string{"script-ran", "after-ran"} {
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					t.Errorf("%s exists: the job ran", name)
				}
			}
		})
	}
}

// TestBatonOnPath: a job finds the runner's Baton executable as `baton` on
// its PATH, first, even when its variables set PATH themselves; with
// Config.Baton "-" it does not.
func TestBatonOnPath(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "fake-baton")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho \"fake baton says $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := newFakeCoordinator(t)
	script := []string{"baton artifacts ls", `echo "first=${PATH%%:*}"`}
	plain := f.enqueue(payload(21, script, nil))
	withPath := payload(22, script, nil)
	withPath["variables"] = append(withPath["variables"].([]map[string]any), map[string]any{"key": "PATH", "value": "/usr/bin:/bin"})
	own := f.enqueue(withPath)
	r := newTestRunner(t, f, 1)
	r.cfg.Baton = exe
	startRunner(t, r)
	for _, j := range []*fakeJob{plain, own} {
		trace, final, _ := waitFinal(t, f, j)
		checkFinal(t, trace, final, "success", "", 0)
		if !strings.Contains(trace, "fake baton says artifacts ls") || !strings.Contains(trace, "first="+r.cfg.BuildsDir) {
			t.Errorf("job %d did not run baton from its own bin dir:\n%s", j.id, trace)
		}
	}

	t.Run("none", func(t *testing.T) {
		f := newFakeCoordinator(t)
		j := f.enqueue(payload(23, []string{"command -v baton || echo no-baton"}, nil))
		r := newTestRunner(t, f, 1)
		r.cfg.Baton = "-"
		startRunner(t, r)
		trace, final, _ := waitFinal(t, f, j)
		checkFinal(t, trace, final, "success", "", 0)
		if !strings.Contains(trace, "no-baton") {
			t.Errorf("baton on PATH with Baton=-:\n%s", trace)
		}
	})
}
