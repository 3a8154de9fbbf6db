package rewrite

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

const restoreFn = "__inference__traced_restore_9"

var f32 = typespb.DataType_DT_FLOAT

// tf2RestoreGraph is a TF2 SavedModel graph whose restore function restores
// keys k0..k2 into its resource arguments; the main graph's call passes the
// variables named by passed (one per key).
func tf2RestoreGraph(passed [3]string, dtypes ...typespb.DataType) *tfpb.MetaGraphDef {
	return tf2RestoreGraphN(passed[:], dtypes...)
}

// tf2RestoreGraphN is tf2RestoreGraph with one slot (key k<i>) per passed
// variable.
func tf2RestoreGraphN(passed []string, dtypes ...typespb.DataType) *tfpb.MetaGraphDef {
	n := len(passed)
	var keys, specs []string
	for i := range n {
		keys, specs = append(keys, fmt.Sprintf("k%d", i)), append(specs, "")
		if len(dtypes) < n {
			dtypes = append(dtypes, f32)
		}
	}
	sig := &opdefpb.OpDef{
		Name:      restoreFn,
		InputArg:  []*opdefpb.OpDef_ArgDef{{Name: "file_prefix", Type: typespb.DataType_DT_STRING}},
		OutputArg: []*opdefpb.OpDef_ArgDef{{Name: "identity", Type: typespb.DataType_DT_STRING}},
	}
	body := []*nodepb.NodeDef{
		rpStringsConst("RestoreV2/tensor_names", keys...),
		rpStringsConst("RestoreV2/shape_and_slices", specs...),
		rpWithAttr(rpNd("RestoreV2", "RestoreV2", "file_prefix", "RestoreV2/tensor_names:output:0", "RestoreV2/shape_and_slices:output:0"),
			"dtypes", rpTypesAttr(dtypes...)),
	}
	fd := &fnpb.FunctionDef{Signature: sig, Ret: map[string]string{}, ControlRet: map[string]string{}}
	noop := rpNd("NoOp_1", "NoOp")
	for i := range n {
		arg := fmt.Sprintf("assignvariableop_%d_v", i)
		id, assign := fmt.Sprintf("Identity_%d", i), fmt.Sprintf("AssignVariableOp_%d", i)
		sig.InputArg = append(sig.InputArg, &opdefpb.OpDef_ArgDef{Name: arg, Type: typespb.DataType_DT_RESOURCE})
		body = append(body,
			rpNd(id, "Identity", fmt.Sprintf("RestoreV2:tensors:%d", i)),
			rpNd(assign, "AssignVariableOp", arg, id+":output:0"))
		sig.ControlOutput = append(sig.ControlOutput, assign)
		fd.ControlRet[assign] = assign
		noop.Input = append(noop.Input, "^"+assign)
	}
	body = append(body, noop, rpNd("Identity_ret", "Identity", "file_prefix", "^NoOp_1"))
	fd.NodeDef = body
	fd.Ret["identity"] = "Identity_ret:output:0"

	call := rpNd("restore", "StatefulPartitionedCall", append([]string{"saver_filename"}, passed...)...)
	call.Attr["f"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: restoreFn}}}
	nodes := []*nodepb.NodeDef{rpNd("saver_filename", "Placeholder"), call}
	for _, v := range slices.Compact(slices.Sorted(slices.Values(passed))) {
		nodes = append(nodes, rpVariable(v, "VarHandleOp", "", 2))
	}
	mg := rpMetaGraph(nodes, fd)
	mg.SaverDef = &tfpb.SaverDef{FilenameTensorName: "saver_filename:0", RestoreOpName: "restore", Version: tfpb.SaverDef_V2}
	return mg
}

func threeKeys() []rpTensor {
	return []rpTensor{rpFloats("k0", []int64{2}, 1, 2), rpFloats("k1", []int64{2}, 3, 4), rpFloats("k2", []int64{2}, 5, 6)}
}

func TestSaverDropsDeletedKeyTF2(t *testing.T) {
	tests := []struct {
		name     string
		passed   [3]string
		findings int
	}{
		{"variable no longer restored", [3]string{"v0", "v1", "v2"}, 1},
		{"variable restored by another slot", [3]string{"v0", "v0", "v2"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rpWriteModel(t, tf2RestoreGraph(tt.passed), threeKeys()...)
			require.NoError(t, m.DeleteVariable("k1"))
			rep := rpRun(t, m, Options{}, Saver)

			g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
			b := g.Function(restoreFn)
			for _, gone := range []string{"Identity_1", "AssignVariableOp_1"} {
				assert.Nil(t, b.Node(gone), gone)
			}
			assert.Equal(t, []string{"RestoreV2:tensors:1"}, b.Node("Identity_2").GetInput(), "later outputs are renumbered")
			assert.Equal(t, []string{"RestoreV2:tensors:0"}, b.Node("Identity_0").GetInput())
			names, err := constStrings(b, b.Node("RestoreV2"), 1)
			require.NoError(t, err)
			assert.Equal(t, []string{"k0", "k2"}, names)
			specs, err := constStrings(b, b.Node("RestoreV2"), 2)
			require.NoError(t, err)
			assert.Equal(t, []string{"", ""}, specs)
			assert.Equal(t, []typespb.DataType{f32, f32}, b.Node("RestoreV2").GetAttr()["dtypes"].GetList().GetType())
			assert.NotContains(t, b.FunctionDef().GetControlRet(), "AssignVariableOp_1")
			assert.NotContains(t, b.FunctionDef().GetSignature().GetControlOutput(), "AssignVariableOp_1")
			assert.Equal(t, []string{"^AssignVariableOp_0", "^AssignVariableOp_2"}, b.Node("NoOp_1").GetInput())
			require.Len(t, rep.Notes(), tt.findings)
			if tt.findings > 0 {
				assert.Contains(t, rep.Notes()[0].What, "variable v1 is no longer restored")
			}
			assert.NoError(t, graphdef.Validate(m.Proto.MetaGraphs[0].GraphDef))

			again := rpRun(t, m, Options{}, Saver)
			assert.False(t, again.Changed())
		})
	}
}

func TestSaverErrors(t *testing.T) {
	tests := []struct {
		name string
		mg   func() *tfpb.MetaGraphDef
		edit func(m *savedmodel.Model)
		want string
	}{
		{"dtype differs from the checkpoint", func() *tfpb.MetaGraphDef {
			return tf2RestoreGraph([3]string{"v0", "v1", "v2"}, f32, typespb.DataType_DT_INT32, f32)
		}, nil, `restores key "k1" as DT_INT32 but the checkpoint holds DT_FLOAT`},
		{"key never in the checkpoint", func() *tfpb.MetaGraphDef {
			mg := tf2RestoreGraph([3]string{"v0", "v1", "v2"})
			setConstStrings(mg.GraphDef.Library.Function[0].NodeDef[0], []string{"k0", "nope", "k2"})
			return mg
		}, nil, `restores key "nope", which the output checkpoint does not hold`},
		{"restored value used for something else", func() *tfpb.MetaGraphDef {
			mg := tf2RestoreGraph([3]string{"v0", "v1", "v2"})
			fd := mg.GraphDef.Library.Function[0]
			fd.NodeDef = append(fd.NodeDef, rpNd("Square", "Square", "Identity_1:output:0"))
			return mg
		}, func(m *savedmodel.Model) { m.DeleteVariable("k1") }, `flows into Square (Square), not only into a variable assignment`},
		{"SaverDef names a missing node", func() *tfpb.MetaGraphDef {
			mg := tf2RestoreGraph([3]string{"v0", "v1", "v2"})
			mg.SaverDef.RestoreOpName = "restore_all"
			return mg
		}, nil, `SaverDef.restore_op_name "restore_all" names no node`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := rpWriteModel(t, tt.mg(), threeKeys()...)
			if tt.edit != nil {
				tt.edit(m)
			}
			_, err := NewPipeline(Saver).Run(t.Context(), m, Options{})
			var pe *PassError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, "saver", pe.Pass)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// tf1ShardedGraph is the saver a TF1 Saver(sharded=True) builds for
// variable a on one device and b on another.
func tf1ShardedGraph() *tfpb.MetaGraphDef {
	var nodes []*nodepb.NodeDef
	nodes = append(nodes,
		rpVariable("a", "VariableV2", "/job:ps/task:0", 2), rpVariable("b", "VariableV2", "/job:ps/task:1", 2),
		rpNd("save/Const", "PlaceholderWithDefault"),
		rpNd("save/StringJoin", "StringJoin", "save/Const"),
		rpIntConst("save/num_shards", 2),
	)
	restoreAll := rpNd("save/restore_all", "NoOp")
	pack := rpWithAttr(rpNd("save/MergeV2Checkpoints/checkpoint_prefixes", "Pack"), "N", &attrpb.AttrValue{Value: &attrpb.AttrValue_I{I: 2}})
	ident := rpNd("save/Identity", "Identity", "save/Const", "^save/MergeV2Checkpoints")
	var controls []string
	for i, v := range []string{"a", "b"} {
		sfx := ""
		if i > 0 {
			sfx = fmt.Sprintf("_%d", i)
		}
		sf := "save/ShardedFilename" + sfx
		nodes = append(nodes,
			rpIntConst(sf+"/shard", int32(i)),
			rpNd(sf, "ShardedFilename", "save/StringJoin", sf+"/shard", "save/num_shards"),
			rpStringsConst("save/SaveV2"+sfx+"/tensor_names", v),
			rpStringsConst("save/SaveV2"+sfx+"/shape_and_slices", ""),
			rpWithAttr(rpNd("save/SaveV2"+sfx, "SaveV2", sf, "save/SaveV2"+sfx+"/tensor_names", "save/SaveV2"+sfx+"/shape_and_slices", v), "dtypes", rpTypesAttr(f32)),
			rpNd("save/control_dependency"+sfx, "Identity", sf, "^save/SaveV2"+sfx),
			rpStringsConst("save/RestoreV2"+sfx+"/tensor_names", v),
			rpStringsConst("save/RestoreV2"+sfx+"/shape_and_slices", ""),
			rpWithAttr(rpNd("save/RestoreV2"+sfx, "RestoreV2", "save/Const", "save/RestoreV2"+sfx+"/tensor_names", "save/RestoreV2"+sfx+"/shape_and_slices"), "dtypes", rpTypesAttr(f32)),
			rpNd(fmt.Sprintf("save/Assign%s", sfx), "Assign", v, "save/RestoreV2"+sfx),
			rpNd("save/restore_shard"+sfx, "NoOp", "^save/Assign"+sfx),
		)
		pack.Input = append(pack.Input, sf)
		controls = append(controls, "^save/control_dependency"+sfx)
		restoreAll.Input = append(restoreAll.Input, "^save/restore_shard"+sfx)
	}
	pack.Input = append(pack.Input, controls...)
	ident.Input = append(ident.Input, controls...)
	nodes = append(nodes, pack, rpNd("save/MergeV2Checkpoints", "MergeV2Checkpoints", "save/MergeV2Checkpoints/checkpoint_prefixes", "save/Const"), ident, restoreAll)
	mg := rpMetaGraph(nodes)
	mg.SaverDef = &tfpb.SaverDef{FilenameTensorName: "save/Const:0", SaveTensorName: "save/Identity:0", RestoreOpName: "save/restore_all", Sharded: true, Version: tfpb.SaverDef_V2}
	return mg
}

func TestSaverRemovesEmptyShard(t *testing.T) {
	m := rpWriteModel(t, tf1ShardedGraph(), rpFloats("a", []int64{2}, 1, 2), rpFloats("b", []int64{2}, 3, 4))
	rep := rpRun(t, m, Options{}, Saver)
	assert.False(t, rep.Changed(), "an unchanged checkpoint leaves the sharded saver as it is: %v", rep.Passes[0].Changes)

	require.NoError(t, m.DeleteVariable("b"))
	rpRun(t, m, Options{}, Saver)
	for _, gone := range []string{"save/SaveV2_1", "save/SaveV2_1/tensor_names", "save/ShardedFilename_1", "save/ShardedFilename_1/shard",
		"save/control_dependency_1", "save/RestoreV2_1", "save/RestoreV2_1/tensor_names", "save/Assign_1"} {
		assert.False(t, rpHasNode(m, "", gone), gone)
	}
	g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
	pack := g.Main().Node("save/MergeV2Checkpoints/checkpoint_prefixes")
	assert.Equal(t, []string{"save/ShardedFilename", "^save/control_dependency"}, pack.GetInput())
	assert.Equal(t, int64(1), pack.GetAttr()["N"].GetI())
	assert.Equal(t, []string{"save/Const", "^save/MergeV2Checkpoints", "^save/control_dependency"}, rpInputsOf(t, m, "", "save/Identity"))
	assert.True(t, rpHasNode(m, "", "save/SaveV2"))
	assert.True(t, m.Proto.MetaGraphs[0].SaverDef.GetSharded())
	assert.NoError(t, graphdef.Validate(m.Proto.MetaGraphs[0].GraphDef))
}

func TestRetargetSaver(t *testing.T) {
	m := rpWriteModel(t, tf1ShardedGraph(), rpFloats("a", []int64{2}, 1, 2), rpFloats("b", []int64{2}, 3, 4))
	spec := "4 0,2"
	rename := &Pass{Name: "rename", Doc: "renames key a", Run: func(c *Context) error {
		if err := c.Model.RenameVariable("a", "a/full"); err != nil {
			return err
		}
		n, err := RetargetSaver(c, "a", "a/full", &spec)
		if n != 2 {
			return fmt.Errorf("retargeted %d slots, want 2 (save and restore)", n)
		}
		return err
	}}
	rpRun(t, m, Options{}, rename, Saver)
	g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
	for _, op := range []string{"save/SaveV2", "save/RestoreV2"} {
		names, err := constStrings(g.Main(), g.Main().Node(op), 1)
		require.NoError(t, err)
		assert.Equal(t, []string{"a/full"}, names, op)
		specs, err := constStrings(g.Main(), g.Main().Node(op), 2)
		require.NoError(t, err)
		assert.Equal(t, []string{spec}, specs, op)
	}
}

// FuzzSaverDropSlots drops the keys a fuzzed mask selects from a TF2 restore
// function of 1 to 12 slots and checks the saver pass's result: a valid
// graph, the kept keys in order, each kept Identity reading its new output
// index, and no RestoreV2 left when every key went.
func FuzzSaverDropSlots(f *testing.F) {
	f.Add(uint8(3), uint16(0b010))
	f.Add(uint8(3), uint16(0b111))
	f.Add(uint8(12), uint16(0b101010101010))
	f.Add(uint8(1), uint16(0))
	f.Add(uint8(3), uint16(41)) // 4 slots: once confused a slot's Identity with the ret Identity
	f.Fuzz(func(t *testing.T, n uint8, mask uint16) {
		n = n%12 + 1
		var passed []string
		var tensors []rpTensor
		for i := range int(n) {
			passed = append(passed, fmt.Sprintf("v%d", i))
			tensors = append(tensors, rpFloats(fmt.Sprintf("k%d", i), []int64{2}, float32(i), 0))
		}
		m := rpWriteModel(t, tf2RestoreGraphN(passed), tensors...)
		var kept []string
		for i := range int(n) {
			if mask&(1<<i) != 0 {
				require.NoError(t, m.DeleteVariable(fmt.Sprintf("k%d", i)))
			} else {
				kept = append(kept, fmt.Sprintf("k%d", i))
			}
		}
		rep := rpRun(t, m, Options{}, Saver)
		require.NoError(t, graphdef.Validate(m.Proto.MetaGraphs[0].GraphDef))
		b := graphdef.New(m.Proto.MetaGraphs[0].GraphDef).Function(restoreFn)
		assert.Len(t, rep.Notes(), int(n)-len(kept), "one note per variable no longer restored")
		if len(kept) == 0 {
			assert.Nil(t, b.Node("RestoreV2"))
			return
		}
		names, err := constStrings(b, b.Node("RestoreV2"), 1)
		require.NoError(t, err)
		assert.Equal(t, kept, names)
		for j, key := range kept {
			id := b.Node("Identity_" + strings.TrimPrefix(key, "k"))
			require.NotNil(t, id, key)
			assert.Equal(t, []string{fmt.Sprintf("RestoreV2:tensors:%d", j)}, id.GetInput(), key)
		}
	})
}
