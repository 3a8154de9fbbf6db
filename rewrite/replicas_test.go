package rewrite

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	varpb "github.com/wamuir/graft/tensorflow/core/framework/variable_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

const (
	cpu0 = "/job:localhost/replica:0/task:0/device:CPU:0"
	cpu1 = "/job:localhost/replica:0/task:0/device:CPU:1"
)

// expandGraph is a main graph as TF writes it with the
// EXPAND_DISTRIBUTED_VARIABLES policy: the primary VarHandleOp and a replica
// with its device, both passed to a function; the object graph lists both
// as components of one SavedVariable.
func expandGraph(primaryNode, primaryShared string) *tfpb.MetaGraphDef {
	p := rpVariable(primaryNode, "VarHandleOp", cpu0, 2)
	p.Attr["shared_name"] = rpSAttr(primaryShared)
	r := rpVariable(primaryShared+"/replica_1", "VarHandleOp", cpu1, 2)
	mg := rpMetaGraph([]*nodepb.NodeDef{
		rpNd("x", "Placeholder"),
		p, r,
		rpWithDevice(rpNd(primaryShared+"/replica_1/Read/ReadVariableOp", "ReadVariableOp", primaryShared+"/replica_1"), cpu1),
		rpNd("call", "StatefulPartitionedCall", "x", primaryNode, primaryShared+"/replica_1"),
	})
	mg.ObjectGraphDef = &tfpb.SavedObjectGraph{
		Nodes: []*tfpb.SavedObject{
			{Children: []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference{{NodeId: 1, LocalName: "v"}}},
			{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{
				Dtype: typespb.DataType_DT_FLOAT, Shape: rpShapeProto(2), Name: primaryShared, Device: cpu0,
				ExperimentalDistributedVariableComponents: []*tfpb.SavedVariable{
					{Name: primaryShared, Device: cpu0}, {Name: primaryShared + "/replica_1", Device: cpu1},
				},
			}}},
		},
		ConcreteFunctions: map[string]*tfpb.SavedConcreteFunction{"f": {BoundInputs: []int32{1, 1}}},
	}
	return mg
}

func TestReplicasExpand(t *testing.T) {
	tests := []struct{ name, primaryNode, primaryShared string }{
		{"same names", "v", "v"},
		{"node name uniquified", "dense/kernel_1", "dense/kernel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rpWriteModel(t, expandGraph(tt.primaryNode, tt.primaryShared),
				rpFloats("v/.ATTRIBUTES/VARIABLE_VALUE", []int64{2}, 1, 2))
			rep := rpRun(t, m, Options{}, Replicas)
			replica := tt.primaryShared + "/replica_1"
			assert.False(t, rpHasNode(m, "", replica), "replica VarHandleOp left")
			assert.False(t, rpHasNode(m, "", replica+"/Read/ReadVariableOp"), "unused replica read left")
			assert.Equal(t, []string{"x", tt.primaryNode, tt.primaryNode}, rpInputsOf(t, m, "", "call"))
			v := m.Proto.MetaGraphs[0].ObjectGraphDef.Nodes[1].GetVariable()
			assert.Empty(t, v.GetExperimentalDistributedVariableComponents())
			assert.Equal(t, cpu0, v.GetDevice(), "the device is the devices pass's business")
			assert.Equal(t, []string{"v/.ATTRIBUTES/VARIABLE_VALUE"}, m.OutputKeys())
			assert.False(t, m.OutputChanged())
			assert.True(t, rep.Changed())
			assert.Empty(t, rep.Findings())
		})
	}
}

// towerGraph is a TF1 graph with two towers: w on GPU:0 and its copy
// tower_1/w on GPU:1, each initialized, read and updated, and a Saver that
// saves and restores both.
func towerGraph(replicaDevice string) *tfpb.MetaGraphDef {
	coloc := func(n *nodepb.NodeDef, v string) *nodepb.NodeDef {
		return rpWithAttr(n, graphdef.ClassAttr, rpStringsAttr(graphdef.ColocPrefix+v))
	}
	nodes := []*nodepb.NodeDef{
		rpNd("x", "Placeholder"),
		rpNd("Const", "Const"), rpNd("tower_1/Const", "Const"), rpNd("delta", "Const"),
		rpVariable("w", "VariableV2", "/device:GPU:0", 2),
		coloc(rpNd("w/Assign", "Assign", "w", "Const"), "w"),
		coloc(rpNd("w/read", "Identity", "w"), "w"),
		rpVariable("tower_1/w", "VariableV2", replicaDevice, 2),
		coloc(rpNd("tower_1/w/Assign", "Assign", "tower_1/w", "tower_1/Const"), "tower_1/w"),
		coloc(rpNd("tower_1/w/read", "Identity", "tower_1/w"), "tower_1/w"),
		rpNd("MatMul", "MatMul", "x", "w/read"),
		rpNd("tower_1/MatMul", "MatMul", "x", "tower_1/w/read"),
		coloc(rpNd("AssignSub_1", "AssignSub", "tower_1/w", "delta"), "tower_1/w"),
		rpNd("init", "NoOp", "^w/Assign", "^tower_1/w/Assign"),
		rpNd("save/Const", "PlaceholderWithDefault"),
		rpStringsConst("save/SaveV2/tensor_names", "tower_1/w", "w"),
		rpStringsConst("save/SaveV2/shape_and_slices", "", ""),
		rpWithAttr(rpNd("save/SaveV2", "SaveV2", "save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices", "tower_1/w", "w"),
			"dtypes", rpTypesAttr(typespb.DataType_DT_FLOAT, typespb.DataType_DT_FLOAT)),
		rpNd("save/control_dependency", "Identity", "save/Const", "^save/SaveV2"),
		rpStringsConst("save/RestoreV2/tensor_names", "tower_1/w", "w"),
		rpStringsConst("save/RestoreV2/shape_and_slices", "", ""),
		rpWithAttr(rpNd("save/RestoreV2", "RestoreV2", "save/Const", "save/RestoreV2/tensor_names", "save/RestoreV2/shape_and_slices"),
			"dtypes", rpTypesAttr(typespb.DataType_DT_FLOAT, typespb.DataType_DT_FLOAT)),
		coloc(rpNd("save/Assign", "Assign", "tower_1/w", "save/RestoreV2"), "tower_1/w"),
		coloc(rpNd("save/Assign_1", "Assign", "w", "save/RestoreV2:1"), "w"),
		rpNd("save/restore_all", "NoOp", "^save/Assign", "^save/Assign_1"),
	}
	mg := rpMetaGraph(nodes)
	mg.SaverDef = &tfpb.SaverDef{FilenameTensorName: "save/Const:0", SaveTensorName: "save/control_dependency:0", RestoreOpName: "save/restore_all", Version: tfpb.SaverDef_V2}
	vd := func(v string) []byte {
		return rpMustMarshalNoT(&varpb.VariableDef{VariableName: v + ":0", InitializerName: v + "/Assign", SnapshotName: v + "/read:0", Trainable: true})
	}
	mg.CollectionDef = map[string]*tfpb.CollectionDef{
		"variables":           {Kind: &tfpb.CollectionDef_BytesList_{BytesList: &tfpb.CollectionDef_BytesList{Value: [][]byte{vd("w"), vd("tower_1/w")}}}},
		"trainable_variables": {Kind: &tfpb.CollectionDef_BytesList_{BytesList: &tfpb.CollectionDef_BytesList{Value: [][]byte{vd("w"), vd("tower_1/w")}}}},
		"tower_vars":          {Kind: &tfpb.CollectionDef_NodeList_{NodeList: &tfpb.CollectionDef_NodeList{Value: []string{"w:0", "tower_1/w:0"}}}},
	}
	return mg
}

func TestReplicasTowers(t *testing.T) {
	m := rpWriteModel(t, towerGraph("/device:GPU:1"),
		rpFloats("w", []int64{2}, 1, 2), rpFloats("tower_1/w", []int64{2}, 1, 2))
	rep := rpRun(t, m, Options{}, Replicas, Saver)

	for _, gone := range []string{"tower_1/w", "tower_1/w/Assign", "save/Assign"} {
		assert.False(t, rpHasNode(m, "", gone), gone)
	}
	assert.Equal(t, []string{"w"}, rpInputsOf(t, m, "", "tower_1/w/read"), "a used read of the replica now reads the primary")
	assert.Equal(t, []string{"^w/Assign"}, rpInputsOf(t, m, "", "init"))
	assert.Equal(t, []string{"w", "delta"}, rpInputsOf(t, m, "", "AssignSub_1"))
	assert.Equal(t, []string{"save/Const", "save/SaveV2/tensor_names", "save/SaveV2/shape_and_slices", "w"}, rpInputsOf(t, m, "", "save/SaveV2"))
	assert.Equal(t, []string{"^save/Assign_1"}, rpInputsOf(t, m, "", "save/restore_all"))
	assert.Equal(t, []string{"w", "save/RestoreV2"}, rpInputsOf(t, m, "", "save/Assign_1"), "later RestoreV2 outputs are renumbered")
	g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
	names, err := constStrings(g.Main(), g.Main().Node("save/RestoreV2"), 1)
	require.NoError(t, err)
	assert.Equal(t, []string{"w"}, names)
	assert.Equal(t, []string{"w"}, graphdef.Colocation(g.Main().Node("tower_1/w/read")))

	assert.Equal(t, []string{"w"}, m.OutputKeys())
	cols := m.Proto.MetaGraphs[0].CollectionDef
	assert.Len(t, cols["variables"].GetBytesList().GetValue(), 1)
	assert.Len(t, cols["trainable_variables"].GetBytesList().GetValue(), 1)
	assert.Equal(t, []string{"w:0"}, cols["tower_vars"].GetNodeList().GetValue())
	assert.Empty(t, rep.Findings())
	assert.Contains(t, whats(rep.Passes[0].Changes), "AssignSub wrote replica tower_1/w; it now writes the primary w")
	assert.Contains(t, whats(rep.Passes[0].Changes), `deleted the entry of replica tower_1/w of w (max abs diff from "w": 0)`)

	again := rpRun(t, m, Options{}, Replicas, Saver)
	assert.False(t, again.Changed(), "second run changed %v", again.Passes)
}

func whats(cs []Change) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.What + "\n")
	}
	return b.String()
}

func TestReplicasDivergence(t *testing.T) {
	diverged := func(t *testing.T) *tfpb.MetaGraphDef { return towerGraph("/device:GPU:1") }
	t.Run("refused", func(t *testing.T) {
		m := rpWriteModel(t, diverged(t), rpFloats("w", []int64{2}, 1, 2), rpFloats("tower_1/w", []int64{2}, 1, 2.5))
		_, err := NewPipeline(Replicas, Saver).Run(t.Context(), m, Options{})
		var de *DivergenceError
		require.ErrorAs(t, err, &de)
		assert.True(t, errors.Is(err, ErrReplicaDivergence))
		assert.Equal(t, DivergenceError{Variable: "w", Replica: "tower_1/w", PrimaryKey: "w", ReplicaKey: "tower_1/w", MaxAbsDiff: 0.5}, *de)
		assert.Contains(t, err.Error(), "max abs diff 0.5")
		assert.True(t, rpHasNode(m, "", "tower_1/w"), "nothing is changed before the check")
		assert.Equal(t, []string{"tower_1/w", "w"}, m.OutputKeys())
	})
	t.Run("allowed", func(t *testing.T) {
		m := rpWriteModel(t, diverged(t), rpFloats("w", []int64{2}, 1, 2), rpFloats("tower_1/w", []int64{2}, -1, 2))
		rep := rpRun(t, m, Options{AllowDivergence: true}, Replicas, Saver)
		assert.Equal(t, []string{"w"}, m.OutputKeys())
		assert.Contains(t, whats(rep.Passes[0].Changes), `(max abs diff from "w": 2)`)
		var found bool
		for _, n := range rep.Notes() {
			found = found || strings.Contains(n.What, "max abs diff 2; keeping the primary's value")
		}
		assert.True(t, found, "notes: %v", rep.Notes())
	})
	t.Run("NaN against a number", func(t *testing.T) {
		m := rpWriteModel(t, diverged(t), rpFloats("w", []int64{2}, 1, 2), rpFloats("tower_1/w", []int64{2}, 1, float32(math.NaN())))
		_, err := NewPipeline(Replicas).Run(t.Context(), m, Options{})
		var de *DivergenceError
		require.ErrorAs(t, err, &de)
		assert.True(t, de.MaxAbsDiff > 1e300)
	})
}

// TestReplicasLeavesNonReplicas checks that variables that only look like
// replicas are kept, and that a model without replicas is not changed.
func TestReplicasLeavesNonReplicas(t *testing.T) {
	tests := []struct {
		name    string
		mg      func() *tfpb.MetaGraphDef
		finding string
	}{
		{"tower on the same device", func() *tfpb.MetaGraphDef { return towerGraph("/device:GPU:0") }, ""},
		{"tower without devices", func() *tfpb.MetaGraphDef { return towerGraph("") }, ""},
		{"replica of another dtype", func() *tfpb.MetaGraphDef {
			mg := expandGraph("v", "v")
			mg.GraphDef.Node[2].Attr["dtype"] = rpTypeAttr(typespb.DataType_DT_INT32)
			mg.ObjectGraphDef.Nodes[1].GetVariable().ExperimentalDistributedVariableComponents = nil
			return mg
		}, "dtype DT_INT32 differs"},
		{"replica name without evidence", func() *tfpb.MetaGraphDef {
			mg := expandGraph("v", "v")
			mg.GraphDef.Node[1].Device, mg.GraphDef.Node[2].Device = "", ""
			mg.ObjectGraphDef.Nodes[1].GetVariable().ExperimentalDistributedVariableComponents = nil
			return mg
		}, "no SavedVariable lists it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mg := tt.mg()
			before := rpMustMarshalNoT(mg)
			m := rpWriteModel(t, mg, rpFloats("w", []int64{2}, 1, 2), rpFloats("tower_1/w", []int64{2}, 3, 4))
			rep := rpRun(t, m, Options{}, Replicas)
			assert.False(t, rep.Changed(), "changes: %v", rep.Passes[0].Changes)
			assert.Equal(t, before, rpMustMarshalNoT(m.Proto.MetaGraphs[0]))
			assert.False(t, m.OutputChanged())
			assert.Empty(t, rep.Findings())
			if tt.finding == "" {
				assert.Empty(t, rep.Notes())
			} else {
				require.Len(t, rep.Notes(), 1)
				assert.Contains(t, rep.Notes()[0].What, tt.finding)
			}
		})
	}
}

// TestReplicasSyncOnRead: a SyncOnRead variable (BatchNormalization moving
// statistics) saved with EXPAND has replica handles but one checkpoint
// value, the aggregate; the value must survive untouched.
func TestReplicasSyncOnRead(t *testing.T) {
	const key = "bn/moving_mean/.ATTRIBUTES/VARIABLE_VALUE"
	mg := expandGraph("bn/moving_mean", "bn/moving_mean")
	v := mg.ObjectGraphDef.Nodes[1].GetVariable()
	v.Synchronization = varpb.VariableSynchronization_VARIABLE_SYNCHRONIZATION_ON_READ
	v.Aggregation = varpb.VariableAggregation_VARIABLE_AGGREGATION_MEAN
	m := rpWriteModel(t, mg, rpFloats(key, []int64{2}, 0.25, 0.75))
	rpRun(t, m, Options{}, Replicas)
	assert.False(t, rpHasNode(m, "", "bn/moving_mean/replica_1"))
	assert.False(t, m.OutputChanged())
	got, err := m.InputCheckpoint.ReadFloat64s(key)
	require.NoError(t, err)
	assert.Equal(t, []float64{0.25, 0.75}, got)
	assert.Equal(t, varpb.VariableSynchronization_VARIABLE_SYNCHRONIZATION_ON_READ, v.GetSynchronization())
}

func TestReplicasRejectsBadBoundInput(t *testing.T) {
	mg := expandGraph("v", "v")
	mg.ObjectGraphDef.ConcreteFunctions["f"].BoundInputs = []int32{7}
	m := rpWriteModel(t, mg)
	_, err := NewPipeline(Replicas).Run(t.Context(), m, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bound input names object node 7")
}

// TestReplicasCheckpointObjectGraph: replica entries named by the
// checkpoint's own TrackableObjectGraph are dropped from it too.
func TestReplicasCheckpointObjectGraph(t *testing.T) {
	attr := func(key string) *tfpb.TrackableObjectGraph_TrackableObject_SerializedTensor {
		return &tfpb.TrackableObjectGraph_TrackableObject_SerializedTensor{Name: "VARIABLE_VALUE", FullName: key, CheckpointKey: key}
	}
	og := &tfpb.TrackableObjectGraph{Nodes: []*tfpb.TrackableObjectGraph_TrackableObject{
		{Children: []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference{{NodeId: 1, LocalName: "w"}, {NodeId: 2, LocalName: "w1"}}},
		{Attributes: []*tfpb.TrackableObjectGraph_TrackableObject_SerializedTensor{attr("w")}},
		{Attributes: []*tfpb.TrackableObjectGraph_TrackableObject_SerializedTensor{attr("tower_1/w")}},
	}}
	m := rpWriteModel(t, towerGraph("/device:GPU:1"),
		rpFloats("w", []int64{2}, 1, 2), rpFloats("tower_1/w", []int64{2}, 1, 2),
		rpTensor{key: savedmodel.ObjectGraphKey, dtype: typespb.DataType_DT_STRING, strs: [][]byte{rpMustMarshalNoT(og)}})
	rpRun(t, m, Options{}, Replicas, Saver)
	assert.Equal(t, []string{savedmodel.ObjectGraphKey, "w"}, m.OutputKeys())
	got, err := m.OutputObjectGraph()
	require.NoError(t, err)
	require.Len(t, got.GetNodes(), 3)
	assert.Equal(t, "w", got.GetNodes()[1].GetAttributes()[0].GetCheckpointKey())
	assert.Empty(t, got.GetNodes()[2].GetAttributes())
}

// FuzzReplicas builds a main graph of two variable ops with fuzzed names,
// shared names and devices, read by a call node, and checks that the pass
// never fails or breaks the graph, and collapses exactly the pairs whose
// names and devices say replica.
func FuzzReplicas(f *testing.F) {
	f.Add("v", "v", "v/replica_1", "v/replica_1", cpu0, cpu1)
	f.Add("dense/kernel_1", "dense/kernel", "dense/kernel/replica_1", "dense/kernel/replica_1", cpu0, cpu1)
	f.Add("w", "", "tower_1/w", "", "/device:GPU:0", "/device:GPU:1")
	f.Add("w", "", "tower_1/w", "", "/device:GPU:0", "/device:GPU:0")
	f.Add("a/replica_1", "a/replica_1", "a/replica_1/replica_2", "a/replica_1/replica_2", "", cpu1)
	f.Fuzz(func(t *testing.T, pName, pShared, rName, rShared, pDev, rDev string) {
		if pName == "" || rName == "" || pName == rName || strings.ContainsAny(pName+rName, ":^") ||
			!allUTF8(pName, pShared, rName, rShared, pDev, rDev) {
			return // not names a GraphDef can hold
		}
		p := rpVariable(pName, "VarHandleOp", pDev, 2)
		p.Attr["shared_name"] = rpSAttr(pShared)
		r := rpVariable(rName, "VarHandleOp", rDev, 2)
		r.Attr["shared_name"] = rpSAttr(rShared)
		m := rpWriteModel(t, rpMetaGraph([]*nodepb.NodeDef{p, r, rpNd("call", "StatefulPartitionedCall", pName, rName)}))
		rep, err := NewPipeline(Replicas).Run(t.Context(), m, Options{})
		require.NoError(t, err)
		require.NoError(t, graphdef.Validate(m.Proto.MetaGraphs[0].GraphDef))
		collapsed := !rpHasNode(m, "", rName) || !rpHasNode(m, "", pName)
		assert.Equal(t, collapsed, rep.Changed())
		if collapsed {
			in := rpInputsOf(t, m, "", "call")
			assert.Equal(t, in[0], in[1], "both handles are the primary")
			assert.True(t, onOtherDevice(p, r), "collapsed without distinct devices: %q %q", pDev, rDev)
		}
	})
}

func allUTF8(strs ...string) bool {
	for _, s := range strs {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}
