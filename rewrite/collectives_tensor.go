package rewrite

import (
	"encoding/binary"
	"math"

	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// collTensorScalar returns the value of a numeric TensorProto holding exactly
// one element (a scalar, or any shape with one element), from its typed
// value list or its tensor_content. It is how the collectives pass reads
// group sizes and divisors.
func collTensorScalar(t *tensorpb.TensorProto) (float64, bool) {
	if t == nil {
		return 0, false
	}
	n := int64(1)
	for _, d := range t.GetTensorShape().GetDim() {
		n *= d.GetSize()
	}
	if n != 1 {
		return 0, false
	}
	c := t.GetTensorContent()
	switch t.GetDtype() {
	case typespb.DataType_DT_FLOAT:
		if len(c) == 4 {
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(c))), true
		}
		if v := t.GetFloatVal(); len(v) > 0 {
			return float64(v[0]), true
		}
	case typespb.DataType_DT_DOUBLE:
		if len(c) == 8 {
			return math.Float64frombits(binary.LittleEndian.Uint64(c)), true
		}
		if v := t.GetDoubleVal(); len(v) > 0 {
			return v[0], true
		}
	case typespb.DataType_DT_INT32, typespb.DataType_DT_INT16, typespb.DataType_DT_INT8, typespb.DataType_DT_UINT8:
		if len(c) == 4 && t.GetDtype() == typespb.DataType_DT_INT32 {
			return float64(int32(binary.LittleEndian.Uint32(c))), true
		}
		if v := t.GetIntVal(); len(v) > 0 {
			return float64(v[0]), true
		}
	case typespb.DataType_DT_INT64:
		if len(c) == 8 {
			return float64(int64(binary.LittleEndian.Uint64(c))), true
		}
		if v := t.GetInt64Val(); len(v) > 0 {
			return float64(v[0]), true
		}
	case typespb.DataType_DT_HALF:
		if len(c) == 2 {
			return collHalfToFloat(binary.LittleEndian.Uint16(c)), true
		}
		if v := t.GetHalfVal(); len(v) > 0 {
			return collHalfToFloat(uint16(v[0])), true
		}
	case typespb.DataType_DT_BFLOAT16:
		if len(c) == 2 {
			return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(c)) << 16)), true
		}
		if v := t.GetHalfVal(); len(v) > 0 {
			return float64(math.Float32frombits(uint32(v[0]) << 16)), true
		}
	}
	return 0, false
}

// collHalfToFloat converts an IEEE 754 binary16 value.
func collHalfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * frac * math.Pow(2, -24)
	case 0x1f:
		if frac == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * (1 + frac/1024) * math.Pow(2, float64(exp-15))
}
