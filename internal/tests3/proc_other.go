//go:build !linux

package tests3

import "syscall"

// sysProcAttr has nothing to add outside Linux: a gateway outlives a test
// process that dies without running its cleanups.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// lockFile does not lock outside Linux: parallel test processes may build
// versitygw side by side, which is slower but still correct (each renames
// its own complete build into place).
func lockFile(path string) (unlock func(), err error) { return func() {}, nil }
