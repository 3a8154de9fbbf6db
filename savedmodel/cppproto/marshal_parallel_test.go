package cppproto

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	funcpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// bigGraph is a SavedModel whose main graph and library are long enough
// for Marshal to encode them on several goroutines: nodes with oneof and
// map fields (attrs), functions with rets, of varied sizes.
func bigGraph(nodes, fns int) *tfpb.SavedModel {
	gd := &graphpb.GraphDef{Library: &funcpb.FunctionDefLibrary{}}
	node := func(i int) *nodepb.NodeDef {
		s := strconv.Itoa(i)
		return &nodepb.NodeDef{Name: "n" + s, Op: "MatMul", Input: []string{"n" + strconv.Itoa(i-1), "^c" + s},
			Device: "/job:worker/task:" + strconv.Itoa(i%3) + "/device:GPU:0",
			Attr: map[string]*attrpb.AttrValue{
				"T":           {Value: &attrpb.AttrValue_Type{Type: 1}},
				"transpose_a": {Value: &attrpb.AttrValue_B{B: i%2 == 0}},
				"_class":      {Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{S: [][]byte{[]byte("loc:@n" + s)}}}},
			}}
	}
	for i := range nodes {
		gd.Node = append(gd.Node, node(i))
	}
	for f := range fns {
		fd := &funcpb.FunctionDef{Signature: &opdefpb.OpDef{Name: "f" + strconv.Itoa(f)}, Ret: map[string]string{"y": "n0:product:0"}}
		for i := range f % 50 { // sizes vary, so runs do not take equal time
			fd.NodeDef = append(fd.NodeDef, node(i))
		}
		gd.Library.Function = append(gd.Library.Function, fd)
	}
	return &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{{GraphDef: gd}}}
}

// Marshal encodes long repeated message fields on several goroutines; the
// bytes are the same as on one, and parse back to the same message.
func TestMarshalParallelMatchesSequential(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two CPUs to exercise the parallel encoder")
	}
	m := bigGraph(3*parallelListLen+17, 2*parallelListLen+5)
	parallel := Marshal(m)
	old := runtime.GOMAXPROCS(1)
	sequential := Marshal(m)
	runtime.GOMAXPROCS(old)
	if !bytes.Equal(parallel, sequential) {
		t.Fatalf("parallel encoding (%d bytes) differs from sequential (%d bytes)", len(parallel), len(sequential))
	}
	var back tfpb.SavedModel
	if err := proto.Unmarshal(parallel, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&back, m) {
		t.Fatal("the parallel encoding does not parse back to the message")
	}
}

func BenchmarkMarshalBigGraph(b *testing.B) {
	m := bigGraph(200_000, 8_000)
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(Marshal(m))
	}
	b.SetBytes(int64(n))
}
