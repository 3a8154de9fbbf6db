package savedmodel

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Sentinel errors, testable with errors.Is. Errors returned by this package
// wrap one of them, a *FormatError, or an error from the bundle package or
// the file system.
var (
	// ErrNotSavedModel: the directory holds no saved_model.pb or
	// saved_model.pbtxt, or the path is not a directory.
	ErrNotSavedModel = errors.New("not a SavedModel directory")
	// ErrUnsupported: the directory uses a feature this package cannot
	// read, such as a chunked saved_model.cpb.
	ErrUnsupported = errors.New("unsupported")
	// ErrAmbiguous: both saved_model.pb and saved_model.pbtxt exist.
	ErrAmbiguous = errors.New("both saved_model.pb and saved_model.pbtxt present")
	// ErrUnsafePath: an asset name or a symbolic link leads outside the
	// model directory (absolute path, "..", or a link target outside).
	ErrUnsafePath = errors.New("path escapes the model directory")
	// ErrNoMetaGraph: no MetaGraphDef has the requested tag set.
	ErrNoMetaGraph = errors.New("no MetaGraphDef with the requested tags")
	// ErrOutputExists: Write's output exists and WriteOptions.Overwrite is
	// not set (or it is not a SavedModel Overwrite may replace). It also
	// matches fs.ErrExist, as os.Mkdir's error for an existing path does.
	ErrOutputExists error = existError("output exists")
	// ErrOutputOverlapsInput: Write's output equals the input directory,
	// lies inside it, or contains it.
	ErrOutputOverlapsInput = errors.New("output overlaps the input directory")
	// ErrNoVariable: a checkpoint edit names a key the plan does not hold.
	ErrNoVariable = errors.New("no such variable in the checkpoint")
	// ErrVariableExists: RenameVariable's new key is already in use.
	ErrVariableExists = errors.New("variable key already in use")
)

// FormatError reports malformed content in a file of the SavedModel.
type FormatError struct {
	File   string // path relative to the model directory, e.g. "saved_model.pb"
	Offset int64  // byte offset of the problem, or -1 when unknown
	Key    string // checkpoint key, when the problem is in one tensor
	Reason string
	Err    error // underlying error, if any
	// Truncated reports a file that ends early: Offset is then its size,
	// and Need the size its content needs (0 when the cut falls inside a
	// tag or varint, which does not say).
	Truncated bool
	Need      int64
}

func (e *FormatError) Error() string {
	s := "savedmodel: " + e.File
	if e.Key != "" {
		s += ": key " + strconv.Quote(e.Key)
	}
	if e.Offset >= 0 && !e.Truncated {
		s += ": offset " + strconv.FormatInt(e.Offset, 10)
	}
	s += ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErr(file string, offset int64, reason string, err error) *FormatError {
	return &FormatError{File: file, Offset: offset, Reason: reason, Err: err}
}

func pathErr(file string, sentinel error, format string, args ...any) error {
	return fmt.Errorf("savedmodel: %s: %s: %w", file, fmt.Sprintf(format, args...), sentinel)
}

// wireErrorOffset returns the offset of the first malformed field in b read
// as message md (descending into message fields), or -1 if the wire
// structure is sound. proto.Unmarshal does not report offsets; this scan
// recovers one for error messages.
func wireErrorOffset(b []byte, md protoreflect.MessageDescriptor) int64 {
	return scanWire(b, md, 0, 0)
}

func scanWire(b []byte, md protoreflect.MessageDescriptor, base int64, depth int) int64 {
	if depth > 100 {
		return -1
	}
	off := 0
	for off < len(b) {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return base + int64(off)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return base + int64(off)
		}
		if typ == protowire.BytesType && md != nil {
			if fd := md.Fields().ByNumber(num); fd != nil && fd.Message() != nil && !fd.IsPacked() {
				v, k := protowire.ConsumeBytes(b[off+n:])
				if bad := scanWire(v, fd.Message(), base+int64(off+n+k-len(v)), depth+1); bad >= 0 {
					return bad
				}
			}
		}
		off += n + m
	}
	return -1
}

// existError is a sentinel error that also matches [fs.ErrExist].
type existError string

func (e existError) Error() string { return string(e) }

// Is reports whether target is [fs.ErrExist].
func (e existError) Is(target error) bool { return target == fs.ErrExist }
