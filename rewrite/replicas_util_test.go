package rewrite

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Hand-built graphs for the replicas and saver tests.

func rpNd(name, op string, inputs ...string) *nodepb.NodeDef {
	return &nodepb.NodeDef{Name: name, Op: op, Input: inputs, Attr: map[string]*attrpb.AttrValue{}}
}

func rpWithDevice(n *nodepb.NodeDef, dev string) *nodepb.NodeDef { n.Device = dev; return n }

func rpWithAttr(n *nodepb.NodeDef, k string, v *attrpb.AttrValue) *nodepb.NodeDef {
	n.Attr[k] = v
	return n
}

func rpSAttr(s string) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_S{S: []byte(s)}}
}

func rpTypeAttr(t typespb.DataType) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: t}}
}

func rpTypesAttr(ts ...typespb.DataType) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{Type: ts}}}
}

func rpShapeAttr(dims ...int64) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Shape{Shape: rpShapeProto(dims...)}}
}

func rpShapeProto(dims ...int64) *tsp.TensorShapeProto {
	s := &tsp.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &tsp.TensorShapeProto_Dim{Size: d})
	}
	return s
}

// rpVariable returns a float rpVariable op of the given shape.
func rpVariable(name, op, dev string, dims ...int64) *nodepb.NodeDef {
	n := rpWithDevice(rpNd(name, op), dev)
	n.Attr["dtype"] = rpTypeAttr(typespb.DataType_DT_FLOAT)
	n.Attr["shape"] = rpShapeAttr(dims...)
	if op == "VarHandleOp" {
		n.Attr["shared_name"] = rpSAttr(name)
	}
	return n
}

// rpStringsConst returns a rank-1 DT_STRING Const.
func rpStringsConst(name string, strs ...string) *nodepb.NodeDef {
	t := &tensorpb.TensorProto{Dtype: typespb.DataType_DT_STRING, TensorShape: rpShapeProto(int64(len(strs)))}
	for _, s := range strs {
		t.StringVal = append(t.StringVal, []byte(s))
	}
	n := rpNd(name, "Const")
	n.Attr["dtype"] = rpTypeAttr(typespb.DataType_DT_STRING)
	n.Attr["value"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: t}}
	return n
}

// rpIntConst returns a DT_INT32 scalar Const.
func rpIntConst(name string, v int32) *nodepb.NodeDef {
	n := rpNd(name, "Const")
	n.Attr["dtype"] = rpTypeAttr(typespb.DataType_DT_INT32)
	n.Attr["value"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{
		Dtype: typespb.DataType_DT_INT32, TensorShape: &tsp.TensorShapeProto{}, IntVal: []int32{v}}}}
	return n
}

// rpTensor is one checkpoint entry of a test model.
type rpTensor struct {
	key    string
	dtype  typespb.DataType
	shape  []int64
	floats []float32 // DT_FLOAT data
	strs   [][]byte  // DT_STRING data
}

func rpFloats(key string, shape []int64, v ...float32) rpTensor {
	return rpTensor{key: key, dtype: typespb.DataType_DT_FLOAT, shape: shape, floats: v}
}

// rpWriteModel writes a SavedModel directory holding mg and a checkpoint of
// the given tensors, and reads it back.
func rpWriteModel(t testing.TB, mg *tfpb.MetaGraphDef, tensors ...rpTensor) *savedmodel.Model {
	t.Helper()
	dir := t.TempDir()
	b, err := proto.Marshal(&tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{mg}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, savedmodel.SavedModelPB), b, 0o644))
	if len(tensors) > 0 {
		vdir := filepath.Join(dir, savedmodel.VariablesDir)
		require.NoError(t, os.MkdirAll(vdir, 0o755))
		w, err := bundle.NewWriter(vdir, "variables", bundle.WriterOptions{})
		require.NoError(t, err)
		for _, x := range tensors {
			var buf bytes.Buffer
			for _, f := range x.floats {
				require.NoError(t, binary.Write(&buf, binary.LittleEndian, math.Float32bits(f)))
			}
			if x.dtype == typespb.DataType_DT_STRING {
				_, err := bundle.WriteStrings(&buf, x.strs)
				require.NoError(t, err)
			}
			require.NoError(t, w.Add(x.key, &tfpb.BundleEntryProto{Dtype: x.dtype, Shape: rpShapeProto(x.shape...)}, &buf))
		}
		require.NoError(t, w.Close())
	}
	m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// rpMetaGraph returns a MetaGraphDef holding the nodes and functions.
func rpMetaGraph(nodes []*nodepb.NodeDef, fns ...*fnpb.FunctionDef) *tfpb.MetaGraphDef {
	gd := &graphpb.GraphDef{Node: nodes}
	if len(fns) > 0 {
		gd.Library = &fnpb.FunctionDefLibrary{Function: fns}
	}
	return &tfpb.MetaGraphDef{MetaInfoDef: &tfpb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}}, GraphDef: gd}
}

// rpRun runs the passes on m and fails the test on error.
func rpRun(t *testing.T, m *savedmodel.Model, opts Options, passes ...*Pass) *Report {
	t.Helper()
	rep, err := NewPipeline(passes...).Run(context.Background(), m, opts)
	require.NoError(t, err)
	return rep
}

// rpInputsOf returns the inputs of the named main-graph node of meta graph 0.
func rpInputsOf(t *testing.T, m *savedmodel.Model, fn, name string) []string {
	t.Helper()
	n := graphdef.New(m.Proto.MetaGraphs[0].GraphDef).Body(fn).Node(name)
	require.NotNil(t, n, "node %s::%s", fn, name)
	return n.GetInput()
}

// rpHasNode reports whether body fn of meta graph 0 holds node name.
func rpHasNode(m *savedmodel.Model, fn, name string) bool {
	return graphdef.New(m.Proto.MetaGraphs[0].GraphDef).Body(fn).Node(name) != nil
}

// rpStringsAttr returns a list(string) attr.
func rpStringsAttr(strs ...string) *attrpb.AttrValue {
	l := &attrpb.AttrValue_ListValue{}
	for _, s := range strs {
		l.S = append(l.S, []byte(s))
	}
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: l}}
}

// rpMustMarshalNoT serializes msg deterministically, for comparisons.
func rpMustMarshalNoT(msg proto.Message) []byte {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		panic(err)
	}
	return b
}

// rpMustMarshal serializes a message for a bytes_list collection.
func rpMustMarshal(t *testing.T, msg proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(msg)
	require.NoError(t, err)
	return b
}
