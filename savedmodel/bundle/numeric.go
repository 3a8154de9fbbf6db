package bundle

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// ReadFloat64s returns the elements of a real numeric entry converted to
// float64, in row-major order, verifying the entry's checksum. It accepts
// float, double, half, bfloat16, float8 (e5m2, e4m3fn), bool, and signed,
// unsigned and quantized integers of 8 to 64 bits; complex, 4-bit, string
// and variant dtypes are refused. int64 and uint64 values above 2^53 lose
// precision. The result takes 8 bytes per element, so it is meant for
// comparing tensors of moderate size.
func (r *Reader) ReadFloat64s(key string) ([]float64, error) {
	e, ok := r.Entry(key)
	if !ok {
		return nil, fmt.Errorf("bundle: %s: key %q: %w", r.IndexFile(), key, ErrNotFound)
	}
	dt := e.GetDtype()
	conv := float64Converter(dt)
	if conv == nil {
		return nil, fmt.Errorf("bundle: %s: key %q: dtype %v has no float64 conversion", r.IndexFile(), key, dt)
	}
	size, _ := DTypeSize(dt)
	rc, err := r.OpenEntry(key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// Open checked that size*elements == the entry size, which fits in the shard.
	out := make([]float64, 0, e.GetSize()/int64(size))
	buf := make([]byte, min(1<<20, max(int64(size), e.GetSize()))/int64(size)*int64(size))
	for {
		n, err := io.ReadFull(rc, buf)
		for i := 0; i+size <= n; i += size {
			out = append(out, conv(buf[i:i+size]))
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			// The entry reader reports a checksum mismatch as an error with
			// no bytes, never as a short read, so this is a verified end.
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// float64Converter returns a function decoding one element of dt, or nil.
func float64Converter(dt types_go_proto.DataType) func([]byte) float64 {
	le := binary.LittleEndian
	switch dt {
	case types_go_proto.DataType_DT_FLOAT:
		return func(b []byte) float64 { return float64(math.Float32frombits(le.Uint32(b))) }
	case types_go_proto.DataType_DT_DOUBLE:
		return func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }
	case types_go_proto.DataType_DT_HALF:
		return func(b []byte) float64 { return halfToFloat64(le.Uint16(b)) }
	case types_go_proto.DataType_DT_BFLOAT16:
		return func(b []byte) float64 { return float64(math.Float32frombits(uint32(le.Uint16(b)) << 16)) }
	case types_go_proto.DataType_DT_FLOAT8_E5M2:
		return func(b []byte) float64 { return halfToFloat64(uint16(b[0]) << 8) }
	case types_go_proto.DataType_DT_FLOAT8_E4M3FN:
		return func(b []byte) float64 { return e4m3fnToFloat64(b[0]) }
	case types_go_proto.DataType_DT_BOOL, types_go_proto.DataType_DT_UINT8, types_go_proto.DataType_DT_QUINT8:
		return func(b []byte) float64 { return float64(b[0]) }
	case types_go_proto.DataType_DT_INT8, types_go_proto.DataType_DT_QINT8:
		return func(b []byte) float64 { return float64(int8(b[0])) }
	case types_go_proto.DataType_DT_INT16, types_go_proto.DataType_DT_QINT16:
		return func(b []byte) float64 { return float64(int16(le.Uint16(b))) }
	case types_go_proto.DataType_DT_UINT16, types_go_proto.DataType_DT_QUINT16:
		return func(b []byte) float64 { return float64(le.Uint16(b)) }
	case types_go_proto.DataType_DT_INT32, types_go_proto.DataType_DT_QINT32:
		return func(b []byte) float64 { return float64(int32(le.Uint32(b))) }
	case types_go_proto.DataType_DT_UINT32:
		return func(b []byte) float64 { return float64(le.Uint32(b)) }
	case types_go_proto.DataType_DT_INT64:
		return func(b []byte) float64 { return float64(int64(le.Uint64(b))) }
	case types_go_proto.DataType_DT_UINT64:
		return func(b []byte) float64 { return float64(le.Uint64(b)) }
	}
	return nil
}

// halfToFloat64 decodes an IEEE 754 binary16 value.
func halfToFloat64(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1024+frac, exp-25)
}

// e4m3fnToFloat64 decodes float8 e4m3fn: bias 7, no infinities, NaN when
// all exponent and mantissa bits are set.
func e4m3fnToFloat64(b byte) float64 {
	sign := 1.0
	if b&0x80 != 0 {
		sign = -1
	}
	exp := int(b>>3) & 0xf
	frac := float64(b & 7)
	if exp == 0xf && b&7 == 7 {
		return math.NaN()
	}
	if exp == 0 {
		return sign * math.Ldexp(frac, -9)
	}
	return sign * math.Ldexp(8+frac, exp-10)
}
