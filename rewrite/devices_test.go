package rewrite

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

// dvNode builds a NodeDef: dvNode("a", "Op", "/device:GPU:1", "in1", "^c").
func dvNode(name, op, dev string, inputs ...string) *nodepb.NodeDef {
	return &nodepb.NodeDef{Name: name, Op: op, Device: dev, Input: inputs, Attr: map[string]*attrpb.AttrValue{}}
}

// dvAttrs sets attrs on n and returns it.
func dvAttrs(n *nodepb.NodeDef, kv ...any) *nodepb.NodeDef {
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		switch v := kv[i+1].(type) {
		case *attrpb.AttrValue:
			n.Attr[k] = v
		case string:
			n.Attr[k] = &attrpb.AttrValue{Value: &attrpb.AttrValue_S{S: []byte(v)}}
		case int:
			n.Attr[k] = &attrpb.AttrValue{Value: &attrpb.AttrValue_I{I: int64(v)}}
		case bool:
			n.Attr[k] = &attrpb.AttrValue{Value: &attrpb.AttrValue_B{B: v}}
		case typespb.DataType:
			n.Attr[k] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: v}}
		case []string:
			l := &attrpb.AttrValue_ListValue{}
			for _, s := range v {
				l.S = append(l.S, []byte(s))
			}
			n.Attr[k] = &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: l}}
		default:
			panic("dvAttrs: unsupported value")
		}
	}
	return n
}

var dvFloat = typespb.DataType_DT_FLOAT

// dvConst is a scalar Const.
func dvConst(name string, dt typespb.DataType, v float64) *nodepb.NodeDef {
	t := &tensorpb.TensorProto{Dtype: dt, TensorShape: &shapepb.TensorShapeProto{}}
	switch dt {
	case typespb.DataType_DT_FLOAT:
		t.FloatVal = []float32{float32(v)}
	case typespb.DataType_DT_INT32:
		t.IntVal = []int32{int32(v)}
	case typespb.DataType_DT_INT64:
		t.Int64Val = []int64{int64(v)}
	}
	return dvAttrs(dvNode(name, "Const", ""), "dtype", dt, "value", &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: t}})
}

// dvStrings is a string vector Const.
func dvStrings(name string, vals ...string) *nodepb.NodeDef {
	t := &tensorpb.TensorProto{Dtype: typespb.DataType_DT_STRING,
		TensorShape: &shapepb.TensorShapeProto{Dim: []*shapepb.TensorShapeProto_Dim{{Size: int64(len(vals))}}}}
	for _, v := range vals {
		t.StringVal = append(t.StringVal, []byte(v))
	}
	return dvAttrs(dvNode(name, "Const", ""), "dtype", typespb.DataType_DT_STRING, "value", &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: t}})
}

// dvFunc builds a FunctionDef with float inputs and outputs; ret maps output
// names to body tensors.
func dvFunc(name string, args, outs []string, ret map[string]string, nodes ...*nodepb.NodeDef) *fnpb.FunctionDef {
	sig := &opdefpb.OpDef{Name: name}
	for _, a := range args {
		sig.InputArg = append(sig.InputArg, &opdefpb.OpDef_ArgDef{Name: a, Type: dvFloat})
	}
	for _, o := range outs {
		sig.OutputArg = append(sig.OutputArg, &opdefpb.OpDef_ArgDef{Name: o, Type: dvFloat})
	}
	return &fnpb.FunctionDef{Signature: sig, NodeDef: nodes, Ret: ret}
}

// dvCall is a StatefulPartitionedCall of fn.
func dvCall(name, fn string, inputs ...string) *nodepb.NodeDef {
	return dvAttrs(dvNode(name, "StatefulPartitionedCall", "", inputs...),
		"f", &attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: fn}}})
}

// dvModel is a model of one meta graph with the given nodes and functions,
// and a serving signature reading input x:0 and output out:0 when those are
// given.
func dvModel(nodes []*nodepb.NodeDef, fns []*fnpb.FunctionDef, sig map[string]string) *savedmodel.Model {
	gd := &graphpb.GraphDef{Node: nodes}
	if len(fns) > 0 {
		gd.Library = &fnpb.FunctionDefLibrary{Function: fns}
	}
	meta := &tfpb.MetaGraphDef{GraphDef: gd, SignatureDef: map[string]*tfpb.SignatureDef{}}
	if len(sig) > 0 {
		sd := &tfpb.SignatureDef{Inputs: map[string]*tfpb.TensorInfo{}, Outputs: map[string]*tfpb.TensorInfo{}}
		for k, v := range sig {
			if strings.HasPrefix(k, "in:") {
				sd.Inputs[k[3:]] = &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: v}}
			} else {
				sd.Outputs[k] = &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: v}}
			}
		}
		meta.SignatureDef["serving_default"] = sd
	}
	return &savedmodel.Model{Proto: &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{meta}}}
}

func dvRun(t *testing.T, m *savedmodel.Model, opts Options, passes ...*Pass) (*Report, error) {
	t.Helper()
	return NewPipeline(passes...).Run(context.Background(), m, opts)
}

func dvDevices(m *savedmodel.Model) map[string]string {
	out := map[string]string{}
	for loc, n := range graphdef.New(m.Proto.MetaGraphs[0].GraphDef).All() {
		out[loc.String()] = n.GetDevice()
	}
	return out
}

func TestDevicesRemap(t *testing.T) {
	build := func() *savedmodel.Model {
		return dvModel([]*nodepb.NodeDef{
			dvNode("x", "Placeholder", "/job:localhost/replica:0/task:0/device:GPU:1"),
			dvNode("v", "VarHandleOp", "/job:ps/replica:0/task:1/device:CPU:0"),
			dvNode("w", "NoOp", "/job:worker/task:1"),
			dvNode("t", "NoOp", "/device:TPU:0"),
			dvNode("legacy", "NoOp", "/gpu:0"),
			dvNode("plain", "NoOp", ""),
			dvCall("call", "f", "x"),
		}, []*fnpb.FunctionDef{
			dvFunc("f", []string{"a"}, []string{"o"}, map[string]string{"o": "r:output:0"},
				dvAttrs(dvNode("r", "Identity", "/job:worker/replica:0/task:0/device:GPU:3", "a"), "T", dvFloat),
				dvNode("cpu", "NoOp", "/device:CPU:0")),
		}, nil)
	}
	tests := []struct {
		target device.Target
		want   map[string]string
	}{
		{device.CPU, map[string]string{"x": "", "v": "", "w": "", "t": "", "legacy": "", "plain": "", "call": "", "f::r": "", "f::cpu": ""}},
		{device.GPU, map[string]string{"x": "/device:GPU:0", "v": "/device:CPU:0", "w": "", "t": "", "legacy": "/device:GPU:0",
			"plain": "", "call": "", "f::r": "/device:GPU:0", "f::cpu": "/device:CPU:0"}},
	}
	for _, tt := range tests {
		t.Run(tt.target.String(), func(t *testing.T) {
			m := build()
			rep, err := dvRun(t, m, Options{Target: tt.target}, Devices)
			require.NoError(t, err)
			assert.Equal(t, tt.want, dvDevices(m))
			// One change per edited node, naming old and new device.
			var changed []string
			for _, c := range rep.Passes[0].Changes {
				changed = append(changed, c.Where.String())
			}
			assert.Contains(t, changed, "meta_graph 0, node x")
			assert.Contains(t, changed, "meta_graph 0, function f, node r")
			assert.NotContains(t, changed, "meta_graph 0, node plain")
			for _, c := range rep.Passes[0].Changes {
				assert.Contains(t, c.What, "->")
			}
			// Nothing is left for verify, and a second run changes nothing.
			assert.Empty(t, Check(m, Options{Target: tt.target}))
			rep2, err := dvRun(t, m, Options{Target: tt.target}, Devices)
			require.NoError(t, err)
			assert.False(t, rep2.Changed())
		})
	}
}

func TestDevicesObjectGraph(t *testing.T) {
	m := dvModel(nil, nil, nil)
	m.Proto.MetaGraphs[0].ObjectGraphDef = &tfpb.SavedObjectGraph{Nodes: []*tfpb.SavedObject{
		{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: "dense/kernel",
			Device: "/job:localhost/replica:0/task:0/device:GPU:0",
			ExperimentalDistributedVariableComponents: []*tfpb.SavedVariable{
				{Name: "dense/kernel/replica_1", Device: "/job:localhost/replica:0/task:0/device:GPU:1"}}}}},
		{Kind: &tfpb.SavedObject_Resource{Resource: &tfpb.SavedResource{Device: "CPU"}}},
		{Kind: &tfpb.SavedObject_Resource{Resource: &tfpb.SavedResource{Device: "/job:ps/task:0/device:CPU:0"}}},
	}}
	rep, err := dvRun(t, m, Options{Target: device.GPU}, Devices)
	require.NoError(t, err)
	nodes := m.Proto.MetaGraphs[0].ObjectGraphDef.Nodes
	v := nodes[0].GetVariable()
	assert.Equal(t, "/device:GPU:0", v.Device)
	assert.Equal(t, "/device:GPU:0", v.ExperimentalDistributedVariableComponents[0].Device)
	assert.Equal(t, "/device:CPU:0", nodes[1].GetResource().Device)
	assert.Equal(t, "/device:CPU:0", nodes[2].GetResource().Device)
	require.Len(t, rep.Passes[0].Changes, 3)
	assert.Equal(t, 0, *rep.Passes[0].Changes[0].Where.ObjectID)
	assert.Contains(t, rep.Passes[0].Changes[0].What, "replica_1")
	assert.Empty(t, Check(m, Options{Target: device.GPU}))
	assert.NotEmpty(t, Check(m, Options{Target: device.CPU}), "GPU pins are findings for a CPU target")
}

func TestDevicesColocation(t *testing.T) {
	tests := []struct {
		name    string
		target  device.Target
		nodes   []*nodepb.NodeDef
		devices map[string]string
		class   map[string][]string // node -> _class after the pass (nil: no attr)
	}{{
		name:   "missing node dropped, existing kept",
		target: device.CPU,
		nodes: []*nodepb.NodeDef{
			dvNode("v", "VarHandleOp", "/device:GPU:1"),
			dvAttrs(dvNode("r", "ReadVariableOp", "/device:GPU:1", "v"), "_class", []string{"loc:@v", "loc:@gone"}),
			dvAttrs(dvNode("s", "NoOp", ""), "_class", []string{"loc:@gone"}),
		},
		devices: map[string]string{"v": "", "r": "", "s": ""},
		class:   map[string][]string{"r": {"v"}, "s": nil, "v": nil},
	}, {
		name:   "GPU target: compatible group keeps devices",
		target: device.GPU,
		nodes: []*nodepb.NodeDef{
			dvNode("v", "VarHandleOp", "/job:localhost/replica:0/task:0/device:GPU:1"),
			dvAttrs(dvNode("a", "Identity", "/device:GPU:1", "v"), "_class", []string{"loc:@v"}),
		},
		devices: map[string]string{"v": "/device:GPU:0", "a": "/device:GPU:0"},
		class:   map[string][]string{"a": {"v"}, "v": nil},
	}, {
		name:   "GPU target: CPU and GPU in one group are cleared",
		target: device.GPU,
		nodes: []*nodepb.NodeDef{
			dvNode("v", "VarHandleOp", "/device:CPU:0"),
			dvNode("read", "ReadVariableOp", "/device:GPU:1", "v"), // resource edge
			dvAttrs(dvNode("c", "NoOp", ""), "_class", []string{"loc:@v"}),
			dvNode("other", "NoOp", "/device:GPU:2"),
		},
		devices: map[string]string{"v": "", "read": "", "c": "", "other": "/device:GPU:0"},
		class:   map[string][]string{"c": {"v"}, "v": nil, "read": nil, "other": nil},
	}, {
		name:   "GPU target: ops without a GPU kernel lose their GPU pin, with their group",
		target: device.GPU,
		nodes: []*nodepb.NodeDef{
			dvNode("table", "HashTableV2", "/device:GPU:0"),
			dvNode("find", "LookupTableFindV2", "/device:GPU:0", "table", "keys", "default"),
			dvAttrs(dvNode("size", "Identity", "/device:GPU:1", "table"), "_class", []string{"loc:@table"}),
			dvNode("keys", "Placeholder", "/device:CPU:0"),
			dvNode("default", "Placeholder", "/device:GPU:0"),
		},
		devices: map[string]string{"table": "", "find": "", "size": "", "keys": "/device:CPU:0", "default": "/device:GPU:0"},
		class:   map[string][]string{"size": {"table"}, "table": nil, "find": nil, "keys": nil, "default": nil},
	}, {
		name:   "CPU target: ops without a GPU kernel are cleared like the rest",
		target: device.CPU,
		nodes: []*nodepb.NodeDef{
			dvNode("table", "HashTableV2", "/device:GPU:0"),
			dvNode("m", "MatMul", "/device:GPU:0"),
		},
		devices: map[string]string{"table": "", "m": ""},
		class:   map[string][]string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := dvModel(tt.nodes, nil, nil)
			rep, err := dvRun(t, m, Options{Target: tt.target}, Devices)
			require.NoError(t, err)
			assert.Equal(t, tt.devices, dvDevices(m))
			for _, n := range m.Proto.MetaGraphs[0].GraphDef.Node {
				if want := tt.class[n.Name]; want == nil {
					assert.NotContains(t, n.Attr, graphdef.ClassAttr, n.Name)
				} else {
					assert.Equal(t, want, graphdef.Colocation(n), n.Name)
				}
			}
			seen := map[string]int{}
			for _, c := range rep.Passes[0].Changes {
				seen[c.Where.Node]++
			}
			for node, k := range seen {
				assert.Equal(t, 1, k, "one change record for node %s", node)
			}
			assert.Empty(t, Check(m, Options{Target: tt.target}))
		})
	}
}

func TestDevicesColocationConflictFinding(t *testing.T) {
	m := dvModel([]*nodepb.NodeDef{
		dvNode("v", "VarHandleOp", "/device:CPU:0"),
		dvNode("read", "ReadVariableOp", "/device:GPU:1", "v"),
	}, nil, nil)
	got := Check(m, Options{Target: device.GPU})
	assert.Contains(t, dvWhat(got), `node v: device: the colocation group of v (2 nodes) cannot be placed: colocated with v on "/device:CPU:0", which cannot share a device with "/device:GPU:0"`)
	_, err := dvRun(t, m, Options{Target: device.GPU}, Devices)
	require.NoError(t, err)
	assert.Empty(t, Check(m, Options{Target: device.GPU}))
}

func TestDevicesCPUOnlyFinding(t *testing.T) {
	m := dvModel([]*nodepb.NodeDef{dvNode("table", "HashTableV2", "/device:GPU:0")}, nil, nil)
	got := Check(m, Options{Target: device.GPU})
	require.Len(t, got, 1)
	assert.Equal(t, `device: "/device:GPU:0" pins HashTableV2, which has no GPU kernel, to a GPU`, got[0].What)
}

func TestDevicesConfigProto(t *testing.T) {
	cfg := &tfpb.ConfigProto{AllowSoftPlacement: true, DeviceFilters: []string{"/job:ps", "/job:worker/task:0"},
		ClusterDef: &tfpb.ClusterDef{Job: []*tfpb.JobDef{{Name: "worker"}}}}
	raw, err := proto.Marshal(cfg)
	require.NoError(t, err)
	plain, err := proto.Marshal(&tfpb.ConfigProto{AllowSoftPlacement: true})
	require.NoError(t, err)
	call := dvAttrs(dvCall("call", "f"), "config_proto", string(raw))
	keep := dvAttrs(dvCall("keep", "f"), "config_proto", string(plain))
	m := dvModel([]*nodepb.NodeDef{call, keep}, []*fnpb.FunctionDef{dvFunc("f", nil, nil, nil)}, nil)
	assert.NotEmpty(t, Check(m, Options{}))
	rep, err := dvRun(t, m, Options{}, Devices)
	require.NoError(t, err)
	var got tfpb.ConfigProto
	require.NoError(t, proto.Unmarshal(call.Attr["config_proto"].GetS(), &got))
	assert.True(t, got.AllowSoftPlacement)
	assert.Empty(t, got.DeviceFilters)
	assert.Nil(t, got.ClusterDef)
	assert.Equal(t, plain, keep.Attr["config_proto"].GetS(), "a ConfigProto naming no device is kept byte for byte")
	require.Len(t, rep.Passes[0].Changes, 1)
	assert.Contains(t, rep.Passes[0].Changes[0].What, "device_filters")
	assert.Empty(t, Check(m, Options{}))
}

func TestDevicesErrors(t *testing.T) {
	m := dvModel([]*nodepb.NodeDef{dvNode("bad", "NoOp", "/job:1x")}, nil, nil)
	_, err := dvRun(t, m, Options{}, Devices)
	var pe *PassError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "bad", pe.Where.Node)
	assert.ErrorIs(t, err, device.ErrMalformed)

	m = dvModel([]*nodepb.NodeDef{dvNode("tpu", "NoOp", "/device:TPU:0")}, nil, nil)
	_, err = dvRun(t, m, Options{Devices: &device.Policy{Other: device.OtherError}}, Devices)
	assert.ErrorIs(t, err, device.ErrUnsupported)
}
