package ops

import (
	"encoding/binary"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Resolver returns the node that data input i of node n reads (in n's
// graph or function body), or nil when it reads no node: a function
// argument, a missing node, or no input i. Callers build one from their
// graph index (graphdef.Body.Resolver).
type Resolver func(n *nodepb.NodeDef, i int) *nodepb.NodeDef

// maxLookThrough bounds the Identity and Cast chains followed to a Const.
const maxLookThrough = 8

// ConstNode returns the Const node that data input i of n reads, looking
// through Identity and Cast nodes (both keep the shape; Cast changes only
// the dtype), or nil.
func ConstNode(n *nodepb.NodeDef, i int, resolve Resolver) *nodepb.NodeDef {
	for range maxLookThrough {
		n = resolve(n, i)
		if n == nil {
			return nil
		}
		switch n.GetOp() {
		case "Const":
			return n
		case "Identity", "Cast":
			i = 0
		default:
			return nil
		}
	}
	return nil
}

// ConstScalar returns the value of the Const holding one number (any shape
// with one element) that data input i of n reads through Identity and Cast
// nodes.
func ConstScalar(n *nodepb.NodeDef, i int, resolve Resolver) (float64, bool) {
	c := ConstNode(n, i, resolve)
	if c == nil {
		return 0, false
	}
	return TensorScalar(c.GetAttr()["value"].GetTensor())
}

// TensorScalar returns the value of a real numeric TensorProto holding
// exactly one element, from its tensor_content or its typed value list.
// Elements are decoded by [bundle.DecodeFloat64], the one dtype decoder.
func TensorScalar(t *tensorpb.TensorProto) (float64, bool) {
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
	dt := t.GetDtype()
	if c := t.GetTensorContent(); len(c) > 0 {
		return bundle.DecodeFloat64(dt, c)
	}
	switch dt {
	case typespb.DataType_DT_FLOAT:
		if v := t.GetFloatVal(); len(v) > 0 {
			return float64(v[0]), true
		}
	case typespb.DataType_DT_DOUBLE:
		if v := t.GetDoubleVal(); len(v) > 0 {
			return v[0], true
		}
	case typespb.DataType_DT_INT32, typespb.DataType_DT_INT16, typespb.DataType_DT_INT8, typespb.DataType_DT_UINT8:
		if v := t.GetIntVal(); len(v) > 0 {
			return float64(v[0]), true
		}
	case typespb.DataType_DT_INT64:
		if v := t.GetInt64Val(); len(v) > 0 {
			return float64(v[0]), true
		}
	case typespb.DataType_DT_HALF, typespb.DataType_DT_BFLOAT16:
		// half_val holds the 16 bits of each element in an int32.
		if v := t.GetHalfVal(); len(v) > 0 {
			return bundle.DecodeFloat64(dt, binary.LittleEndian.AppendUint16(nil, uint16(v[0])))
		}
	}
	return 0, false
}

// GroupSize returns the number of replicas node n communicates with, when the
// graph says so: its num_devices or group_size attr, its Const group size
// input, or the second dimension of its Const group_assignment input (see
// the row of n's op in [Distribution]).
func GroupSize(n *nodepb.NodeDef, resolve Resolver) (int64, bool) {
	a := n.GetAttr()
	if v, ok := a["num_devices"]; ok {
		return v.GetI(), true
	}
	if v, ok := a["group_size"]; ok {
		return v.GetI(), true
	}
	spec, ok := Lookup(n.GetOp())
	if !ok {
		return 0, false
	}
	if i, ok := spec.GroupSize.Index(); ok {
		if v, ok := ConstScalar(n, i, resolve); ok {
			return int64(v), true
		}
	}
	if i, ok := spec.GroupAssignment.Index(); ok {
		if c := ConstNode(n, i, resolve); c != nil {
			if dims := c.GetAttr()["value"].GetTensor().GetTensorShape().GetDim(); len(dims) == 2 {
				return dims[1].GetSize(), true
			}
		}
	}
	return 0, false
}

// Key returns the value of the constant input a of n (a group or instance
// key), read through Identity and Cast nodes.
func Key(n *nodepb.NodeDef, a Arg, resolve Resolver) (float64, bool) {
	if i, ok := a.Index(); ok {
		return ConstScalar(n, i, resolve)
	}
	return 0, false
}

// IsSum reports whether a reduction sums without dividing: reduction "sum"
// (NCCL) or "Add" (V3), or merge_op Add and final_op Id (V1, V2) where set.
func IsSum(n *nodepb.NodeDef) bool {
	a := n.GetAttr()
	if r := a["reduction"]; r != nil {
		s := string(r.GetS())
		return s == "sum" || s == "Add"
	}
	if m := a["merge_op"]; m != nil && string(m.GetS()) != "Add" {
		return false
	}
	if f := a["final_op"]; f != nil && string(f.GetS()) != "Id" {
		return false
	}
	return true
}
