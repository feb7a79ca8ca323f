//go:build !linux

package tests3

import "syscall"

// sysProcAttr has nothing to add outside Linux: a gateway outlives a test
// process that dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr { return nil }
