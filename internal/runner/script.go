package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runScript runs a job step with bash under set -eo pipefail, each command
// echoed as "$ cmd" in green like gitlab-runner.
func (j *job) runScript(ctx context.Context, st jobStep, env []string) error {
	if st.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, time.Duration(st.Timeout)*time.Second, errStepTimeout)
		defer cancel()
	}
	path := filepath.Join(j.tmpDir, "step_"+fileVarName(st.Name)+".sh")
	if err := os.WriteFile(path, []byte(bashScript(st.Script)), 0o700); err != nil {
		return &systemError{fmt.Errorf("writing script: %w", err)}
	}
	return j.runCommand(ctx, j.projectDir, env, "bash", "--noprofile", "--norc", path)
}

// runAfterScript runs after_script in its own shell and its own timeout; it
// runs after a graceful cancel too, and its failure never fails the job.
func (j *job) runAfterScript(st jobStep, env []string) {
	timeout := j.r.afterScriptTime
	if v, ok := j.p.variable("RUNNER_AFTER_SCRIPT_TIMEOUT"); ok {
		if d, err := time.ParseDuration(v); err == nil && d > 0 {
			timeout = d
		}
	}
	st.Timeout = 0 // the step's own timeout is the job's; after_script has its own
	ctx, cancel := context.WithTimeoutCause(j.abortCtx, timeout, errStepTimeout)
	defer cancel()
	sectionStart(j.out, "after_script", "Running after_script")
	j.printf(ansiBoldGreen + "Running after script..." + ansiReset + "\n")
	if err := j.runScript(ctx, st, env); err != nil && !j.aborted() {
		j.warnf("after_script failed, but job will continue unaffected: %v", err)
	}
	_ = j.out.Flush()
	sectionEnd(j.out, "after_script")
}

// runCommand runs a program in a new process group with its output going to
// the job log. When ctx ends the group gets SIGTERM and, after a grace,
// SIGKILL (at once on a hard cancel); the error is then ctx's cause. A
// non-zero exit becomes an *exitError.
func (j *job) runCommand(ctx context.Context, dir string, env []string, name string, args ...string) error {
	return j.runCommandTo(ctx, j.out, dir, env, name, args...)
}

// runCommandTo is runCommand with the output going to out.
func (j *job) runCommandTo(ctx context.Context, out io.Writer, dir string, env []string, name string, args ...string) error {
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw, err := os.Pipe()
	if err != nil {
		return &systemError{fmt.Errorf("creating pipe: %w", err)}
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return &systemError{fmt.Errorf("starting %s: %w", name, err)}
	}
	pw.Close()
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, pr)
		close(copied)
	}()
	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	go func() {
		select {
		case <-exited:
			return
		case <-ctx.Done():
		}
		if errors.Is(context.Cause(ctx), errAborted) {
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return
		}
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		t := time.NewTimer(j.r.killGrace)
		defer t.Stop()
		select {
		case <-exited:
		case <-t.C:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
	werr := cmd.Wait()
	close(exited)
	// Whatever the shell left behind in its group goes too, so that it
	// neither outlives the job nor keeps the log pipe open.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-copied:
	case <-time.After(j.r.killGrace):
		pr.Close() // a process that left the group still holds the pipe
		<-copied
	}
	pr.Close()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	var ee *exec.ExitError
	if errors.As(werr, &ee) {
		code := ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return &exitError{code: code}
	}
	if werr != nil {
		return &systemError{fmt.Errorf("waiting for %s: %w", name, werr)}
	}
	return nil
}

// bashScript turns a step's commands into one bash script.
func bashScript(lines []string) string {
	var b strings.Builder
	b.WriteString("set -eo pipefail\nset +o noclobber\n")
	for _, l := range lines {
		shown := l
		if i := strings.IndexByte(strings.TrimRight(l, "\n"), '\n'); i >= 0 {
			shown = l[:i] + " # collapsed multi-line command"
		}
		fmt.Fprintf(&b, "printf '%%s\\n' %s\n", ansiQuote(ansiBoldGreen+"$ "+shown+ansiReset))
		b.WriteString(l)
		b.WriteString("\n")
	}
	return b.String()
}

// ansiQuote quotes s as a bash $'…' string.
func ansiQuote(s string) string {
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
