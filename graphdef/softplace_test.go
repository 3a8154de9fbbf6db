package graphdef

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
)

// TestSoftPlacedFunctionsFixtures: the function bodies of a MirroredStrategy
// model whose replica_1 nodes sit on CPU:1 are soft placed (TF 2.18 runs
// its "replicated" signature on one CPU in tf2 and in a TF1 Session without
// soft placement: testdata/models/mirrored_none's before column).
func TestSoftPlacedFunctionsFixtures(t *testing.T) {
	for _, m := range fixtureModels(t) {
		if m.name != "mirrored_none" {
			continue
		}
		g := New(m.mg.GetGraphDef())
		soft := g.SoftPlacedFunctions()
		n := 0
		for _, b := range g.Functions() {
			for _, node := range b.Nodes() {
				if strings.HasSuffix(node.GetDevice(), "CPU:1") {
					n++
					assert.True(t, soft[b.Name()], "%s holds %s on CPU:1", b.Name(), node.GetName())
				}
			}
		}
		assert.NotZero(t, n, "no CPU:1 node in a function body")
		return
	}
	t.Fatal("fixture mirrored_none not found")
}

// TestSoftPlacedFunctions checks the calls that keep a body from soft
// placement: a main-graph If (lowered before the session's placer) and a
// call marked for XLA (not inlined by Grappler), with everything they call.
func TestSoftPlacedFunctions(t *testing.T) {
	fn := func(name string, nodes ...*nodepb.NodeDef) *fnpb.FunctionDef {
		return &fnpb.FunctionDef{Signature: &opdefpb.OpDef{Name: name}, NodeDef: nodes}
	}
	call := func(name, op, f string, attrs map[string]*attrpb.AttrValue) *nodepb.NodeDef {
		a := map[string]*attrpb.AttrValue{"f": {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: f}}}}
		for k, v := range attrs {
			a[k] = v
		}
		return &nodepb.NodeDef{Name: name, Op: op, Attr: a}
	}
	xla := map[string]*attrpb.AttrValue{"_XlaMustCompile": {Value: &attrpb.AttrValue_B{B: true}}}
	ifNode := &nodepb.NodeDef{Name: "if", Op: "If", Attr: map[string]*attrpb.AttrValue{
		"then_branch": {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: "then"}}},
		"else_branch": {Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: "else"}}},
	}}
	gd := &graphpb.GraphDef{
		Node: []*nodepb.NodeDef{
			call("call", "StatefulPartitionedCall", "outer", nil),
			ifNode,
		},
		Library: &fnpb.FunctionDefLibrary{Function: []*fnpb.FunctionDef{
			fn("outer", call("inner", "PartitionedCall", "inner", nil), call("jit", "StatefulPartitionedCall", "jitted", xla)),
			fn("inner", &nodepb.NodeDef{Name: "a", Op: "NoOp", Device: "/device:CPU:1"}),
			fn("jitted", call("deep", "PartitionedCall", "deep", nil)),
			fn("deep"),
			fn("then", call("c", "PartitionedCall", "branch_callee", nil)),
			fn("else"),
			fn("branch_callee"),
		}},
	}
	got := New(gd).SoftPlacedFunctions()
	want := map[string]bool{"outer": true, "inner": true}
	assert.Equal(t, want, got)
}
