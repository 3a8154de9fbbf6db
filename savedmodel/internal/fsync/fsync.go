// Package fsync is where savedmodel and savedmodel/bundle fsync the files
// and directories a Write makes, so that every fsync can be reported to
// the writer's caller (tests watch a whole Write through it).
package fsync

import "os"

// File fsyncs f, first calling onSync, when it is not nil, with f's name.
func File(f *os.File, onSync func(name string)) error {
	if onSync != nil {
		onSync(f.Name())
	}
	return f.Sync()
}
