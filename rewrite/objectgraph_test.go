package rewrite

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/savedmodel"
)

type ogRef = tfpb.TrackableObjectGraph_TrackableObject_ObjectReference
type ogSlot = tfpb.TrackableObjectGraph_TrackableObject_SlotVariableReference

func ogRefs(ids ...int32) []*ogRef {
	out := make([]*ogRef, len(ids))
	for i, id := range ids {
		out[i] = &ogRef{NodeId: id, LocalName: string(rune('a' + id))}
	}
	return out
}

func ogIDs(refs []*ogRef) []int32 {
	out := []int32{}
	for _, r := range refs {
		out = append(out, r.GetNodeId())
	}
	return out
}

// ogTestGraph is a SavedObjectGraph of 6 nodes: root 0 with children 1
// (variable), 2 (optimizer), 3 (function); optimizer 2 has child 4 (slot)
// and a slot_variables entry (1, "m", 4); node 5 is a variable the root
// reaches through a dependency; node 3 has a saveable whose functions are
// nodes 3 and 5.
func ogTestGraph() *tfpb.SavedObjectGraph {
	return &tfpb.SavedObjectGraph{
		Nodes: []*tfpb.SavedObject{
			{Children: ogRefs(1, 2, 3), Dependencies: ogRefs(5)},
			{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: "v"}}},
			{Children: ogRefs(4), SlotVariables: []*ogSlot{{OriginalVariableNodeId: 1, SlotName: "m", SlotVariableNodeId: 4}}},
			{SaveableObjects: map[string]*tfpb.SaveableObject{"s": {SaveFunction: 3, RestoreFunction: 5}}},
			{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: "v/m"}}},
			{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: "w"}}},
		},
		ConcreteFunctions: map[string]*tfpb.SavedConcreteFunction{
			"f": {BoundInputs: []int32{1, 5}},
		},
	}
}

func TestRemoveSavedObjects(t *testing.T) {
	for _, tc := range []struct {
		name     string
		remove   []int
		remap    ObjectRemap
		children [][]int32 // per surviving node
		deps     []int32   // root's dependencies
		slots    int       // slot_variables entries left on the optimizer (or -1: optimizer gone)
		bound    []int32
		saveable bool
		err      bool
	}{
		{name: "nothing", remap: ObjectRemap{0, 1, 2, 3, 4, 5}, children: [][]int32{{1, 2, 3}, {}, {4}, {}, {}, {}}, deps: []int32{5}, slots: 1, bound: []int32{1, 5}, saveable: true},
		{name: "optimizer and slot", remove: []int{2, 4}, remap: ObjectRemap{0, 1, -1, 2, -1, 3}, children: [][]int32{{1, 2}, {}, {}, {}}, deps: []int32{3}, slots: -1, bound: []int32{1, 3}, saveable: true},
		{name: "slot only", remove: []int{4}, remap: ObjectRemap{0, 1, 2, 3, -1, 4}, children: [][]int32{{1, 2, 3}, {}, {}, {}, {}}, deps: []int32{4}, slots: 0, bound: []int32{1, 4}, saveable: true},
		{name: "bound variable", remove: []int{5}, err: true},
		{name: "root", remove: []int{0}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			og := ogTestGraph()
			before := rpMustMarshalNoT(og)
			r, err := RemoveSavedObjects(og, func(id int) bool {
				for _, x := range tc.remove {
					if x == id {
						return true
					}
				}
				return false
			})
			if tc.err {
				require.ErrorIs(t, err, ErrObjectInUse)
				assert.Equal(t, before, rpMustMarshalNoT(og), "unchanged on error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.remap, r)
			require.Len(t, og.Nodes, len(tc.children))
			for i, want := range tc.children {
				assert.Equal(t, want, ogIDs(og.Nodes[i].GetChildren()), "children of new node %d", i)
			}
			assert.Equal(t, tc.deps, ogIDs(og.Nodes[0].GetDependencies()))
			if tc.slots >= 0 {
				opt := og.Nodes[r[2]]
				assert.Len(t, opt.GetSlotVariables(), tc.slots)
			}
			assert.Equal(t, tc.bound, og.ConcreteFunctions["f"].GetBoundInputs())
			s := og.Nodes[r[3]].GetSaveableObjects()["s"]
			require.NotNil(t, s)
			assert.Equal(t, r[3], s.GetSaveFunction())
			assert.Equal(t, r[5], s.GetRestoreFunction())
		})
	}
}

func TestRemoveSavedObjectsDropsSaveable(t *testing.T) {
	og := ogTestGraph()
	og.ConcreteFunctions = nil
	_, err := RemoveSavedObjects(og, func(id int) bool { return id == 5 })
	require.NoError(t, err)
	assert.Empty(t, og.Nodes[3].GetSaveableObjects(), "its restore function was removed")
}

func TestRemoveCheckpointObjects(t *testing.T) {
	g := &tfpb.TrackableObjectGraph{Nodes: []*tfpb.TrackableObjectGraph_TrackableObject{
		{Children: ogRefs(1, 2)},
		{Children: ogRefs(3)},
		{Children: ogRefs(3), SlotVariables: []*ogSlot{{OriginalVariableNodeId: 3, SlotName: "m", SlotVariableNodeId: 4}}},
		{},
		{},
	}}
	r, err := RemoveCheckpointObjects(g, func(id int) bool { return id == 2 || id == 4 })
	require.NoError(t, err)
	assert.Equal(t, ObjectRemap{0, 1, -1, 2, -1}, r)
	assert.Equal(t, []int{2, 4}, r.Removed())
	require.Len(t, g.Nodes, 3)
	assert.Equal(t, []int32{1}, ogIDs(g.Nodes[0].GetChildren()))
	assert.Equal(t, []int32{2}, ogIDs(g.Nodes[1].GetChildren()))
}

func TestRemapKerasMetadata(t *testing.T) {
	km := &savedmodel.KerasMetadata{Nodes: []savedmodel.KerasObject{
		{NodeID: 0, NodePath: "root"},
		{NodeID: 2, NodePath: "root.optimizer"},
		{NodeID: 3, NodePath: "root.layer-0"},
		{NodeID: 9, NodePath: "root.beyond"},
	}}
	dropped := RemapKerasMetadata(km, ObjectRemap{0, 1, -1, 2})
	assert.Equal(t, []savedmodel.KerasObject{{NodeID: 0, NodePath: "root"}, {NodeID: 2, NodePath: "root.layer-0"}}, km.Nodes)
	require.Len(t, dropped, 2)
	assert.Equal(t, "root.optimizer", dropped[0].NodePath)
	assert.Nil(t, RemapKerasMetadata(nil, ObjectRemap{0}))
}

func TestObjectRemapID(t *testing.T) {
	r := ObjectRemap{0, -1, 1}
	for _, tc := range []struct {
		old  int32
		id   int32
		live bool
	}{{0, 0, true}, {1, -1, false}, {2, 1, true}, {3, -1, false}, {-1, -1, false}} {
		id, ok := r.ID(tc.old)
		assert.Equal(t, tc.id, id, "id of %d", tc.old)
		assert.Equal(t, tc.live, ok, "survival of %d", tc.old)
	}
	assert.False(t, r.Identity())
	assert.True(t, ObjectRemap{0, 1}.Identity())
}

func TestOptimizerOnly(t *testing.T) {
	og := ogTestGraph()
	// The optimizer (2) also tracks variable 1 and 5; they stay because the
	// root reaches them without it.
	og.Nodes[2].Children = ogRefs(4, 1, 5)
	n := len(og.Nodes)
	cut := optimizerCut(n, func(id int) []*ogRef { return og.Nodes[id].GetChildren() },
		func(id int) []*ogSlot { return og.Nodes[id].GetSlotVariables() },
		func(int) bool { return false })
	assert.Equal(t, []bool{false, false, true, false, true, false}, cut)
	gone := optimizerOnly(n, savedObjectRefs(og), cut)
	assert.Equal(t, []bool{false, false, true, false, true, false}, gone)
}

// ExampleRemoveSavedObjects removes an optimizer and its slot from an
// object graph and renumbers Keras metadata to match.
func ExampleRemoveSavedObjects() {
	og := &tfpb.SavedObjectGraph{Nodes: []*tfpb.SavedObject{
		{Children: []*ogRef{{NodeId: 1, LocalName: "kernel"}, {NodeId: 2, LocalName: "optimizer"}, {NodeId: 4, LocalName: "bias"}}},
		{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: "kernel"}}},
		{Children: []*ogRef{{NodeId: 3, LocalName: "m"}}, SlotVariables: []*ogSlot{{OriginalVariableNodeId: 1, SlotName: "m", SlotVariableNodeId: 3}}},
		{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: "kernel/m"}}},
		{Kind: &tfpb.SavedObject_Variable{Variable: &tfpb.SavedVariable{Name: "bias"}}},
	}}
	km := &savedmodel.KerasMetadata{Nodes: []savedmodel.KerasObject{{NodeID: 0, NodePath: "root"}, {NodeID: 4, NodePath: "root.bias"}}}
	remap, err := RemoveSavedObjects(og, func(id int) bool { return id == 2 || id == 3 })
	if err != nil {
		panic(err)
	}
	RemapKerasMetadata(km, remap)
	fmt.Println("remap:", remap)
	for _, ch := range og.Nodes[0].Children {
		fmt.Println(ch.LocalName, "->", ch.NodeId)
	}
	fmt.Println(km.Nodes[1].NodePath, "->", km.Nodes[1].NodeID)
	// Output:
	// remap: [0 1 -1 -1 2]
	// kernel -> 1
	// bias -> 2
	// root.bias -> 2
}
