//go:build !(linux && amd64)

package writeback

import "os"

// Start does nothing on this platform; see the package doc.
func Start(f *os.File, off, n int64) {}
