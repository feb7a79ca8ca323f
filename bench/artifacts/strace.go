package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// straceDownload downloads j's archive once while strace counts the
// server's data-moving system calls.
func straceDownload(ctx context.Context, s *server, j *job, size int64) string {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	url := fmt.Sprintf("%s/api/v4/projects/%d/jobs/%d/artifacts", s.url, j.ProjectID, j.ID)
	return straceDuring(ctx, s.cmd.Process.Pid, func() error {
		_, err := download(ctx, client, url, http.Header{"Private-Token": {s.token}}, size)
		return err
	})
}

// straceDuring runs fn while strace -f -c counts pid's data-moving system
// calls, and returns strace's summary lines.
func straceDuring(ctx context.Context, pid int, fn func() error) string {
	path, err := exec.LookPath("strace")
	if err != nil {
		return "strace not found (apt-get install -y strace)"
	}
	var out bytes.Buffer
	cmd := exec.Command(path, "-f", "-c", "-e", "trace=sendfile,copy_file_range,splice,read,write,writev,pread64,pwrite64,fsync,fdatasync",
		"-p", fmt.Sprint(pid))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Sprintf("starting strace: %v", err)
	}
	_ = sleepCtx(ctx, 700*time.Millisecond) // let it attach to every thread
	ferr := fn()
	_ = cmd.Process.Signal(syscall.SIGINT)
	_ = cmd.Wait()
	if ferr != nil {
		return fmt.Sprintf("request under strace failed: %v", ferr)
	}
	var keep []string
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && (f[len(f)-1] == "total" || strings.HasPrefix(line, "% time") || isSyscallRow(f)) {
			keep = append(keep, line)
		}
	}
	if len(keep) == 0 {
		return "strace saw nothing: " + strings.TrimSpace(out.String())
	}
	return strings.Join(keep, "\n")
}

func isSyscallRow(f []string) bool {
	switch f[len(f)-1] {
	case "sendfile", "copy_file_range", "splice", "read", "write", "writev", "pread64", "pwrite64", "fsync", "fdatasync":
		return true
	}
	return false
}
