//go:build linux && amd64

package writeback

import (
	"os"
	"syscall"
)

// syncFileRangeWrite is SYNC_FILE_RANGE_WRITE: start writeback of the
// range's dirty pages, do not wait for it.
const syncFileRangeWrite = 2

// Start asks the kernel to start writing bytes [off, off+n) of f to disk,
// without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE).
func Start(f *os.File, off, n int64) {
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		syscall.Syscall6(syscall.SYS_SYNC_FILE_RANGE, fd, uintptr(off), uintptr(n), syncFileRangeWrite, 0, 0)
	})
}
