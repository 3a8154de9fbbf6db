//go:build !linux && !darwin

package main

import "os"

// isTerminal reports whether f is a character device, which a terminal is
// (as are /dev/null and others: progress may then be drawn into them).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// terminalWidth returns 80: the width of a terminal is not asked here.
func terminalWidth(*os.File) int { return 80 }
