package rewrite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

var dvInt32 = typespb.DataType_DT_INT32

// dvReduceV2 builds, in a function body, the nodes of
// collective_ops.all_reduce_v2(x, group_size=n, ...), as TF2 traces it.
func dvReduceV2(name, x string, n int, merge, final string) []*nodepb.NodeDef {
	return []*nodepb.NodeDef{
		dvConst(name+"/group_size", dvInt32, float64(n)),
		dvConst(name+"/group_key", dvInt32, 1),
		dvConst(name+"/instance_key", dvInt32, 1),
		dvAttrs(dvNode(name, "CollectiveReduceV2", "/job:localhost/replica:0/task:0/device:GPU:0",
			x, name+"/group_size:output:0", name+"/group_key:output:0", name+"/instance_key:output:0"),
			"T", dvFloat, "merge_op", merge, "final_op", final, "communication_hint", "auto"),
	}
}

func dvFuncModel(fn *fnpb.FunctionDef) *savedmodel.Model {
	return dvModel([]*nodepb.NodeDef{
		dvAttrs(dvNode("x", "Placeholder", ""), "dtype", dvFloat),
		dvCall("call", fn.Signature.Name, "x"),
	}, []*fnpb.FunctionDef{fn}, map[string]string{"in:x": "x:0", "y": "call:0"})
}

func dvBody(t *testing.T, m *savedmodel.Model, fn string) *graphdef.Body {
	t.Helper()
	require.NoError(t, graphdef.Validate(m.Proto.MetaGraphs[0].GraphDef))
	return graphdef.New(m.Proto.MetaGraphs[0].GraphDef).Body(fn)
}

func TestCollectivesMean(t *testing.T) {
	tests := []struct {
		name      string
		body      []*nodepb.NodeDef
		ret       string
		ops       map[string]string // node -> op after the pass
		inputs    map[string][]string
		ret2      string // ret value after the pass
		findings  int
		nochanges []string // nodes that must not be edited
	}{{
		name: "TF2 MEAN: Add/Id then truediv by the group size",
		body: append(dvReduceV2("CollectiveReduceV2", "a", 2, "Add", "Id"),
			dvConst("truediv/y", dvFloat, 2),
			dvAttrs(dvNode("truediv", "RealDiv", "", "CollectiveReduceV2:data:0", "truediv/y:output:0"), "T", dvFloat),
			dvAttrs(dvNode("relu", "Relu", "", "truediv:z:0"), "T", dvFloat)),
		ret:    "relu:activations:0",
		ops:    map[string]string{"CollectiveReduceV2": "Identity", "truediv": "Identity", "relu": "Relu"},
		inputs: map[string][]string{"CollectiveReduceV2": {"a"}, "truediv": {"CollectiveReduceV2:output:0"}, "relu": {"truediv:output:0"}},
		ret2:   "relu:activations:0",
	}, {
		name: "final_op Div divides inside the op: a later division is the user's",
		body: append(dvReduceV2("r", "a", 2, "Add", "Div"),
			dvConst("two", dvFloat, 2),
			dvAttrs(dvNode("half", "RealDiv", "", "r:data:0", "two:output:0"), "T", dvFloat)),
		ret:    "half:z:0",
		ops:    map[string]string{"r": "Identity", "half": "RealDiv"},
		inputs: map[string][]string{"half": {"r:output:0", "two:output:0"}},
		ret2:   "half:z:0",
	}, {
		name: "division through reshape and split, by another number, untouched",
		body: append(dvReduceV2("r", "a", 4, "Add", "Id"),
			dvConst("three", dvFloat, 3),
			dvAttrs(dvNode("reshape", "Reshape", "", "r:data:0", "three:output:0"), "T", dvFloat),
			dvAttrs(dvNode("div", "RealDiv", "", "reshape:output:0", "three:output:0"), "T", dvFloat)),
		ret:    "div:z:0",
		ops:    map[string]string{"r": "Identity", "div": "RealDiv"},
		inputs: map[string][]string{"div": {"reshape:output:0", "three:output:0"}},
		ret2:   "div:z:0",
	}, {
		name: "packed all-reduce: Split then Reshape then truediv",
		body: append(dvReduceV2("r", "a", 2, "Add", "Id"),
			dvConst("axis", dvInt32, 0), dvConst("shape", dvInt32, 4), dvConst("n", dvFloat, 2),
			dvAttrs(dvNode("split", "Split", "", "axis:output:0", "r:data:0"), "T", dvFloat, "num_split", 2),
			dvAttrs(dvNode("reshape", "Reshape", "", "split:output:1", "shape:output:0"), "T", dvFloat),
			dvAttrs(dvNode("truediv", "RealDiv", "", "reshape:output:0", "n:output:0"), "T", dvFloat)),
		ret:    "truediv:z:0",
		ops:    map[string]string{"r": "Identity", "split": "Split", "truediv": "Identity"},
		inputs: map[string][]string{"truediv": {"reshape:output:0"}},
		ret2:   "truediv:output:0",
	}, {
		name: "gradient averaging: Mul by a Const then div by group size",
		body: append(dvReduceV2("r", "a", 2, "Add", "Id"),
			dvConst("lr", dvFloat, 0.05), dvConst("n", dvFloat, 2),
			dvAttrs(dvNode("mul", "Mul", "", "lr:output:0", "r:data:0"), "T", dvFloat),
			dvAttrs(dvNode("truediv", "RealDiv", "", "mul:z:0", "n:output:0"), "T", dvFloat)),
		ret:    "truediv:z:0",
		ops:    map[string]string{"r": "Identity", "mul": "Mul", "truediv": "Identity"},
		inputs: map[string][]string{"truediv": {"mul:z:0"}},
		ret2:   "truediv:output:0",
	}, {
		name: "Mul by 1/group size",
		body: append(dvReduceV2("r", "a", 4, "Add", "Id"),
			dvConst("quarter", dvFloat, 0.25),
			dvAttrs(dvNode("avg", "Mul", "", "r:data:0", "quarter:output:0"), "T", dvFloat)),
		ret:    "avg:z:0",
		ops:    map[string]string{"r": "Identity", "avg": "Identity"},
		inputs: map[string][]string{"avg": {"r:output:0"}},
		ret2:   "avg:output:0",
	}, {
		name: "Max reduction is not a sum: division stays",
		body: append(dvReduceV2("r", "a", 2, "Max", "Id"),
			dvConst("n", dvFloat, 2),
			dvAttrs(dvNode("d", "RealDiv", "", "r:data:0", "n:output:0"), "T", dvFloat)),
		ret:  "d:z:0",
		ops:  map[string]string{"r": "Identity", "d": "RealDiv"},
		ret2: "d:z:0",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := dvFunc("f", []string{"a"}, []string{"y"}, map[string]string{"y": tt.ret}, tt.body...)
			m := dvFuncModel(fn)
			rep, err := dvRun(t, m, Options{}, Collectives, Devices)
			require.NoError(t, err)
			b := dvBody(t, m, "f")
			for name, op := range tt.ops {
				require.NotNil(t, b.Node(name), name)
				assert.Equal(t, op, b.Node(name).Op, name)
				if op == "Identity" {
					assert.Equal(t, dvFloat, b.Node(name).Attr["T"].GetType(), "Identity %s keeps T", name)
				}
			}
			for name, in := range tt.inputs {
				assert.Equal(t, in, b.Node(name).Input, name)
			}
			assert.Equal(t, tt.ret2, fn.Ret["y"])
			assert.Empty(t, rep.Findings())
			assert.Empty(t, Check(m, Options{}), "verify finds nothing left")
		})
	}
}

func TestCollectivesUnknownGroupSize(t *testing.T) {
	fn := dvFunc("f", []string{"a", "gs"}, []string{"y"}, map[string]string{"y": "d:z:0"},
		dvConst("k", dvInt32, 1), dvConst("n", dvFloat, 2),
		dvAttrs(dvNode("r", "CollectiveReduceV2", "", "a", "gs", "k:output:0", "k:output:0"), "T", dvFloat, "merge_op", "Add", "final_op", "Id"),
		dvAttrs(dvNode("d", "RealDiv", "", "r:data:0", "n:output:0"), "T", dvFloat))
	m := dvFuncModel(fn)
	m.Proto.MetaGraphs[0].GraphDef.Node[1].Input = []string{"x", "x"}
	rep, err := dvRun(t, m, Options{}, Collectives)
	require.NoError(t, err)
	require.Len(t, rep.Findings(), 1)
	assert.Equal(t, "d", rep.Findings()[0].Where.Node)
	assert.Contains(t, rep.Findings()[0].What, "group size unknown")
}

func TestCollectivesNCCL(t *testing.T) {
	m := dvModel([]*nodepb.NodeDef{
		dvAttrs(dvNode("g0", "Placeholder", "/device:GPU:0"), "dtype", dvFloat),
		dvAttrs(dvNode("g1", "Placeholder", "/device:GPU:1"), "dtype", dvFloat),
		dvNode("dep", "NoOp", ""),
		dvAttrs(dvNode("NcclAllReduce", "NcclAllReduce", "/device:GPU:0", "g0", "^dep"),
			"T", dvFloat, "reduction", "sum", "num_devices", 2, "shared_name", "c0"),
		dvAttrs(dvNode("NcclAllReduce_1", "NcclAllReduce", "/device:GPU:1", "g1"),
			"T", dvFloat, "reduction", "sum", "num_devices", 2, "shared_name", "c0"),
		dvConst("mul/x", dvFloat, 0.05),
		dvAttrs(dvNode("mul", "Mul", "/device:GPU:0", "mul/x", "NcclAllReduce:0"), "T", dvFloat),
		dvConst("truediv/y", dvFloat, 2),
		dvAttrs(dvNode("truediv", "RealDiv", "/device:GPU:0", "mul", "truediv/y"), "T", dvFloat),
		dvAttrs(dvNode("reduce", "NcclReduce", "/device:GPU:0", "g0", "g1"), "T", dvFloat, "reduction", "max", "num_devices", 2),
		dvAttrs(dvNode("bcast", "NcclBroadcast", "/device:GPU:0", "reduce"), "T", dvFloat),
		dvAttrs(dvNode("use", "Identity", "", "bcast", "^NcclAllReduce_1"), "T", dvFloat),
	}, nil, map[string]string{"a": "truediv:0", "b": "use:0"})
	rep, err := dvRun(t, m, Options{}, Collectives, Devices)
	require.NoError(t, err)
	b := dvBody(t, m, "")
	want := map[string][]string{
		"NcclAllReduce":   {"g0", "^dep"},
		"NcclAllReduce_1": {"g1"},
		"truediv":         {"mul"},
		"reduce":          {"g0"},
		"bcast":           {"reduce"},
	}
	for name, in := range want {
		assert.Equal(t, "Identity", b.Node(name).Op, name)
		assert.Equal(t, in, b.Node(name).Input, name)
	}
	assert.Equal(t, "Mul", b.Node("mul").Op)
	var reduceChange string
	for _, c := range rep.Passes[0].Changes {
		if c.Where.Node == "reduce" {
			reduceChange = c.What
		}
	}
	assert.Contains(t, reduceChange, "primary tower")
	assert.Empty(t, Check(m, Options{}))
}

func TestCollectivesBroadcast(t *testing.T) {
	send := func(name, in string, key int) *nodepb.NodeDef {
		return dvAttrs(dvNode(name, "CollectiveBcastSend", "", in), "T", dvFloat, "group_size", 2, "group_key", 1, "instance_key", key)
	}
	recv := func(name string, key int) *nodepb.NodeDef {
		return dvAttrs(dvNode(name, "CollectiveBcastRecv", ""), "T", dvFloat, "group_size", 2, "group_key", 1, "instance_key", key)
	}
	t.Run("resolved", func(t *testing.T) {
		m := dvModel([]*nodepb.NodeDef{
			dvAttrs(dvNode("x", "Placeholder", ""), "dtype", dvFloat),
			send("s", "x", 7), recv("r", 7),
			send("unused", "x", 8),
			dvNode("after", "NoOp", "", "^unused"),
		}, nil, map[string]string{"in:x": "x:0", "y": "r:0", "z": "after"})
		_, err := dvRun(t, m, Options{}, Collectives)
		require.NoError(t, err)
		b := dvBody(t, m, "")
		assert.Equal(t, "Identity", b.Node("r").Op)
		assert.Equal(t, []string{"x"}, b.Node("r").Input)
		assert.Nil(t, b.Node("unused"), "a send nobody reads is removed")
		assert.Equal(t, []string{"^x"}, b.Node("after").Input, "control users inherit its dependencies")
		assert.Empty(t, Check(m, Options{}))
	})
	t.Run("unresolved on serving path", func(t *testing.T) {
		m := dvModel([]*nodepb.NodeDef{recv("r", 7)}, nil, map[string]string{"y": "r:0"})
		_, err := dvRun(t, m, Options{}, Collectives)
		var pe *PassError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "r", pe.Where.Node)
		assert.Contains(t, err.Error(), `signature "serving_default" -> node r`)
	})
	t.Run("unresolved off serving path", func(t *testing.T) {
		m := dvModel([]*nodepb.NodeDef{recv("r", 7), dvNode("c", "Const", "")}, nil, map[string]string{"y": "c:0"})
		m.Proto.MetaGraphs[0].GraphDef.Node[1] = dvConst("c", dvFloat, 1)
		rep, err := dvRun(t, m, Options{}, Collectives)
		require.NoError(t, err)
		assert.False(t, rep.Changed())
	})
}

func TestCollectivesDistributionOps(t *testing.T) {
	t.Run("Horovod on a serving path is an error naming the call chain", func(t *testing.T) {
		inner := dvFunc("inner", []string{"a"}, []string{"y"}, map[string]string{"y": "h:tensor:0"},
			dvAttrs(dvNode("h", "HorovodAllreduce", "", "a"), "T", dvFloat))
		outer := dvFunc("outer", []string{"a"}, []string{"y"}, map[string]string{"y": "c:output:0"},
			dvCall("c", "inner", "a"))
		m := dvModel([]*nodepb.NodeDef{
			dvAttrs(dvNode("x", "Placeholder", ""), "dtype", dvFloat),
			dvCall("call", "outer", "x"),
		}, []*fnpb.FunctionDef{inner, outer}, map[string]string{"in:x": "x:0", "y": "call:0"})
		_, err := dvRun(t, m, Options{}, Collectives)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "HorovodAllreduce")
		assert.Contains(t, err.Error(), `signature "serving_default" -> node call -> function outer -> node c -> function inner -> node h`)
	})
	t.Run("Horovod off serving paths is left", func(t *testing.T) {
		inner := dvFunc("inner", []string{"a"}, []string{"y"}, map[string]string{"y": "h:tensor:0"},
			dvAttrs(dvNode("h", "HorovodAllreduce", "", "a"), "T", dvFloat))
		m := dvModel(nil, []*fnpb.FunctionDef{inner}, nil)
		rep, err := dvRun(t, m, Options{}, Collectives)
		require.NoError(t, err)
		assert.False(t, rep.Changed())
	})
	t.Run("TPU conversion", func(t *testing.T) {
		body := dvFunc("tpu_body", []string{"a"}, []string{"y"}, map[string]string{"y": "o:output:0"},
			dvAttrs(dvNode("meta", "TPUReplicateMetadata", ""), "num_replicas", 1, "_tpu_replicate", "cluster"),
			dvAttrs(dvNode("in", "TPUReplicatedInput", "", "a", "^meta"), "T", dvFloat, "N", 1),
			dvAttrs(dvNode("relu", "Relu", "", "in:output:0"), "T", dvFloat, "_tpu_replicate", "cluster"),
			dvAttrs(dvNode("o", "TPUReplicatedOutput", "", "relu:activations:0"), "T", dvFloat, "num_replicas", 1))
		m := dvModel([]*nodepb.NodeDef{
			dvAttrs(dvNode("x", "Placeholder", ""), "dtype", dvFloat),
			dvNode("ord", "TPUOrdinalSelector", ""),
			dvAttrs(dvNode("call", "TPUPartitionedCall", "", "x", "ord"), "autotuner_thresh", 0),
		}, []*fnpb.FunctionDef{body}, map[string]string{"in:x": "x:0", "y": "call:0"})
		m.Proto.MetaGraphs[0].GraphDef.Node[2].Attr["f"] = dvCall("", "tpu_body").Attr["f"]
		assert.NotEmpty(t, Check(m, Options{}))
		_, err := dvRun(t, m, Options{}, Collectives)
		require.NoError(t, err)
		main, fb := dvBody(t, m, ""), dvBody(t, m, "tpu_body")
		assert.Equal(t, "PartitionedCall", main.Node("call").Op)
		assert.Equal(t, []string{"x"}, main.Node("call").Input)
		assert.Nil(t, main.Node("ord"))
		assert.Nil(t, fb.Node("meta"))
		assert.Equal(t, "Identity", fb.Node("in").Op)
		assert.Equal(t, "Identity", fb.Node("o").Op)
		assert.NotContains(t, fb.Node("relu").Attr, "_tpu_replicate")
		assert.Empty(t, Check(m, Options{}))
	})
	t.Run("multi-replica TPU input on a serving path is an error", func(t *testing.T) {
		m := dvModel([]*nodepb.NodeDef{
			dvAttrs(dvNode("x", "Placeholder", ""), "dtype", dvFloat),
			dvAttrs(dvNode("in", "TPUReplicatedInput", "", "x", "x"), "T", dvFloat, "N", 2),
		}, nil, map[string]string{"y": "in:0"})
		_, err := dvRun(t, m, Options{}, Collectives)
		require.Error(t, err)
		assert.True(t, strings.Contains(err.Error(), "TPUReplicatedInput with 2 per-replica inputs"), err.Error())
	})
}

func TestCollectivesIdempotentOnPlainGraph(t *testing.T) {
	m := dvFuncModel(dvFunc("f", []string{"a"}, []string{"y"}, map[string]string{"y": "r:activations:0"},
		dvAttrs(dvNode("r", "Relu", "", "a"), "T", dvFloat)))
	rep, err := dvRun(t, m, Options{}, Collectives, Devices, Verify)
	require.NoError(t, err)
	assert.False(t, rep.Changed())
	assert.Empty(t, rep.Findings())
}

// TestCollectivesRealMean runs the pass on a SavedModel TensorFlow 2.18.0
// wrote (testdata/collectives/mean_v2.py): the MEAN all-reduce's truediv by
// the group size becomes a division by 1.
func TestCollectivesRealMean(t *testing.T) {
	m, err := savedmodel.Read(context.Background(), filepath.Join("testdata", "collectives", "mean_v2"), savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer m.Close()
	assert.NotEmpty(t, Check(m, Options{}))
	rep, err := dvRun(t, m, Options{}, Collectives, Devices, Verify)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings())
	g := graphdef.New(m.Proto.MetaGraphs[0].GraphDef)
	var serve *graphdef.Body
	for _, b := range g.Functions() {
		if strings.HasPrefix(b.Name(), "__inference_serve_") {
			serve = b
		}
	}
	require.NotNil(t, serve)
	require.NotNil(t, serve.Node("truediv"))
	assert.Equal(t, "Identity", serve.Node("truediv").Op)
	assert.Equal(t, []string{"CollectiveReduceV2:output:0"}, serve.Node("truediv").Input)
	assert.Equal(t, "Identity", serve.Node("CollectiveReduceV2").Op)
	assert.Empty(t, g.Ops("CollectiveReduceV2"))
}
