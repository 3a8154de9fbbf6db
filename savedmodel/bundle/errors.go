package bundle

import (
	"errors"
	"fmt"
)

// ErrCorrupt is matched (with errors.Is) by every error that reports a
// damaged or inconsistent bundle: *CorruptError, *ChecksumError, and the
// table package's corruption errors found in the index.
var ErrCorrupt = errors.New("corrupt bundle")

// ErrNotFound is matched by the error for a key that the bundle does not hold.
var ErrNotFound = errors.New("key not found")

// CorruptError describes a damaged or inconsistent bundle.
type CorruptError struct {
	File   string // path of the index or data file, as named in the fs.FS or directory
	Key    string // entry key, or "" when the damage is not tied to one entry
	Offset int64  // byte offset in File, or -1 when not known
	Reason string
	Err    error // underlying error, if any
}

func (e *CorruptError) Error() string {
	s := "bundle: " + e.File
	if e.Key != "" {
		s += ": key " + errKey(e.Key)
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at offset %d", e.Offset)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the underlying error.
func (e *CorruptError) Unwrap() error { return e.Err }

// ChecksumError reports tensor bytes whose CRC-32C does not match the one
// stored in the index (or, for strings and variants, inside the data).
// Stored and Computed are unmasked checksums.
type ChecksumError struct {
	File     string
	Key      string
	Stored   uint32
	Computed uint32
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("bundle: %s: key %s: checksum mismatch: stored %08x, computed %08x on the bytes read", e.File, errKey(e.Key), e.Stored, e.Computed)
}

// Is reports whether target is ErrCorrupt.
func (e *ChecksumError) Is(target error) bool { return target == ErrCorrupt }
