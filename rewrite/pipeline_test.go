package rewrite

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
)

func modelOf(nodes ...*nodepb.NodeDef) *savedmodel.Model {
	return &savedmodel.Model{Proto: &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{{
		GraphDef: &graphpb.GraphDef{Node: nodes},
	}}}}
}

func noop(name string, requires ...*Pass) *Pass {
	return &Pass{Name: name, Doc: "does nothing", Requires: requires, Run: func(*Context) error { return nil }}
}

func TestCheck(t *testing.T) {
	a, b := noop("a"), noop("b")
	needsA := noop("needs-a", a)
	tests := []struct {
		name   string
		passes []*Pass
		ok     bool
	}{
		{"empty", nil, true},
		{"ordered requirement", []*Pass{a, needsA}, true},
		{"requirement later", []*Pass{needsA, a}, false},
		{"requirement missing", []*Pass{b, needsA}, false},
		{"duplicate", []*Pass{a, b, a}, false},
		{"nil pass", []*Pass{a, nil}, false},
		{"no run", []*Pass{{Name: "x"}}, false},
		{"bad name", []*Pass{noop("has space")}, false},
		{"same name other pass", []*Pass{noop("a"), noop("needs-a", a)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := NewPipeline(tt.passes...).Check()
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrInvalidPipeline)
			}
		})
	}
}

func TestRunReportsChangesAndStopsOnError(t *testing.T) {
	clear := &Pass{Name: "clear", Doc: "clears devices", Run: func(c *Context) error {
		for loc, n := range c.Graph(0).All() {
			if n.Device != "" {
				n.Device = ""
				c.Changef(Node(0, loc.Function, loc.Node), "cleared device")
			}
		}
		return nil
	}}
	boom := &Pass{Name: "boom", Doc: "fails", Run: func(c *Context) error {
		return c.Errorf(Node(0, "", "a"), "cannot")
	}}
	never := &Pass{Name: "never", Doc: "must not run", Run: func(c *Context) error {
		t.Error("pass after a failing pass ran")
		return nil
	}}
	m := modelOf(&nodepb.NodeDef{Name: "a", Op: "NoOp", Device: "/device:GPU:1"}, &nodepb.NodeDef{Name: "b", Op: "NoOp"})
	rep, err := NewPipeline(clear, boom, never).Run(context.Background(), m, Options{})
	var pe *PassError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "boom", pe.Pass)
	require.Len(t, rep.Passes, 2)
	assert.Equal(t, []Change{{Where: Node(0, "", "a"), What: "cleared device"}}, rep.Passes[0].Changes)
	assert.Equal(t, "", m.Proto.MetaGraphs[0].GraphDef.Node[0].Device)
	assert.True(t, rep.Changed())
}

func TestRunBlamesPassThatBreaksGraph(t *testing.T) {
	breaker := &Pass{Name: "breaker", Doc: "adds a dangling input", Run: func(c *Context) error {
		n := c.MetaGraphs()[0].GraphDef.Node[0]
		n.Input = append(n.Input, "missing:0")
		c.Changef(Node(0, "", n.Name), "added an input")
		return nil
	}}
	m := modelOf(&nodepb.NodeDef{Name: "a", Op: "Identity"})
	_, err := NewPipeline(breaker).Run(context.Background(), m, Options{})
	var pe *PassError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "breaker", pe.Pass)
	assert.True(t, errors.Is(err, ErrInvalidGraph))
}

func TestRunToleratesProblemsTheInputHad(t *testing.T) {
	touch := &Pass{Name: "touch", Doc: "changes a device", Run: func(c *Context) error {
		c.MetaGraphs()[0].GraphDef.Node[1].Device = ""
		c.Changef(Node(0, "", "b"), "cleared device")
		return nil
	}}
	m := modelOf(&nodepb.NodeDef{Name: "a", Op: "Identity", Input: []string{"gone"}}, &nodepb.NodeDef{Name: "b", Op: "NoOp", Device: "/cpu:0"})
	_, err := NewPipeline(touch).Run(context.Background(), m, Options{})
	assert.NoError(t, err)
}

func TestRunHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewPipeline(noop("a")).Run(ctx, modelOf(), Options{})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSelect(t *testing.T) {
	a, b, c := noop("a"), noop("b"), noop("c")
	p := NewPipeline(a, b, c)
	got, err := p.Select([]string{"c", "a"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c"}, got.Names(), "selection keeps pipeline order")
	none, err := p.Select([]string{"none"})
	require.NoError(t, err)
	assert.Empty(t, none.Passes)
	_, err = p.Select([]string{"zzz"})
	assert.ErrorIs(t, err, ErrInvalidPipeline)
}

func TestRunSharesIndexesOnlyWhileTheyMatchTheProtos(t *testing.T) {
	var seen []*graphdef.Graph
	look := func(name string) *Pass {
		return &Pass{Name: name, Doc: "looks", Run: func(c *Context) error {
			seen = append(seen, c.Graph(0))
			return nil
		}}
	}
	// add edits the GraphDef proto directly, behind the shared index.
	add := &Pass{Name: "add", Doc: "adds a node", Run: func(c *Context) error {
		gd := c.MetaGraphs()[0].GraphDef
		gd.Node = append(gd.Node, &nodepb.NodeDef{Name: "new", Op: "NoOp"})
		c.Changef(Node(0, "", "new"), "added")
		return nil
	}}
	m := modelOf(&nodepb.NodeDef{Name: "a", Op: "NoOp"})
	_, err := NewPipeline(look("l1"), look("l2"), add, look("l3")).Run(context.Background(), m, Options{})
	require.NoError(t, err)
	require.Len(t, seen, 3)
	assert.Same(t, seen[0], seen[1], "a pass that changed nothing hands its index on")
	assert.NotSame(t, seen[1], seen[2], "after a change the next pass gets a fresh index")
	assert.Nil(t, seen[1].Main().Node("new"))
	assert.NotNil(t, seen[2].Main().Node("new"), "the index after a change sees the change")
}

func TestVerifyInPipelineReportsGraphProblems(t *testing.T) {
	touch := &Pass{Name: "touch", Doc: "changes a device", Run: func(c *Context) error {
		c.MetaGraphs()[0].GraphDef.Node[1].Device = ""
		c.Changef(Node(0, "", "b"), "cleared device")
		return nil
	}}
	for _, passes := range [][]*Pass{{Verify}, {noop("idle"), Verify}, {touch, Verify}} {
		m := modelOf(&nodepb.NodeDef{Name: "a", Op: "Identity", Input: []string{"gone"}}, &nodepb.NodeDef{Name: "b", Op: "NoOp", Device: "/cpu:0"})
		p := NewPipeline(passes...)
		rep, err := p.Run(context.Background(), m, Options{})
		require.NoError(t, err, p.Names())
		var got []string
		for _, f := range rep.Findings() {
			got = append(got, f.Where.String()+": "+f.What)
		}
		assert.Contains(t, got, `meta_graph 0, node a: graph: input 0 "gone": no such node`, p.Names())
	}
}

// A pass that edits the protos directly and records the change before it
// first asks for the index gets one that sees the edit (not the shared
// index built before the pass), and Reindex gives a fresh one later.
func TestGraphAfterARecordedDirectEditSeesIt(t *testing.T) {
	var first, again *graphdef.Graph
	add := &Pass{Name: "add", Doc: "adds a node, then indexes", Run: func(c *Context) error {
		gd := c.MetaGraphs()[0].GraphDef
		gd.Node = append(gd.Node, &nodepb.NodeDef{Name: "new", Op: "NoOp"})
		c.Changef(Node(0, "", "new"), "added")
		first = c.Graph(0)
		gd.Node = append(gd.Node, &nodepb.NodeDef{Name: "newer", Op: "NoOp"})
		c.Changef(Node(0, "", "newer"), "added")
		if c.Graph(0) != first {
			t.Error("a second Graph call in a pass returned another index")
		}
		again = c.Reindex(0)
		return nil
	}}
	m := modelOf(&nodepb.NodeDef{Name: "a", Op: "NoOp"})
	_, err := NewPipeline(noop("idle"), add).Run(context.Background(), m, Options{})
	require.NoError(t, err)
	assert.NotNil(t, first.Main().Node("new"))
	assert.Nil(t, first.Main().Node("newer"), "an index fetched before an edit does not see it")
	assert.NotNil(t, again.Main().Node("newer"))
}

// A pass that edits through the index but records nothing is still
// validated after it: the pipeline sees the index's generation move
// (issue 17 item 5), so the problem it left is blamed on it.
func TestRunValidatesAfterAnUnrecordedIndexEdit(t *testing.T) {
	quiet := &Pass{Name: "quiet", Doc: "adds a node with a dangling input, records nothing", Run: func(c *Context) error {
		return c.Graph(0).Main().Add(&nodepb.NodeDef{Name: "b", Op: "Identity", Input: []string{"gone"}})
	}}
	m := modelOf(&nodepb.NodeDef{Name: "a", Op: "NoOp"})
	_, err := NewPipeline(quiet, Verify).Run(context.Background(), m, Options{})
	var pe *PassError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "quiet", pe.Pass)
	assert.ErrorIs(t, err, ErrInvalidGraph)
}

// Verify checks the protos as they are even when the pass before it edited
// them behind the shared index's back and recorded nothing (issue 16
// item 3): the index is found stale and rebuilt.
func TestVerifyAfterAnUnrecordedDirectEdit(t *testing.T) {
	silent := &Pass{Name: "silent", Doc: "removes a read node from the proto", Run: func(c *Context) error {
		gd := c.MetaGraphs()[0].GraphDef
		gd.Node = gd.Node[1:]
		return nil
	}}
	m := modelOf(&nodepb.NodeDef{Name: "a", Op: "NoOp"}, &nodepb.NodeDef{Name: "b", Op: "NoOp", Input: []string{"^a"}})
	rep, err := NewPipeline(noop("idle"), silent, Verify).Run(context.Background(), m, Options{})
	require.NoError(t, err)
	var got []string
	for _, f := range rep.Findings() {
		got = append(got, f.Where.String()+": "+f.What)
	}
	assert.Contains(t, got, `meta_graph 0, node b: graph: input 0 "^a": no such node`)
}

func TestVerified(t *testing.T) {
	a, b := noop("a"), noop("b")
	for _, tc := range []struct {
		in, want []*Pass
	}{
		{nil, []*Pass{Verify}},
		{[]*Pass{a}, []*Pass{a, Verify}},
		{[]*Pass{a, Verify}, []*Pass{a, Verify}},
		{[]*Pass{Verify, a, b}, []*Pass{a, b, Verify}},
	} {
		p := NewPipeline(tc.in...)
		got := p.Verified()
		assert.Equal(t, NewPipeline(tc.want...).Names(), got.Names())
		assert.Equal(t, NewPipeline(tc.in...).Names(), p.Names(), "p is not modified")
		assert.Equal(t, NewPipeline(tc.in...).Without("verify").Names(), got.Without("verify").Names())
	}
}
