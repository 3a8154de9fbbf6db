package inspect

import (
	"slices"
	"strings"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// TestDeviceKinds checks the device artifacts read from device strings as
// TensorFlow parses them: legacy forms, any case of the type, bare types
// (SavedResource.device), and strings TensorFlow does not parse.
func TestDeviceKinds(t *testing.T) {
	for _, tt := range []struct {
		dev  string
		want []string
	}{
		{"", nil},
		{"/job:localhost/replica:0/task:0/device:CPU:0", nil},
		{"/device:CPU:1", []string{ArtifactDeviceCPUN}},
		{"/cpu:2", []string{ArtifactDeviceCPUN}},
		{"/device:XLA_CPU:1", []string{ArtifactDeviceCPUN}},
		{"/device:GPU:0", []string{ArtifactDeviceGPU}},
		{"/gpu:1", []string{ArtifactDeviceGPU}},
		{"/device:gpu:0", []string{ArtifactDeviceGPU}},
		{"/device:XLA_GPU:0", []string{ArtifactDeviceGPU}},
		{"GPU", []string{ArtifactDeviceGPU}},
		{"/job:worker/replica:0/task:1/device:GPU:3", []string{ArtifactDeviceGPU, ArtifactDeviceJob}},
		{"/job:ps/task:0/device:CPU:0", []string{ArtifactDeviceJob}},
		{"/job:localhost/task:2", []string{ArtifactDeviceJob}},
		{"/device:TPU:0", nil},
		{"gpu is not a device", nil},
	} {
		if got := deviceKinds(tt.dev); !slices.Equal(got, tt.want) {
			t.Errorf("deviceKinds(%q) = %v, want %v", tt.dev, got, tt.want)
		}
	}
}

// TestCollectiveGroupSize checks the group size inspect reads for each
// kind of collective, from the table of distribution ops: an attr (V1), a
// Const group size input read through Identity and Cast (V2), the second
// dimension of a group_assignment (V3), and unknown (-1) when the input is
// not a constant.
func TestCollectiveGroupSize(t *testing.T) {
	i32 := func(v int32) *attrpb.AttrValue {
		return &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{
			Dtype: typespb.DataType_DT_INT32, IntVal: []int32{v}}}}
	}
	assignment := &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{
		Dtype: typespb.DataType_DT_INT32, IntVal: []int32{0, 1, 2},
		TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: 1}, {Size: 3}}}}}}
	node := func(name, op string, attr map[string]*attrpb.AttrValue, in ...string) *nodepb.NodeDef {
		return &nodepb.NodeDef{Name: name, Op: op, Input: in, Attr: attr}
	}
	nodes := []*nodepb.NodeDef{
		node("x", "Placeholder", nil),
		node("one", "Const", map[string]*attrpb.AttrValue{"value": i32(1)}),
		node("four", "Const", map[string]*attrpb.AttrValue{"value": i32(4)}),
		node("four_id", "Identity", nil, "four"),
		node("one_cast", "Cast", nil, "one"),
		node("assign", "Const", map[string]*attrpb.AttrValue{"value": assignment}),
		node("assign_id", "Identity", nil, "assign"),
		node("v1", "CollectiveReduce", map[string]*attrpb.AttrValue{"group_size": {Value: &attrpb.AttrValue_I{I: 2}}}, "x"),
		node("v2_identity", "CollectiveReduceV2", nil, "x", "four_id", "one", "one", "^x"),
		node("v2_cast", "CollectiveGatherV2", nil, "x", "one_cast", "one", "one"),
		node("v2_unknown", "CollectiveReduceV2", nil, "x", "x", "one", "one"),
		node("v3", "CollectiveReduceV3", nil, "x", "one", "assign_id"),
	}
	s := &scan{max: 10, arts: map[string]*ArtifactReport{}, devices: map[string]*deviceCount{}, kinds: map[string][]string{}}
	s.body(0, "", nodes)
	want := map[string]int64{"v1": 2, "v2_identity": 4, "v2_cast": 1, "v2_unknown": -1, "v3": 3}
	if len(s.collectives) != len(want) {
		t.Fatalf("collectives %+v", s.collectives)
	}
	for _, c := range s.collectives {
		name := strings.TrimPrefix(c.where.Where, "meta_graph 0, node ")
		if w, ok := want[name]; !ok || c.size != w {
			t.Errorf("%s: group size %d, want %d", c.where.Where, c.size, w)
		}
	}
}
