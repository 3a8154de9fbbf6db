//go:build tensorflow && linux

package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the child get SIGKILL if the test process dies first
// (say, at go test's own timeout), so a child stuck in a collective never
// outlives the test.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
