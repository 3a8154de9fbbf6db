// Package fsync is where savedmodel and savedmodel/bundle fsync the files
// and directories a Write makes, so that tests see every fsync, whichever
// package makes it.
package fsync

import "os"

// Hook, when set (by tests), is called with the name of every file or
// directory File syncs, before the sync.
var Hook func(name string)

// File fsyncs f.
func File(f *os.File) error {
	if Hook != nil {
		Hook(f.Name())
	}
	return f.Sync()
}
