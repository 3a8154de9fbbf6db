package bundle

import (
	"fmt"
	"math"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// maxRank is TensorFlow's TensorShape::MaxDimensions().
const maxRank = 254

// DTypeSize returns the bytes per element of a dtype that TensorFlow stores
// as raw memory (DataTypeCanUseMemcpy), and false for every other dtype
// (DT_STRING, DT_VARIANT, DT_RESOURCE, reference and invalid types).
func DTypeSize(dt types_go_proto.DataType) (int, bool) {
	switch dt {
	case types_go_proto.DataType_DT_INT8, types_go_proto.DataType_DT_UINT8, types_go_proto.DataType_DT_BOOL,
		types_go_proto.DataType_DT_QINT8, types_go_proto.DataType_DT_QUINT8,
		types_go_proto.DataType_DT_FLOAT8_E5M2, types_go_proto.DataType_DT_FLOAT8_E4M3FN,
		types_go_proto.DataType_DT_INT4, types_go_proto.DataType_DT_UINT4:
		return 1, true
	case types_go_proto.DataType_DT_INT16, types_go_proto.DataType_DT_UINT16, types_go_proto.DataType_DT_QINT16,
		types_go_proto.DataType_DT_QUINT16, types_go_proto.DataType_DT_HALF, types_go_proto.DataType_DT_BFLOAT16:
		return 2, true
	case types_go_proto.DataType_DT_FLOAT, types_go_proto.DataType_DT_INT32, types_go_proto.DataType_DT_UINT32,
		types_go_proto.DataType_DT_QINT32:
		return 4, true
	case types_go_proto.DataType_DT_DOUBLE, types_go_proto.DataType_DT_INT64, types_go_proto.DataType_DT_UINT64,
		types_go_proto.DataType_DT_COMPLEX64:
		return 8, true
	case types_go_proto.DataType_DT_COMPLEX128:
		return 16, true
	}
	return 0, false
}

// storable reports whether a bundle can hold tensors of dtype dt.
func storable(dt types_go_proto.DataType) bool {
	_, fixed := DTypeSize(dt)
	return fixed || dt == types_go_proto.DataType_DT_STRING || dt == types_go_proto.DataType_DT_VARIANT
}

// NumElements returns the element count of a fully defined shape, checking
// it as TensorFlow's TensorShape does: rank at most 254, no negative
// dimension, no int64 overflow. A nil shape is a scalar.
func NumElements(shape *tsp.TensorShapeProto) (int64, error) {
	dims := shape.GetDim()
	if len(dims) > maxRank {
		return 0, fmt.Errorf("rank %d exceeds %d", len(dims), maxRank)
	}
	n := int64(1)
	for i, d := range dims {
		s := d.GetSize()
		if s < 0 {
			return 0, fmt.Errorf("dimension %d has size %d", i, s)
		}
		if s != 0 && n > math.MaxInt64/s {
			return 0, fmt.Errorf("element count overflows int64")
		}
		n *= s
	}
	return n, nil
}

// TensorBytes returns the stored size of a tensor of a fixed-size dtype:
// elements times the dtype size. It fails for other dtypes, invalid shapes
// and on overflow.
func TensorBytes(dt types_go_proto.DataType, shape *tsp.TensorShapeProto) (int64, error) {
	size, ok := DTypeSize(dt)
	if !ok {
		return 0, fmt.Errorf("dtype %v has no fixed element size", dt)
	}
	n, err := NumElements(shape)
	if err != nil {
		return 0, err
	}
	if n > math.MaxInt64/int64(size) {
		return 0, fmt.Errorf("byte size of %d elements of %v overflows int64", n, dt)
	}
	return n * int64(size), nil
}
