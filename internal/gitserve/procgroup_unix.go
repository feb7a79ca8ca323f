//go:build unix

package gitserve

import (
	"os/exec"
	"syscall"
)

// killGroupOnCancel runs cmd in its own process group and makes cancelling
// its context kill the whole group: git http-backend's children
// (upload-pack, pack-objects) would otherwise keep working for a client
// that has gone away.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
