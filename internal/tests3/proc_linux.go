package tests3

import "syscall"

// sysProcAttr makes the kernel kill the gateway if the test process dies
// without running its cleanups (a test timeout, a crash).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
