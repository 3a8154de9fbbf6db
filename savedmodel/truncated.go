package savedmodel

import (
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// protoErr is the error for b, the content of file, failing to parse as
// msg: a truncated file says so, at which byte it ends and how many bytes
// its content needs; anything else is reason at the offset of the first
// malformed field.
func protoErr(file string, b []byte, msg proto.Message, reason string, err error) *FormatError {
	if fe := truncatedErr(file, b); fe != nil {
		return fe
	}
	return formatErr(file, wireErrorOffset(b, msg.ProtoReflect().Descriptor()), reason, err)
}

// truncatedErr is the error for file's content b when it ends early, nil
// when it does not.
func truncatedErr(file string, b []byte) *FormatError {
	need, ok := truncatedNeed(b)
	if !ok {
		return nil
	}
	fe := &FormatError{File: file, Offset: int64(len(b)), Truncated: true, Need: need}
	if need > 0 {
		fe.Reason = fmt.Sprintf("file ends early, at byte %d of the %d the proto needs", len(b), need)
	} else {
		fe.Reason = fmt.Sprintf("file ends early, at byte %d, inside a field", len(b))
	}
	return fe
}

// truncatedNeed reports whether b's top-level wire structure runs past its
// end: a field whose length, or fixed-size value, ends beyond len(b)
// (need is where it ends), or a tag or varint cut off by the end (need is
// 0: not known). A file cut at any byte but a field boundary looks like
// this; a well-formed file never does.
func truncatedNeed(b []byte) (need int64, truncated bool) {
	off := 0
	for off < len(b) {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return 0, protowire.ParseError(n) == io.ErrUnexpectedEOF
		}
		var end int64
		switch typ {
		case protowire.BytesType:
			v, k := protowire.ConsumeVarint(b[off+n:])
			if k < 0 {
				return 0, protowire.ParseError(k) == io.ErrUnexpectedEOF
			}
			end = int64(off+n+k) + int64(min(v, 1<<62))
		case protowire.Fixed32Type:
			end = int64(off + n + 4)
		case protowire.Fixed64Type:
			end = int64(off + n + 8)
		}
		if end > int64(len(b)) {
			return end, true
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return 0, protowire.ParseError(m) == io.ErrUnexpectedEOF
		}
		off += n + m
	}
	return 0, false
}
