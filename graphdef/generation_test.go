package graphdef

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
)

func TestGenerationCountsEdits(t *testing.T) {
	g := editSample()
	gen := g.Generation()
	_ = g.Validate()
	g.Reachable(Roots{Nodes: []string{"out"}})
	assert.Equal(t, gen, g.Generation(), "queries are not edits")
	require.NoError(t, g.Main().Add(node("extra", "NoOp")))
	assert.Greater(t, g.Generation(), gen)
	gen = g.Generation()
	_, err := g.Function("f").Redirect(Input{Node: "id", Output: "output"}, Input{Node: "read", Output: "value"})
	require.NoError(t, err)
	assert.Greater(t, g.Generation(), gen, "an edit of a function's ret only")
}

// TestStale edits the protos behind the index's back, one kind of edit per
// case, and checks that Stale sees it, and that edits through the index
// (Update after an in-place change) leave it current.
func TestStale(t *testing.T) {
	tests := []struct {
		name string
		edit func(g *Graph)
	}{
		{"node appended", func(g *Graph) { g.def.Node = append(g.def.Node, node("new", "NoOp")) }},
		{"node removed", func(g *Graph) { g.def.Node = g.def.Node[1:] }},
		{"node replaced", func(g *Graph) { g.def.Node[0] = node("x", "Placeholder") }},
		{"node renamed", func(g *Graph) { g.def.Node[0].Name = "y" }},
		{"op changed", func(g *Graph) { g.def.Node[0].Op = "Const" }},
		{"input added", func(g *Graph) { g.def.Node[0].Input = append(g.def.Node[0].Input, "nowhere") }},
		{"input changed", func(g *Graph) { g.def.Node[6].Input[0] = "nowhere:0" }},
		{"func attr changed", func(g *Graph) { g.def.Node[4].Attr["f"] = funcAttr("missing") }},
		{"func attr added", func(g *Graph) { g.def.Node[0].Attr = map[string]*attrpb.AttrValue{"g": funcAttr("f")} }},
		{"_class changed", func(g *Graph) { g.def.Node[3].Attr[ClassAttr] = colocAttr("v") }},
		{"_class removed", func(g *Graph) { delete(g.def.Node[3].Attr, ClassAttr) }},
		{"function node removed", func(g *Graph) {
			f := g.def.Library.Function[0]
			f.NodeDef = f.NodeDef[:len(f.NodeDef)-1]
		}},
		{"function added", func(g *Graph) {
			g.def.Library.Function = append(g.def.Library.Function, function("h", nil, nil, nil))
		}},
		{"function replaced", func(g *Graph) {
			g.def.Library.Function[0] = function("f", []string{"a", "h"}, []string{"y"}, nil)
		}},
		{"argument renamed", func(g *Graph) { g.def.Library.Function[0].Signature.InputArg[0].Name = "b" }},
		{"gradient added", func(g *Graph) {
			g.def.Library.Gradient = append(g.def.Library.Gradient, &fnpb.GradientDef{FunctionName: "f", GradientFunc: "f"})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := editSample()
			require.False(t, g.Stale(), "a fresh index")
			gen := g.Generation()
			tt.edit(g)
			assert.True(t, g.Stale())
			assert.Equal(t, gen, g.Generation(), "a direct edit is not an edit through the index")
		})
	}
	t.Run("device and ret changes are not indexed", func(t *testing.T) {
		g := editSample()
		g.def.Node[0].Device = "/device:GPU:1"
		g.def.Library.Function[0].Ret["y"] = "read:value:0"
		assert.False(t, g.Stale())
	})
	t.Run("Update makes it current", func(t *testing.T) {
		g := editSample()
		g.def.Node[6].Input[0] = "x"
		require.True(t, g.Stale())
		require.NoError(t, g.Main().Update("out"))
		assert.False(t, g.Stale())
	})
	t.Run("real models", func(t *testing.T) {
		for _, m := range realModels(t) {
			assert.False(t, New(m.mg.GetGraphDef()).Stale(), m.name)
		}
	})
}
