//go:build unix

package main

import "syscall"

// raiseOpenFileLimit raises the soft RLIMIT_NOFILE to the hard limit and
// returns the soft limit now in force (0 if unknown).
func raiseOpenFileLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	if rl.Cur < rl.Max {
		want := rl
		want.Cur = rl.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
			rl = want
		}
	}
	return uint64(rl.Cur)
}
