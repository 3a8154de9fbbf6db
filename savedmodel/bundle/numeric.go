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

// DecodeFloat64 decodes one element of dtype dt from b, stored as
// TensorFlow stores it in a bundle entry or a TensorProto's tensor_content
// (little-endian). It accepts the dtypes ReadFloat64s accepts, and reports
// false for another dtype or a b that is not one element long. It is the
// one dtype decoder of this module.
func DecodeFloat64(dt types_go_proto.DataType, b []byte) (float64, bool) {
	conv := float64Converter(dt)
	if size, _ := DTypeSize(dt); conv == nil || len(b) != size {
		return 0, false
	}
	return conv(b), true
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
func halfToFloat64(h uint16) float64 { return minifloat(uint32(h), 5, 10, true) }

// e4m3fnToFloat64 decodes float8 e4m3fn: bias 7, no infinities, NaN when
// all exponent and mantissa bits are set.
func e4m3fnToFloat64(b byte) float64 { return minifloat(uint32(b), 4, 3, false) }

// minifloat decodes a small binary float with a sign bit, expBits exponent
// bits (bias 2^(expBits-1)-1) and mantBits mantissa bits. With ieee, an
// all-ones exponent means infinity or NaN; without, only the all-ones
// pattern is NaN and the rest of that binade holds finite numbers.
func minifloat(v uint32, expBits, mantBits uint, ieee bool) float64 {
	sign := 1.0
	if v>>(expBits+mantBits)&1 != 0 {
		sign = -1
	}
	maxExp := uint32(1)<<expBits - 1
	exp := v >> mantBits & maxExp
	frac := v & (1<<mantBits - 1)
	bias := int(maxExp >> 1)
	switch {
	case ieee && exp == maxExp && frac != 0, !ieee && exp == maxExp && frac == 1<<mantBits-1:
		return math.NaN()
	case ieee && exp == maxExp:
		return sign * math.Inf(1)
	case exp == 0:
		return sign * math.Ldexp(float64(frac), 1-bias-int(mantBits))
	}
	return sign * math.Ldexp(float64(frac|1<<mantBits), int(exp)-bias-int(mantBits))
}
