package rewrite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/savedmodel"
)

func dvShape(dims ...int64) *shapepb.TensorShapeProto {
	s := &shapepb.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
	}
	return s
}

func dvShapeAttr(dims ...int64) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Shape{Shape: dvShape(dims...)}}
}

func dvTypes(ts ...typespb.DataType) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{Type: ts}}}
}

// dvTF1Saver is a TF1 graph: ref variables w ([2]) and unrestored u read by
// the signature, restored by save/restore_all from the given keys.
func dvTF1Saver(keys []string, dtypes []typespb.DataType) *savedmodel.Model {
	specs := make([]string, len(keys))
	var assigns []*nodepb.NodeDef
	restoreAll := dvNode("save/restore_all", "NoOp", "")
	for i, k := range keys {
		out := "save/RestoreV2"
		if i > 0 {
			out += ":" + string(rune('0'+i))
		}
		if k != "w" && k != "u" {
			continue
		}
		a := dvNode("save/Assign_"+k, "Assign", "", k, out)
		assigns = append(assigns, a)
		restoreAll.Input = append(restoreAll.Input, "^"+a.Name)
	}
	nodes := []*nodepb.NodeDef{
		dvAttrs(dvNode("w", "VariableV2", "", ""), "dtype", dvFloat, "shape", dvShapeAttr(2)),
		dvAttrs(dvNode("w/read", "Identity", "", "w"), "T", dvFloat),
		dvAttrs(dvNode("u", "VariableV2", ""), "dtype", dvFloat, "shape", dvShapeAttr(2)),
		dvAttrs(dvNode("u/read", "Identity", "", "u"), "T", dvFloat),
		dvAttrs(dvNode("y", "AddV2", "", "w/read", "u/read"), "T", dvFloat),
		dvAttrs(dvNode("save/Const", "Placeholder", ""), "dtype", typespb.DataType_DT_STRING),
		dvStrings("save/RestoreV2/tensor_names", keys...),
		dvStrings("save/RestoreV2/shape_and_slices", specs...),
		dvAttrs(dvNode("save/RestoreV2", "RestoreV2", "", "save/Const", "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices"),
			"dtypes", dvTypes(dtypes...)),
		restoreAll,
	}
	nodes[0].Input = nil
	nodes = append(nodes, assigns...)
	m := dvModel(nodes, nil, map[string]string{"y": "y:0"})
	m.Proto.MetaGraphs[0].SaverDef = &tfpb.SaverDef{FilenameTensorName: "save/Const:0", RestoreOpName: "save/restore_all"}
	_ = m.SetVariable("w", &tfpb.BundleEntryProto{Dtype: dvFloat, Shape: dvShape(2)}, nil)
	return m
}

func dvWhat(fs []Finding) string {
	var s []string
	for _, f := range fs {
		s = append(s, f.Where.String()+": "+f.What)
	}
	return strings.Join(s, "\n")
}

func TestVerifyRestore(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		dtypes []typespb.DataType
		setup  func(m *savedmodel.Model)
		want   []string // substrings, one per finding, in order
	}{{
		name: "u is read but never restored",
		keys: []string{"w"}, dtypes: []typespb.DataType{dvFloat},
		want: []string{`node u: checkpoint: variable u (VariableV2) is read by a signature but neither the restore op nor the init op assigns it`},
	}, {
		name: "all restored",
		keys: []string{"w", "u"}, dtypes: []typespb.DataType{dvFloat, dvFloat},
		setup: func(m *savedmodel.Model) {
			_ = m.SetVariable("u", &tfpb.BundleEntryProto{Dtype: dvFloat, Shape: dvShape(2)}, nil)
		},
	}, {
		name: "missing key, dtype and shape mismatch",
		keys: []string{"w", "u", "gone"}, dtypes: []typespb.DataType{typespb.DataType_DT_DOUBLE, dvFloat, dvFloat},
		setup: func(m *savedmodel.Model) {
			_ = m.SetVariable("u", &tfpb.BundleEntryProto{Dtype: dvFloat, Shape: dvShape(3)}, nil)
		},
		want: []string{
			`node save/RestoreV2: checkpoint: restores key "w" as DT_DOUBLE, but the checkpoint holds DT_FLOAT`,
			`node u: checkpoint: variable u has shape [2], but checkpoint key "u" holds [3]`,
			`node save/RestoreV2: checkpoint: restores key "gone", which the checkpoint lacks`,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := dvTF1Saver(tt.keys, tt.dtypes)
			if tt.setup != nil {
				tt.setup(m)
			}
			got := Check(m, Options{})
			require.Len(t, got, len(tt.want), dvWhat(got))
			for i, w := range tt.want {
				assert.Contains(t, got[i].Where.String()+": "+got[i].What, w)
			}
		})
	}
}

// TestVerifyRestoreThroughFunction covers the TF2 layout: the restore op is
// a call of a restore function whose AssignVariableOp writes a resource
// argument bound to a main-graph VarHandleOp.
func TestVerifyRestoreThroughFunction(t *testing.T) {
	restore := &fnpb.FunctionDef{
		Signature: &opdefpb.OpDef{Name: "__inference__traced_restore_9",
			InputArg: []*opdefpb.OpDef_ArgDef{{Name: "file", Type: typespb.DataType_DT_STRING},
				{Name: "h", Type: typespb.DataType_DT_RESOURCE}},
			OutputArg: []*opdefpb.OpDef_ArgDef{{Name: "out", Type: typespb.DataType_DT_STRING}}},
		NodeDef: []*nodepb.NodeDef{
			dvStrings("names", "v/.ATTRIBUTES/VARIABLE_VALUE"),
			dvStrings("specs", ""),
			dvAttrs(dvNode("RestoreV2", "RestoreV2", "", "file", "names:output:0", "specs:output:0"), "dtypes", dvTypes(dvFloat)),
			dvAttrs(dvNode("Identity", "Identity", "", "RestoreV2:tensors:0"), "T", dvFloat),
			dvAttrs(dvNode("assign", "AssignVariableOp", "", "h", "Identity:output:0"), "dtype", dvFloat),
			dvAttrs(dvNode("ret", "Identity", "", "file", "^assign"), "T", typespb.DataType_DT_STRING),
		},
		Ret: map[string]string{"out": "ret:output:0"},
	}
	m := dvModel([]*nodepb.NodeDef{
		dvAttrs(dvNode("saver_filename", "Placeholder", ""), "dtype", typespb.DataType_DT_STRING),
		dvAttrs(dvNode("v", "VarHandleOp", ""), "dtype", dvFloat, "shape", dvShapeAttr(4, 2)),
		dvAttrs(dvNode("read", "ReadVariableOp", "", "v"), "dtype", dvFloat),
		dvCall("StatefulPartitionedCall_2", "__inference__traced_restore_9", "saver_filename", "v"),
	}, []*fnpb.FunctionDef{restore}, map[string]string{"y": "read:0"})
	m.Proto.MetaGraphs[0].SaverDef = &tfpb.SaverDef{FilenameTensorName: "saver_filename:0", RestoreOpName: "StatefulPartitionedCall_2"}
	require.NoError(t, m.SetVariable("v/.ATTRIBUTES/VARIABLE_VALUE", &tfpb.BundleEntryProto{Dtype: dvFloat, Shape: dvShape(4, 2)}, nil))
	assert.Empty(t, dvWhat(Check(m, Options{})))

	require.NoError(t, m.SetVariable("v/.ATTRIBUTES/VARIABLE_VALUE", &tfpb.BundleEntryProto{Dtype: dvFloat, Shape: dvShape(2, 4)}, nil))
	got := Check(m, Options{})
	require.Len(t, got, 1, dvWhat(got))
	assert.Equal(t, "v", got[0].Where.Node)
	assert.Contains(t, got[0].What, "has shape [4 2], but checkpoint key")
}

func TestVerifyDistributionOpsAndGraph(t *testing.T) {
	reached := dvFunc("reached", []string{"a"}, []string{"y"}, map[string]string{"y": "r:data:0"},
		dvAttrs(dvNode("r", "NcclAllReduce", "", "a"), "T", dvFloat, "num_devices", 2))
	unreached := dvFunc("unreached", []string{"a"}, []string{"y"}, map[string]string{"y": "r:data:0"},
		dvAttrs(dvNode("r", "CollectiveReduceV2", "", "a"), "T", dvFloat))
	concrete := dvFunc("concrete", []string{"a"}, []string{"y"}, map[string]string{"y": "t:output:0"},
		dvAttrs(dvNode("t", "TPUReplicatedInput", "", "a", "a"), "T", dvFloat, "N", 2))
	m := dvModel([]*nodepb.NodeDef{
		dvAttrs(dvNode("x", "Placeholder", "/job:worker/task:1/device:GPU:0"), "dtype", dvFloat),
		dvCall("call", "reached", "x"),
		dvAttrs(dvNode("hvd", "HorovodBroadcast", "", "x"), "T", dvFloat), // not reachable
		dvAttrs(dvNode("dangling", "Identity", "", "nothing"), "T", dvFloat),
	}, []*fnpb.FunctionDef{reached, unreached, concrete}, map[string]string{"in:x": "x:0", "y": "call:0"})
	m.Proto.MetaGraphs[0].ObjectGraphDef = &tfpb.SavedObjectGraph{
		Nodes: []*tfpb.SavedObject{
			{Children: []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference{{NodeId: 1, LocalName: "f"}, {NodeId: 5, LocalName: "bad"}}},
			{Kind: &tfpb.SavedObject_Function{Function: &tfpb.SavedFunction{ConcreteFunctions: []string{"concrete", "missing_fn"}}}},
		},
		ConcreteFunctions: map[string]*tfpb.SavedConcreteFunction{"concrete": {BoundInputs: []int32{1, 9}}},
	}
	m.Keras = &savedmodel.KerasMetadata{Nodes: []savedmodel.KerasObject{{NodeID: 0, NodePath: "root"}, {NodeID: 2, NodePath: "root.layer"}}}
	got := dvWhat(Check(m, Options{}))
	for _, want := range []string{
		`meta_graph 0, node x: device: "/job:worker/task:1/device:GPU:0" names no device of a one-CPU process (the policy makes it "" (cleared))`,
		`function reached, node r: distribution op: NcclAllReduce is reachable from the model's roots`,
		`function concrete, node t: distribution op: TPUReplicatedInput is reachable`,
		`node dangling: graph:`,
		`object 0: object graph: child "bad" names object 5, out of range [0,2)`,
		`object 1: object graph: function names concrete function missing_fn, which the library lacks`,
		`function concrete: object graph: bound input names object 9, out of range [0,2)`,
		`object graph: keras_metadata.pb object "root.layer" names object 2, out of range [0,2)`,
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "unreached")
	assert.NotContains(t, got, "hvd")

	// Every finding carries its category, and device findings their device.
	kinds := map[string]int{}
	for _, f := range Check(m, Options{}) {
		kinds[f.Kind]++
		assert.True(t, strings.HasPrefix(f.What, f.Kind+": "), "%q does not start with its kind %q", f.What, f.Kind)
		if f.Where.Node == "x" {
			assert.Equal(t, FindingDevice, f.Kind)
			assert.Equal(t, "/job:worker/task:1/device:GPU:0", f.Device)
		} else {
			assert.Empty(t, f.Device, f.What)
		}
	}
	assert.Equal(t, map[string]int{FindingDevice: 1, FindingDistributionOp: 2, FindingGraph: 1, FindingObjectGraph: 4}, kinds)

	// For the GPU target the remapped device is what counts.
	gpu := Check(m, Options{Target: device.GPU})
	assert.Contains(t, dvWhat(gpu), `names no device of a one-GPU process (the policy makes it "/device:GPU:0")`)
}

func TestVerifyPassRecordsFindingsWithoutEditing(t *testing.T) {
	m := dvModel([]*nodepb.NodeDef{dvNode("a", "NoOp", "/device:GPU:3")}, nil, nil)
	rep, err := dvRun(t, m, Options{}, Verify)
	require.NoError(t, err)
	assert.False(t, rep.Changed())
	require.Len(t, rep.Findings(), 1)
	assert.Equal(t, "/device:GPU:3", m.Proto.MetaGraphs[0].GraphDef.Node[0].Device)
	assert.Equal(t, Check(m, Options{}), rep.Findings())
}

// TestDevPlaceable checks the verify pass's notion of "inside the target":
// what TF's placer finds in one local process with soft placement off.
func TestDevPlaceable(t *testing.T) {
	tests := []struct {
		dev      string
		cpu, gpu bool
	}{
		{"/device:CPU:0", true, true},
		{"/job:localhost/replica:0/task:0/device:CPU:0", true, true},
		{"/cpu:0", true, true},          // legacy form, normalised by TF's parser
		{"/device:CPU:*", true, true},   // any CPU
		{"/device:cpu:0", false, false}, // type "cpu" matches nothing in TF's placer
		{"/device:CPU:1", false, false},
		{"/device:GPU:0", false, true},
		{"/device:GPU:1", false, false},
		{"/job:localhost/replica:0/task:0/device:GPU:0", false, true},
		{"/job:ps/task:0/device:CPU:0", false, false},
		{"/job:localhost/task:1", false, false},
		{"/job:localhost", true, true},
		{"/device:TPU:0", false, false},
		{"not a device", false, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.cpu, devPlaceable(tt.dev, device.CPU), "%s on CPU", tt.dev)
		assert.Equal(t, tt.gpu, devPlaceable(tt.dev, device.GPU), "%s on GPU", tt.dev)
	}
}

// TestVerifyAcceptsControlFixture: a model TF saved on one CPU, without a
// strategy, is strategy-free as it is, for both targets.
func TestVerifyAcceptsControlFixture(t *testing.T) {
	m, err := savedmodel.Read(context.Background(), filepath.Join("..", "testdata", "models", "plain"), savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer m.Close()
	for _, target := range []device.Target{device.CPU, device.GPU} {
		assert.Empty(t, Check(m, Options{Target: target}), "target %s", target)
	}
}
