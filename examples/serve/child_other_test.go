//go:build tensorflow && !linux

package main

import "os/exec"

// dieWithParent does nothing where the kernel offers no parent-death signal;
// the per-child deadline still applies while the test process lives.
func dieWithParent(cmd *exec.Cmd) {}
