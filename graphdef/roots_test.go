package graphdef

import (
	"slices"
	"strings"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

func funcListAttr(names ...string) *attrpb.AttrValue {
	l := &attrpb.AttrValue_ListValue{}
	for _, n := range names {
		l.Func = append(l.Func, &attrpb.NameAttrList{Name: n})
	}
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: l}}
}

// callSample has every kind of call edge: op type, f, branches (list),
// a func nested in a NameAttrList's attrs, and a gradient.
func callSample() *Graph {
	nested := &attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{
		Name: "outer", Attr: map[string]*attrpb.AttrValue{"inner": funcAttr("deep")},
	}}}
	gd := graphOf(
		[]*nodepb.NodeDef{
			node("x", "Placeholder"),
			withAttr(node("case", "Case", "x", "x"), "branches", funcListAttr("b0", "b1")),
			node("direct", "leaf", "x"),
			withAttr(node("dead", "StatefulPartitionedCall", "x"), "f", funcAttr("orphan")),
		},
		function("b0", []string{"i"}, []string{"o"}, map[string]string{"o": "n:output:0"},
			withAttr(node("n", "Identity", "i"), "g", nested),
			node("unused", "Const"),
			node("assign", "AssignVariableOp", "i", "unused"),
			node("rand", "RandomUniform", "shape"),
			node("shape", "Const"),
			node("custom", "HorovodAllreduce", "i"),
			node("leftover", "Const"),
			node("negated", "Neg", "leftover"),
		),
		function("b1", []string{"i"}, []string{"o"}, map[string]string{"o": "i"}),
		function("outer", nil, nil, nil),
		function("deep", nil, nil, nil),
		function("leaf", []string{"i"}, []string{"o"}, map[string]string{"o": "i"}),
		function("leaf_grad", nil, nil, nil),
		function("orphan", nil, nil, nil),
	)
	gd.Library.Gradient = []*fnpb.GradientDef{{FunctionName: "leaf", GradientFunc: "leaf_grad"}}
	return New(gd)
}

func TestCallGraph(t *testing.T) {
	g := callSample()
	tests := []struct {
		fn   string
		want []string
	}{
		{"", []string{"b0", "b1", "leaf", "orphan"}},
		{"b0", []string{"deep", "outer"}},
		{"leaf", []string{"leaf_grad"}},
		{"deep", nil},
	}
	for _, tt := range tests {
		if got := g.Callees(tt.fn); !slices.Equal(got, tt.want) {
			t.Errorf("Callees(%q) = %v, want %v", tt.fn, got, tt.want)
		}
	}
	var got []string
	for _, r := range g.Callers("deep") {
		got = append(got, r.Location().String())
	}
	if !slices.Equal(got, []string{"b0::n"}) {
		t.Errorf("Callers(deep) = %v", got)
	}
	if c := g.Callers("leaf"); len(c) != 1 || c[0].Node.GetName() != "direct" {
		t.Errorf("Callers(leaf) = %v, want the node whose op is leaf", c)
	}
}

func TestReachable(t *testing.T) {
	g := callSample()
	r := g.Reachable(Roots{Nodes: []string{"case", "direct"}})
	for _, f := range []string{"b0", "b1", "outer", "deep", "leaf", "leaf_grad"} {
		if !r.Function(f) {
			t.Errorf("function %s not reachable", f)
		}
	}
	if r.Function("orphan") || r.Node(Location{Node: "dead"}) {
		t.Errorf("the unreached call and its function are reported reachable")
	}
	// TF keeps ret producers, stateful ops (RandomUniform, and
	// AssignVariableOp, whose OpDef is stateful through SetDoNotOptimize,
	// with their inputs) and unknown custom ops; it prunes stateless
	// leftovers.
	for node, want := range map[string]bool{"n": true, "rand": true, "shape": true, "custom": true, "unused": true, "assign": true,
		"leftover": false, "negated": false} {
		if got := r.Node(Location{"b0", node}); got != want {
			t.Errorf("b0::%s reachable = %v, want %v", node, got, want)
		}
	}
	r = g.Reachable(Roots{Nodes: []string{"nope"}, Functions: []string{"orphan", "gone"}})
	want := []Location{{Node: "nope"}, {Function: "gone"}}
	if !slices.Equal(r.Missing, want) || !r.Function("orphan") {
		t.Errorf("Missing = %v, want %v", r.Missing, want)
	}
}

func TestRootsOfSignaturesAndObjectGraph(t *testing.T) {
	mg := &tfpb.MetaGraphDef{
		SignatureDef: map[string]*tfpb.SignatureDef{
			"serving_default": {
				Inputs:  map[string]*tfpb.TensorInfo{"x": {Encoding: &tfpb.TensorInfo_Name{Name: "serving_x:0"}}},
				Outputs: map[string]*tfpb.TensorInfo{"y": {Encoding: &tfpb.TensorInfo_CooSparse_{CooSparse: &tfpb.TensorInfo_CooSparse{ValuesTensorName: "vals:0", IndicesTensorName: "idx:0", DenseShapeTensorName: "shape:1"}}}},
			},
			InitOpSignatureKey: {Outputs: map[string]*tfpb.TensorInfo{InitOpSignatureKey: {Encoding: &tfpb.TensorInfo_Name{Name: "NoOp"}}}},
		},
		CollectionDef: map[string]*tfpb.CollectionDef{
			LegacyInitCollection: {Kind: &tfpb.CollectionDef_NodeList_{NodeList: &tfpb.CollectionDef_NodeList{Value: []string{"legacy"}}}},
		},
		SaverDef:     &tfpb.SaverDef{FilenameTensorName: "saver_filename:0", SaveTensorName: "StatefulPartitionedCall_1:0", RestoreOpName: "StatefulPartitionedCall_2"},
		AssetFileDef: []*tfpb.AssetFileDef{{TensorInfo: &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: "asset_path_initializer:0"}}}},
		ObjectGraphDef: &tfpb.SavedObjectGraph{
			ConcreteFunctions: map[string]*tfpb.SavedConcreteFunction{"__inference_f_1": {}},
			Nodes: []*tfpb.SavedObject{
				{Kind: &tfpb.SavedObject_Function{Function: &tfpb.SavedFunction{ConcreteFunctions: []string{"__inference_g_2"}}}},
				{Kind: &tfpb.SavedObject_BareConcreteFunction{BareConcreteFunction: &tfpb.SavedBareConcreteFunction{ConcreteFunctionName: "__inference_h_3"}}},
			},
		},
	}
	s := ServingRoots(mg)
	wantNodes := []string{"NoOp", "StatefulPartitionedCall_1", "StatefulPartitionedCall_2", "asset_path_initializer", "idx", "legacy", "saver_filename", "serving_x", "shape", "vals"}
	if !slices.Equal(s.Nodes, wantNodes) || len(s.Functions) != 0 {
		t.Errorf("ServingRoots = %+v, want nodes %v", s, wantNodes)
	}
	a := SavedModelRoots(mg)
	if !slices.Equal(a.Nodes, wantNodes) || !slices.Equal(a.Functions, []string{"__inference_f_1", "__inference_g_2", "__inference_h_3"}) {
		t.Errorf("SavedModelRoots = %+v", a)
	}
}

// TestRootsRealModels checks that on every TF test SavedModel the roots
// exist, every library function is reachable from the SavedModel roots, and
// what only the object graph reaches is what Python alone can call.
func TestRootsRealModels(t *testing.T) {
	for _, m := range realModels(t) {
		t.Run(m.name, func(t *testing.T) {
			g := New(m.mg.GetGraphDef())
			all := g.Reachable(SavedModelRoots(m.mg))
			if len(all.Missing) > 0 {
				t.Errorf("roots name missing nodes/functions: %v", all.Missing)
			}
			for _, b := range g.Functions() {
				if !all.Function(b.Name()) {
					t.Errorf("function %s is not reachable from the SavedModel roots", b.Name())
				}
			}
			serving := g.Reachable(ServingRoots(m.mg))
			for _, f := range serving.Functions() {
				if !all.Function(f) {
					t.Errorf("function %s reachable from serving roots but not from all roots", f)
				}
			}
			// Main-graph leftovers are TF1 variable initializers, which the
			// loader never runs (it restores variables instead).
			for _, n := range g.Main().Nodes() {
				if all.Node(Location{Node: n.GetName()}) {
					continue
				}
				if !strings.Contains(n.GetName(), "Initializ") && !strings.Contains(n.GetName(), "initial_value") &&
					!strings.Contains(n.GetName(), "Assign") && !strings.Contains(n.GetName(), "Read") &&
					!strings.HasPrefix(n.GetName(), "init") && !strings.Contains(n.GetName(), "/read") &&
					!strings.HasPrefix(n.GetName(), "Variable") {
					t.Errorf("unexpected unreachable main-graph node %s (%s)", n.GetName(), n.GetOp())
				}
			}
		})
	}
	// A TF2 model whose Keras layer functions only the object graph reaches.
	for _, m := range realModels(t) {
		if m.name != "tensorflow/cc/saved_model/testdata/bert1" {
			continue
		}
		g := New(m.mg.GetGraphDef())
		s := g.Reachable(ServingRoots(m.mg)).Functions()
		if len(s) == 0 || len(s) >= len(g.Functions()) {
			t.Errorf("bert1: serving roots reach %d of %d functions; want some but not all", len(s), len(g.Functions()))
		}
	}
}
