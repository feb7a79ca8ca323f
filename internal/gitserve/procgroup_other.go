//go:build !unix

package gitserve

import "os/exec"

// killGroupOnCancel leaves cmd as it is: without process groups, cancelling
// kills only git http-backend and its children stop at their next write.
func killGroupOnCancel(cmd *exec.Cmd) {}
