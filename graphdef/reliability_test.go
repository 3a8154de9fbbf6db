package graphdef

import (
	"testing"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// Renaming a node that reads itself (data or control), then removing it,
// leaves the index equal to a fresh one (found by FuzzGraph: the rename
// indexed the node's consumers twice).
func TestRenameSelfReference(t *testing.T) {
	for _, in := range []string{"a", "a:0", "^a", ":0"} {
		name := "a"
		if in == ":0" {
			name = ""
		}
		gd := &graphpb.GraphDef{Node: []*nodepb.NodeDef{{Name: name, Op: "X", Input: []string{in}}}}
		g := New(gd)
		b := g.Bodies()[0]
		if err := b.Rename(name, name+"_renamed"); err != nil {
			t.Fatal(err)
		}
		checkIndex(t, g)
		if err := b.Remove(DanglingForwardControl, name+"_renamed"); err != nil {
			t.Fatal(err)
		}
		checkIndex(t, g)
	}
}
