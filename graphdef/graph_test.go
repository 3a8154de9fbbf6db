package graphdef

import (
	"fmt"
	"slices"
	"testing"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	"google.golang.org/protobuf/proto"
)

// sample is a small TF2-shaped graph: a signature call in the main graph,
// a function body with a collective and a nested call.
func sample() *Graph {
	return New(graphOf(
		[]*nodepb.NodeDef{
			node("x", "Placeholder"),
			node("v", "VarHandleOp"),
			withAttr(node("call", "StatefulPartitionedCall", "x", "v", "^init"), "f", funcAttr("fwd")),
			node("init", "NoOp"),
			node("out", "Identity", "call:0"),
		},
		function("fwd", []string{"a", "h"}, []string{"y"}, map[string]string{"y": "id:output:0"},
			withDevice(node("read", "ReadVariableOp", "h"), "/job:localhost/replica:0/task:0/device:GPU:0"),
			node("mul", "Mul", "a", "read:value:0"),
			withDevice(node("all", "CollectiveReduceV2", "mul:z:0", "^read"), "/device:GPU:0"),
			node("inner", "helper", "all:data:0"),
			withAttr(node("id", "Identity", "inner:out:0"), ClassAttr, colocAttr("mul")),
		),
		function("helper", []string{"p"}, []string{"out"}, map[string]string{"out": "q:output:0"},
			node("q", "Identity", "p"),
		),
	))
}

func TestWalkVisitsMainAndFunctions(t *testing.T) {
	g := sample()
	var got []string
	if err := g.Walk(func(loc Location, n *nodepb.NodeDef) error {
		got = append(got, loc.String())
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{"x", "v", "call", "init", "out",
		"fwd::read", "fwd::mul", "fwd::all", "fwd::inner", "fwd::id", "helper::q"}
	if !slices.Equal(got, want) {
		t.Errorf("walk order\n got %v\nwant %v", got, want)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := g.Walk(func(Location, *nodepb.NodeDef) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Walk did not stop at the first error: err=%v after %d calls", err, n)
	}
}

func TestConsumersAndOps(t *testing.T) {
	g := sample()
	fwd := g.Function("fwd")
	tests := []struct {
		body *Body
		name string
		want []string // consumer:slot:input
	}{
		{g.Main(), "x", []string{"call:0:x"}},
		{g.Main(), "init", []string{"call:2:^init"}},
		{g.Main(), "call", []string{"out:0:call:0"}},
		{fwd, "read", []string{"all:1:^read", "mul:1:read:value:0"}},
		{fwd, "h", []string{"read:0:h"}},
		{fwd, "id", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, u := range tt.body.Consumers(tt.name) {
			got = append(got, fmt.Sprintf("%s:%d:%s", u.Node.GetName(), u.Slot, u.Input))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q consumers of %s = %v, want %v", tt.body.Name(), tt.name, got, tt.want)
		}
	}
	if got := fwd.ConsumersOf(Input{Node: "read", Output: "value"}); len(got) != 1 || got[0].Node.GetName() != "mul" {
		t.Errorf("ConsumersOf(read:value) = %v", got)
	}
	refs := g.Ops("CollectiveReduceV2")
	if len(refs) != 1 || refs[0].Location() != (Location{"fwd", "all"}) {
		t.Errorf("Ops(CollectiveReduceV2) = %v", refs)
	}
	if got := g.Ops("Identity"); len(got) != 3 || got[0].Location().String() != "out" || got[1].Location().String() != "fwd::id" {
		t.Errorf("Ops(Identity) not sorted main-first: %v", got)
	}
	if ret, _ := fwd.RetUses("id"); !slices.Equal(ret, []string{"y"}) {
		t.Errorf("RetUses(id) = %v", ret)
	}
	if got := names(fwd.Colocated("mul")); got != "id" {
		t.Errorf("Colocated(mul) = %s", got)
	}
}

// TestIndexRealModels indexes every MetaGraph of TF's own SavedModels and
// checks the index against a direct scan, and that indexing changes nothing.
func TestIndexRealModels(t *testing.T) {
	for _, m := range realModels(t) {
		t.Run(m.name, func(t *testing.T) {
			orig := proto.Clone(m.mg.GetGraphDef())
			g := New(m.mg.GetGraphDef())
			want := len(m.mg.GetGraphDef().GetNode())
			for _, f := range m.mg.GetGraphDef().GetLibrary().GetFunction() {
				want += len(f.GetNodeDef())
			}
			n := 0
			uses := 0
			for loc, nd := range g.All() {
				n++
				if g.Node(loc) != nd {
					t.Fatalf("Node(%s) does not find the walked node", loc)
				}
				b := g.Body(loc.Function)
				for i, s := range nd.Input {
					found := false
					for _, u := range b.Consumers(Producer(s)) {
						found = found || (u.Node == nd && u.Slot == i)
					}
					if !found {
						t.Fatalf("%s input %d %q missing from Consumers", loc, i, s)
					}
					uses++
				}
			}
			if n != want {
				t.Errorf("walked %d nodes, graph has %d", n, want)
			}
			if !proto.Equal(orig, m.mg.GetGraphDef()) {
				t.Errorf("indexing changed the GraphDef")
			}
			// Writing the indexed graph back gives the same GraphDef.
			b, err := proto.Marshal(g.GraphDef())
			if err != nil {
				t.Fatal(err)
			}
			back := &graphpb.GraphDef{}
			if err := proto.Unmarshal(b, back); err != nil || !proto.Equal(back, orig) {
				t.Errorf("GraphDef written back differs (err %v)", err)
			}
			t.Logf("%d nodes, %d inputs, %d functions", n, uses, len(g.Functions()))
		})
	}
}

func TestNewNil(t *testing.T) {
	g := New(nil)
	if err := g.Main().Add(node("a", "NoOp")); err != nil || len(g.GraphDef().Node) != 1 {
		t.Fatalf("Add on a graph made from nil: %v", err)
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestWalkSurvivesEdits(t *testing.T) {
	g := sample()
	seen := 0
	for loc, n := range g.All() {
		if n == nil {
			t.Fatalf("nil node at %s", loc)
		}
		seen++
		if loc == (Location{Node: "x"}) {
			if err := g.Main().Remove(DanglingDropControl, "out", "init"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if seen < 6 {
		t.Errorf("walk stopped early: %d nodes", seen)
	}
}
