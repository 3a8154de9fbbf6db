package ops

import (
	"math"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

func constNode(name string, t *tensorpb.TensorProto) *nodepb.NodeDef {
	return &nodepb.NodeDef{Name: name, Op: "Const", Attr: map[string]*attrpb.AttrValue{
		"value": {Value: &attrpb.AttrValue_Tensor{Tensor: t}}}}
}

func shape(dims ...int64) *shapepb.TensorShapeProto {
	s := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return s
}

// graph is a name-indexed node list with a Resolver over it.
type graph map[string]*nodepb.NodeDef

func (g graph) resolve(n *nodepb.NodeDef, i int) *nodepb.NodeDef {
	for _, s := range n.GetInput() {
		if s[0] == '^' {
			continue
		}
		if i > 0 {
			i--
			continue
		}
		for j := 0; j < len(s); j++ {
			if s[j] == ':' {
				s = s[:j]
				break
			}
		}
		return g[s]
	}
	return nil
}

func TestGroupSize(t *testing.T) {
	g := graph{
		"four":    constNode("four", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT32, IntVal: []int32{4}}),
		"id":      {Name: "id", Op: "Identity", Input: []string{"cast"}},
		"cast":    {Name: "cast", Op: "Cast", Input: []string{"three64"}},
		"three64": constNode("three64", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT64, TensorShape: shape(), TensorContent: []byte{3, 0, 0, 0, 0, 0, 0, 0}}),
		"assign":  constNode("assign", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT32, TensorShape: shape(1, 2), IntVal: []int32{0, 1}}),
		"arg":     {Name: "arg", Op: "_Arg"},
	}
	for _, c := range []struct {
		name string
		n    *nodepb.NodeDef
		want int64
		ok   bool
	}{
		{"nccl attr", &nodepb.NodeDef{Op: "NcclAllReduce", Attr: map[string]*attrpb.AttrValue{"num_devices": {Value: &attrpb.AttrValue_I{I: 2}}}}, 2, true},
		{"v1 attr", &nodepb.NodeDef{Op: "CollectiveReduce", Attr: map[string]*attrpb.AttrValue{"group_size": {Value: &attrpb.AttrValue_I{I: 5}}}}, 5, true},
		{"v2 const", &nodepb.NodeDef{Op: "CollectiveReduceV2", Input: []string{"x", "four", "k", "i", "^c"}}, 4, true},
		{"v2 through identity and cast", &nodepb.NodeDef{Op: "CollectiveGatherV2", Input: []string{"x", "id:0", "k", "i"}}, 3, true},
		{"recv v2 input 0", &nodepb.NodeDef{Op: "CollectiveBcastRecvV2", Input: []string{"four", "k", "i", "s"}}, 4, true},
		{"v3 assignment", &nodepb.NodeDef{Op: "CollectiveReduceV3", Input: []string{"x", "comm", "assign"}}, 2, true},
		{"argument", &nodepb.NodeDef{Op: "CollectiveReduceV2", Input: []string{"x", "arg", "k", "i"}}, 0, false},
		{"control input only", &nodepb.NodeDef{Op: "CollectiveReduceV2", Input: []string{"x", "^four"}}, 0, false},
		{"not a distribution op", &nodepb.NodeDef{Op: "MatMul", Input: []string{"x", "four"}}, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := GroupSize(c.n, g.resolve)
			if got != c.want || ok != c.ok {
				t.Errorf("GroupSize = %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestTensorScalar(t *testing.T) {
	for _, c := range []struct {
		name string
		t    *tensorpb.TensorProto
		want float64
		ok   bool
	}{
		{"float val", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, FloatVal: []float32{0.5}}, 0.5, true},
		{"float content", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: shape(1, 1), TensorContent: []byte{0, 0, 0x80, 0x40}}, 4, true},
		{"half val", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_HALF, HalfVal: []int32{0x4200}}, 3, true},
		{"half content", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_HALF, TensorContent: []byte{0x00, 0x3c}}, 1, true},
		{"bfloat16 val", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_BFLOAT16, HalfVal: []int32{0x3f00}}, 0.5, true},
		{"int16 content", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT16, TensorContent: []byte{0xfe, 0xff}}, -2, true},
		{"two elements", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorShape: shape(2), FloatVal: []float32{1, 2}}, 0, false},
		{"short content", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, TensorContent: []byte{0, 0}}, 0, false},
		{"string", &tensorpb.TensorProto{Dtype: typespb.DataType_DT_STRING, StringVal: [][]byte{[]byte("2")}}, 0, false},
		{"nil", nil, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := TensorScalar(c.t)
			if ok != c.ok || (ok && math.Abs(got-c.want) > 1e-9) {
				t.Errorf("TensorScalar = %g, %v; want %g, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestIsSum(t *testing.T) {
	s := func(v string) *attrpb.AttrValue { return &attrpb.AttrValue{Value: &attrpb.AttrValue_S{S: []byte(v)}} }
	for _, c := range []struct {
		attrs map[string]*attrpb.AttrValue
		want  bool
	}{
		{map[string]*attrpb.AttrValue{"reduction": s("sum")}, true},
		{map[string]*attrpb.AttrValue{"reduction": s("Add")}, true},
		{map[string]*attrpb.AttrValue{"reduction": s("max")}, false},
		{map[string]*attrpb.AttrValue{"merge_op": s("Add"), "final_op": s("Id")}, true},
		{map[string]*attrpb.AttrValue{"merge_op": s("Add"), "final_op": s("Div")}, false},
		{map[string]*attrpb.AttrValue{"merge_op": s("Max"), "final_op": s("Id")}, false},
	} {
		if got := IsSum(&nodepb.NodeDef{Attr: c.attrs}); got != c.want {
			t.Errorf("IsSum(%v) = %v", c.attrs, got)
		}
	}
}
