package graphdef

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// checkIndex compares g's incrementally maintained index with a fresh one
// built from the same (edited) GraphDef.
func checkIndex(t *testing.T, g *Graph) {
	t.Helper()
	fresh := New(g.def)
	if len(g.dupFuncs) == 0 && g.unnamed == 0 && noDupNodes(g) && g.Stale() {
		t.Errorf("Stale after edits made through the index")
	}
	if !slices.Equal(sortedKeys(g.funcs), sortedKeys(fresh.funcs)) {
		t.Fatalf("functions: index %v, fresh %v", sortedKeys(g.funcs), sortedKeys(fresh.funcs))
	}
	if !maps.Equal(g.grads, fresh.grads) {
		t.Errorf("gradients: index %v, fresh %v", g.grads, fresh.grads)
	}
	multiset := func(m map[string][]*nodepb.NodeDef) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			s := strings.Split(names(v), ",")
			slices.Sort(s)
			out[k] = strings.Join(s, ",")
		}
		return out
	}
	for _, b := range g.Bodies() {
		f := fresh.Body(b.name)
		if !slices.Equal(sortedKeys(b.nodes), sortedKeys(f.nodes)) {
			t.Errorf("%s nodes: index %v, fresh %v", b.where(), sortedKeys(b.nodes), sortedKeys(f.nodes))
		}
		for name, e := range b.nodes {
			if e.def.GetName() != name || !slices.Equal(e.refs, f.nodes[name].refs) {
				t.Errorf("%s node %s: stale entry", b.where(), name)
			}
		}
		if a, c := multiset(b.users), multiset(f.users); !maps.Equal(a, c) {
			t.Errorf("%s users:\n index %v\n fresh %v", b.where(), a, c)
		}
		if a, c := multiset(b.coloc), multiset(f.coloc); !maps.Equal(a, c) {
			t.Errorf("%s coloc: index %v, fresh %v", b.where(), a, c)
		}
		if !maps.Equal(b.args, f.args) {
			t.Errorf("%s args: index %v, fresh %v", b.where(), b.args, f.args)
		}
	}
	opsOf := func(g *Graph) map[string]string {
		out := map[string]string{}
		for op := range g.byOp {
			var s []string
			for _, r := range g.Ops(op) {
				s = append(s, r.Location().String())
			}
			out[op] = strings.Join(s, ",")
		}
		return out
	}
	if a, c := opsOf(g), opsOf(fresh); !maps.Equal(a, c) {
		t.Errorf("ops: index %v, fresh %v", a, c)
	}
	for f := range g.funcs {
		var a, c []string
		for _, r := range g.Callers(f) {
			a = append(a, r.Location().String())
		}
		for _, r := range fresh.Callers(f) {
			c = append(c, r.Location().String())
		}
		if !slices.Equal(a, c) {
			t.Errorf("callers of %s: index %v, fresh %v", f, a, c)
		}
	}
}

// state renders a graph compactly for table tests: every node as
// name(op)[inputs]{_class}, ret and control_ret.
func state(g *Graph) string {
	var parts []string
	for _, b := range g.Bodies() {
		var s []string
		for _, n := range b.Nodes() {
			x := n.GetName() + "(" + n.GetOp() + ")"
			if len(n.Input) > 0 {
				x += "[" + strings.Join(n.Input, " ") + "]"
			}
			if c := Colocation(n); len(c) > 0 {
				x += "{" + strings.Join(c, " ") + "}"
			}
			s = append(s, x)
		}
		p := strings.Join(s, " ")
		if b.fn != nil {
			p = b.name + ": " + p
			for _, k := range sortedKeys(b.fn.Ret) {
				p += " ret " + k + "=" + b.fn.Ret[k]
			}
			for _, k := range sortedKeys(b.fn.ControlRet) {
				p += " cret " + k + "=" + b.fn.ControlRet[k]
			}
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " | ")
}

func editSample() *Graph {
	f := function("f", []string{"a", "h"}, []string{"y"}, map[string]string{"y": "id:output:0"},
		node("read", "ReadVariableOp", "h"),
		withAttr(node("all", "CollectiveReduceV2", "read:value:0", "gs", "^a"), "T", typeAttr(1)),
		konst("gs"),
		withAttr(node("id", "Identity", "all:data:0"), ClassAttr, colocAttr("all")),
		node("side", "AssignVariableOp", "h", "id:output:0"),
	)
	f.ControlRet = map[string]string{"side": "side"}
	f.Signature.ControlOutput = []string{"side"}
	return New(graphOf([]*nodepb.NodeDef{
		node("x", "Placeholder"),
		node("v", "VarHandleOp"),
		node("v1", "VarHandleOp"),
		withAttr(withAttr(node("nccl", "NcclAllReduce", "x", "^v"), "T", typeAttr(1)), ClassAttr, colocAttr("v1")),
		withAttr(node("call", "StatefulPartitionedCall", "nccl", "v1", "^init"), "f", funcAttr("f")),
		node("init", "NoOp", "^v"),
		node("out", "Identity", "call:0", "^init"),
	}, f))
}

func TestEdits(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(g *Graph) error
		want    string // substring checks on state, "-" prefix = must be absent
		wantErr string
	}{
		{"add", func(g *Graph) error { return g.Main().Add(node("z", "Identity", "x")) },
			"out(Identity)[call:0 ^init] z(Identity)[x]", ""},
		{"add duplicate", func(g *Graph) error { return g.Main().Add(node("x", "Const")) }, "", "already exists"},
		{"add over arg", func(g *Graph) error { return g.Function("f").Add(node("a", "Const")) }, "", "already exists"},
		{"remove unused", func(g *Graph) error { return g.Main().Remove(DanglingError, "out") },
			"-out(", ""},
		{"remove data-used", func(g *Graph) error { return g.Main().Remove(DanglingDropControl, "x") }, "", `nccl input 0 "x"`},
		{"remove control-used refuses", func(g *Graph) error { return g.Main().Remove(DanglingError, "init") }, "", `call input 2 "^init"`},
		{"remove drop control", func(g *Graph) error { return g.Main().Remove(DanglingDropControl, "init") },
			"call(StatefulPartitionedCall)[nccl v1] out(Identity)[call:0]", ""},
		{"remove forward control", func(g *Graph) error { return g.Main().Remove(DanglingForwardControl, "init") },
			"call(StatefulPartitionedCall)[nccl v1 ^v] out(Identity)[call:0 ^v]", ""},
		{"remove drops _class", func(g *Graph) error {
			if err := g.Main().Remove(DanglingDropControl, "call", "out"); err != nil {
				return err
			}
			return g.Main().Remove(DanglingError, "v1")
		}, "nccl(NcclAllReduce)[x ^v] init", ""},
		{"remove control_ret", func(g *Graph) error { return g.Function("f").Remove(DanglingDropControl, "side") },
			"-cret side", ""},
		{"remove ret source", func(g *Graph) error { return g.Function("f").Remove(DanglingDropControl, "id", "side") }, "", `ret y = "id:output:0"`},
		{"identity in graph", func(g *Graph) error { return g.Main().ReplaceByIdentity("nccl", 0) },
			"nccl(Identity)[x ^v]{v1} call(StatefulPartitionedCall)[nccl v1 ^init]", ""},
		{"identity in function", func(g *Graph) error { return g.Function("f").ReplaceByIdentity("all", 0) },
			"all(Identity)[read:value:0 ^a] gs(Const) id(Identity)[all:output:0]{all}", ""},
		{"identity needs T", func(g *Graph) error { return g.Main().ReplaceByIdentity("out", 0) }, "", "no T attr"},
		{"replace renamed", func(g *Graph) error {
			return g.Main().Replace("nccl", node("sum", "Identity", "x"), nil)
		}, "sum(Identity)[x] call(StatefulPartitionedCall)[sum v1 ^init]", ""},
		{"replace remap error", func(g *Graph) error {
			return g.Main().Replace("call", node("c2", "NoOp"), func(in Input) (Input, error) { return in, errors.New("no outputs") })
		}, "", "no outputs"},
		{"rename", func(g *Graph) error { return g.Function("f").Rename("all", "reduce") },
			"reduce(CollectiveReduceV2)[read:value:0 gs ^a] gs(Const) id(Identity)[reduce:data:0]{reduce}", ""},
		{"rename ret and control_ret", func(g *Graph) error {
			if err := g.Function("f").Rename("id", "ident"); err != nil {
				return err
			}
			return g.Function("f").Rename("side", "assign")
		}, "assign(AssignVariableOp)[h ident:output:0] ret y=ident:output:0 cret side=assign", ""},
		{"rename taken", func(g *Graph) error { return g.Main().Rename("x", "v") }, "", "already exists"},
		{"redirect node", func(g *Graph) error {
			if _, err := g.Main().RedirectNode("v1", "v"); err != nil {
				return err
			}
			return g.Main().Remove(DanglingError, "v1")
		}, "nccl(NcclAllReduce)[x ^v]{v} call(StatefulPartitionedCall)[nccl v ^init]", ""},
		{"redirect tensor", func(g *Graph) error {
			n, err := g.Function("f").Redirect(Input{Node: "all", Output: "data"}, Input{Node: "read", Output: "value", Index: 0, HasIndex: true})
			if n != 1 {
				return fmt.Errorf("changed %d", n)
			}
			return err
		}, "id(Identity)[read:value:0]{all}", ""},
		{"redirect ret", func(g *Graph) error {
			n, err := g.Function("f").Redirect(Input{Node: "id", Output: "output"}, Input{Node: "a"})
			if n != 2 {
				return fmt.Errorf("changed %d", n)
			}
			return err
		}, "side(AssignVariableOp)[h a] ret y=a", ""},
		{"redirect missing target", func(g *Graph) error {
			_, err := g.Main().Redirect(Input{Node: "x"}, Input{Node: "nope"})
			return err
		}, "", "not found"},
		{"set colocation", func(g *Graph) error { return g.Main().SetColocation("out", "x", "v") },
			"out(Identity)[call:0 ^init]{x v}", ""},
		{"clear colocation", func(g *Graph) error { return g.Main().SetColocation("nccl") },
			"nccl(NcclAllReduce)[x ^v] call", ""},
		{"update after in-place edit", func(g *Graph) error {
			n := g.Main().Node("out")
			n.Input = []string{"x"}
			n.Op = "Neg"
			return g.Main().Update("out")
		}, "out(Neg)[x]", ""},
		{"remove arg", func(g *Graph) error {
			g.Function("f").FunctionDef().Ret["y"] = "read:value:0"
			if err := g.Function("f").Remove(DanglingDropControl, "all", "id", "side", "gs"); err != nil {
				return err
			}
			return g.Function("f").RemoveArg("a")
		}, "call(StatefulPartitionedCall)[v1 ^init]", ""},
		{"remove arg in use", func(g *Graph) error { return g.Function("f").RemoveArg("h") }, "", "still read"},
		{"remove called function", func(g *Graph) error { return g.RemoveFunctions("f") }, "", "call calls f"},
		{"remove function", func(g *Graph) error {
			if err := g.Main().Remove(DanglingDropControl, "call", "out"); err != nil {
				return err
			}
			return g.RemoveFunctions("f")
		}, "-f:", ""},
		{"add function", func(g *Graph) error {
			_, err := g.AddFunction(function("g2", nil, nil, nil, konst("k")))
			if err != nil {
				return err
			}
			return g.Main().Add(node("callg", "g2"))
		}, "g2: k(Const)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := editSample()
			before := state(g)
			err := tt.edit(g)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if after := state(g); after != before {
					t.Errorf("failed edit changed the graph:\n%s\n%s", before, after)
				}
				checkIndex(t, g)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := state(g)
			if w, absent := strings.CutPrefix(tt.want, "-"); absent {
				if strings.Contains(got, w) {
					t.Errorf("state still has %q:\n%s", w, got)
				}
			} else if !strings.Contains(got, tt.want) {
				t.Errorf("state lacks %q:\n%s", tt.want, got)
			}
			checkIndex(t, g)
			if problems := Validate(g.def); problems != nil {
				t.Errorf("edit left problems: %v", problems)
			}
		})
	}
}

func TestRemoveArgFixesFunctionMetadata(t *testing.T) {
	g := New(graphOf(
		[]*nodepb.NodeDef{
			node("p", "Placeholder"), node("q", "Placeholder"), node("r", "Placeholder"),
			withAttr(node("c", "PartitionedCall", "p", "q", "r"), "f", funcAttr("f")),
			node("d", "f", "p", "q", "r"),
		},
		function("f", []string{"a", "b", "c"}, []string{"y"}, map[string]string{"y": "c"}),
	))
	fd := g.Function("f").FunctionDef()
	fd.ArgAttr = map[uint32]*fnpb.FunctionDef_ArgAttrs{0: {}, 1: {}, 2: {}}
	fd.ResourceArgUniqueId = map[uint32]uint32{1: 7, 2: 9}
	if err := g.Function("f").RemoveArg("b"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Main().Node("c").Input, []string{"p", "r"}) || !slices.Equal(g.Main().Node("d").Input, []string{"p", "r"}) {
		t.Errorf("call sites: %v / %v", g.Main().Node("c").Input, g.Main().Node("d").Input)
	}
	if len(fd.ArgAttr) != 2 || fd.ResourceArgUniqueId[1] != 9 || len(fd.ResourceArgUniqueId) != 1 {
		t.Errorf("arg metadata not renumbered: arg_attr keys %v, unique ids %v", sortedUintKeys(fd.ArgAttr), fd.ResourceArgUniqueId)
	}
	if i, _ := g.Function("f").Arg("c"); i != 1 {
		t.Errorf("arg c now at %d, want 1", i)
	}
	checkIndex(t, g)
}

func sortedUintKeys[V any](m map[uint32]V) []uint32 {
	return slices.Sorted(maps.Keys(m))
}
