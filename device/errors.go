package device

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed is wrapped by every *[ParseError]: the text is not a
	// device name TensorFlow's parser accepts (or, for numbers above
	// [MaxNumber], one it would silently truncate).
	ErrMalformed = errors.New("device: malformed device name")

	// ErrIncompatible is wrapped by every *[MergeError]: two names set the
	// same field to different values and the merge rules do not resolve it.
	ErrIncompatible = errors.New("device: incompatible device names")

	// ErrUnsupported is wrapped by every *[UnsupportedError]: a [Policy]
	// was told to reject a device type it cannot map to its target.
	ErrUnsupported = errors.New("device: unsupported device type")
)

// Field names one of the five fields of a [Spec].
type Field int

// The fields of a Spec, in the order TensorFlow prints and merges them.
const (
	FieldJob Field = iota
	FieldReplica
	FieldTask
	FieldType
	FieldID
)

var fieldNames = [...]string{"job", "replica", "task", "type", "id"}

// String returns "job", "replica", "task", "type" or "id".
func (f Field) String() string {
	if f >= 0 && int(f) < len(fieldNames) {
		return fieldNames[f]
	}
	return fmt.Sprintf("Field(%d)", int(f))
}

// ParseError reports text that is not a device name. It wraps
// [ErrMalformed].
type ParseError struct {
	Input  string // the text given to the parser
	Offset int    // byte offset in Input where parsing failed
	Reason string // what was expected at Offset
}

// Error returns a message such as
//
//	device: malformed device name "/job:1x" at offset 5: job name must start with a letter
func (e *ParseError) Error() string {
	return fmt.Sprintf("device: malformed device name %q at offset %d: %s", e.Input, e.Offset, e.Reason)
}

// Unwrap returns [ErrMalformed].
func (e *ParseError) Unwrap() error { return ErrMalformed }

// FieldError reports a field of a hand-built [Spec] that no device name could
// hold, or a Spec that lacks a field an operation needs.
type FieldError struct {
	Field  Field
	Value  string // the offending value, or the whole name
	Reason string
}

// Error returns a message such as
//
//	device: invalid job "a/b": not a job name: want a letter, then letters, digits or '_'
func (e *FieldError) Error() string {
	return fmt.Sprintf("device: invalid %s %q: %s", e.Field, e.Value, e.Reason)
}

// MergeError reports that two names set a field to different values. Target
// is the merge target as it stood when the conflict was found (fields before
// Field already merged), exactly as TensorFlow's message shows it. It wraps
// [ErrIncompatible].
type MergeError struct {
	Field  Field
	Target Spec
	Other  Spec
}

// Error returns TensorFlow's message with the package prefix, such as
//
//	device: cannot merge devices with incompatible jobs: '/job:foo' and '/job:bar'
func (e *MergeError) Error() string {
	return fmt.Sprintf("device: cannot merge devices with incompatible %ss: '%s' and '%s'", e.Field, e.Target, e.Other)
}

// Unwrap returns [ErrIncompatible].
func (e *MergeError) Unwrap() error { return ErrIncompatible }

// UnsupportedError reports a device whose type a [Policy] with
// [OtherError] refuses to map. It wraps [ErrUnsupported].
type UnsupportedError struct {
	Input string // the device name given to the policy
	Type  string // its device type
}

// Error returns a message such as
//
//	device: unsupported device type "TPU" in "/device:TPU:0"
func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("device: unsupported device type %q in %q", e.Type, e.Input)
}

// Unwrap returns [ErrUnsupported].
func (e *UnsupportedError) Unwrap() error { return ErrUnsupported }
