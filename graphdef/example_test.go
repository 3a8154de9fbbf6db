package graphdef_test

import (
	"fmt"
	"os"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// exampleGraph is a signature call into a function that all-reduces on a
// GPU, as MirroredStrategy leaves it.
func exampleGraph() *graphpb.GraphDef {
	float := &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}}
	return &graphpb.GraphDef{
		Node: []*nodepb.NodeDef{
			{Name: "x", Op: "Placeholder"},
			{Name: "call", Op: "StatefulPartitionedCall", Input: []string{"x"}, Attr: map[string]*attrpb.AttrValue{
				"f": {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: "fwd"}}},
			}},
			{Name: "y", Op: "Identity", Input: []string{"call:0"}},
		},
		Library: &fnpb.FunctionDefLibrary{Function: []*fnpb.FunctionDef{{
			Signature: &opdefpb.OpDef{Name: "fwd",
				InputArg:  []*opdefpb.OpDef_ArgDef{{Name: "a", Type: typespb.DataType_DT_FLOAT}},
				OutputArg: []*opdefpb.OpDef_ArgDef{{Name: "out", Type: typespb.DataType_DT_FLOAT}}},
			NodeDef: []*nodepb.NodeDef{
				{Name: "sum", Op: "NcclAllReduce", Input: []string{"a"}, Device: "/job:localhost/replica:0/task:0/device:GPU:0",
					Attr: map[string]*attrpb.AttrValue{"T": float}},
				{Name: "twice", Op: "Mul", Input: []string{"sum:data:0", "sum:data:0"}},
			},
			Ret: map[string]string{"out": "twice:z:0"},
		}}},
	}
}

// Walk visits the main graph and every function body, so clearing devices
// cannot miss the functions where TF2 keeps its ops.
func ExampleGraph_Walk() {
	g := graphdef.New(exampleGraph())
	g.Walk(func(loc graphdef.Location, n *nodepb.NodeDef) error {
		if n.Device != "" {
			fmt.Printf("%s: clearing %s\n", loc, n.Device)
			n.Device = ""
		}
		return nil
	})
	// Output:
	// fwd::sum: clearing /job:localhost/replica:0/task:0/device:GPU:0
}

// ReplaceByIdentity turns a cross-device reduction into a no-op; in a
// function body the consumers' "sum:data:0" becomes "sum:output:0".
func ExampleBody_ReplaceByIdentity() {
	g := graphdef.New(exampleGraph())
	for _, r := range g.Ops("NcclAllReduce") {
		if err := r.Body.ReplaceByIdentity(r.Node.Name, 0); err != nil {
			fmt.Println(err)
		}
	}
	fmt.Println(g.Function("fwd").Node("twice").Input)
	fmt.Println(graphdef.Validate(g.GraphDef()))
	// Output:
	// [sum:output:0 sum:output:0]
	// <nil>
}

// Reachable tells serving paths from leftovers.
func ExampleGraph_Reachable() {
	gd := exampleGraph()
	gd.Node = append(gd.Node, &nodepb.NodeDef{Name: "train_only", Op: "NoOp"})
	g := graphdef.New(gd)
	r := g.Reachable(graphdef.Roots{Nodes: []string{"y"}})
	fmt.Println(r.Functions(), r.Node(graphdef.Location{Node: "train_only"}))
	// Output:
	// [fwd] false
}

func ExampleDump() {
	graphdef.Dump(os.Stdout, exampleGraph(), graphdef.DumpOptions{Bodies: []string{"fwd"}})
	// Output:
	// function fwd(a: DT_FLOAT) -> (out: DT_FLOAT): 2 nodes
	//   sum = NcclAllReduce(a) @"/job:localhost/replica:0/task:0/device:GPU:0"
	//       T = DT_FLOAT
	//   twice = Mul(sum:data:0, sum:data:0)
	//   ret out = twice:z:0
}
