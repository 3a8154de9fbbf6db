//go:build !unix

package savedmodel

// processAlive cannot tell on this platform, so stale directories are kept
// (they are ignored by later runs).
func processAlive(pid int) bool { return true }
