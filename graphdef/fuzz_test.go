package graphdef

import (
	"fmt"
	"io"
	"testing"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	"google.golang.org/protobuf/proto"
)

// FuzzGraph feeds arbitrary GraphDef bytes (seeded with TF's small test
// models and generated graphs) through indexing (which must equal the
// node-by-node index, Validate included), validation, reachability,
// dumping and a few edits: nothing may panic, and the index (and Validate
// through it) must match a fresh one after the edits. Seeds are kept under 8 KiB: the fuzzer minimizes every new
// interesting input, which on large GraphDefs takes minutes and looks like
// a hang (or run with -fuzzminimizetime=10s).
func FuzzGraph(f *testing.F) {
	for _, m := range realModels(f) {
		b, err := proto.Marshal(m.mg.GetGraphDef())
		if err == nil && len(b) < 8<<10 {
			f.Add(b)
		}
	}
	for s := range uint64(20) {
		if b, err := proto.Marshal(randGraph(s)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gd := &graphpb.GraphDef{}
		if proto.Unmarshal(data, gd) != nil {
			return
		}
		checkNewMatchesPerNode(t, "input", gd)
		g := New(gd)
		_ = g.Validate()
		var roots Roots
		for _, n := range gd.Node {
			roots.Nodes = append(roots.Nodes, n.GetName())
		}
		for _, b := range g.Functions() {
			roots.Functions = append(roots.Functions, b.Name())
		}
		g.Reachable(roots)
		_ = Dump(io.Discard, gd, DumpOptions{})
		for _, b := range g.Bodies() {
			nodes := b.Nodes()
			if len(nodes) == 0 {
				continue
			}
			first := nodes[0].GetName()
			_ = b.Rename(first, first+"_renamed")
			_ = b.Remove(DanglingForwardControl, first+"_renamed")
		}
		if len(g.dupFuncs) == 0 && g.unnamed == 0 && noDupNodes(g) {
			checkIndex(t, g)
			// Validate through the edited index equals validating afresh.
			if a, b := fmt.Sprint(g.Validate()), fmt.Sprint(Validate(gd)); a != b {
				t.Fatalf("Validate on the edited index:\n%s\nafresh:\n%s", a, b)
			}
		}
	})
}

func noDupNodes(g *Graph) bool {
	for _, b := range g.Bodies() {
		if len(b.dups) > 0 {
			return false
		}
	}
	return true
}
