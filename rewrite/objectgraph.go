package rewrite

import (
	"errors"
	"fmt"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/savedmodel"
)

// ErrObjectInUse is wrapped by the error of an object-graph removal that
// would leave a reference the removal cannot drop: a concrete function
// bound to a removed node, or the root.
var ErrObjectInUse = errors.New("object node still referenced")

// ObjectRemap says where the nodes of an object graph (SavedObjectGraph or a
// checkpoint's TrackableObjectGraph) went after a removal: ObjectRemap[old]
// is the new id of node old, or -1 when the node was removed. Surviving
// nodes keep their relative order, so ids only shrink.
type ObjectRemap []int32

// ID returns the new id of node old and whether it survived. Ids outside
// the remap's range did not exist and do not survive.
func (r ObjectRemap) ID(old int32) (int32, bool) {
	if old < 0 || int(old) >= len(r) || r[old] < 0 {
		return -1, false
	}
	return r[old], true
}

// Removed returns the old ids of the removed nodes, ascending.
func (r ObjectRemap) Removed() []int {
	var out []int
	for id, n := range r {
		if n < 0 {
			out = append(out, id)
		}
	}
	return out
}

// Identity reports whether the remap changes nothing.
func (r ObjectRemap) Identity() bool {
	for id, n := range r {
		if int(n) != id {
			return false
		}
	}
	return true
}

// newObjectRemap numbers the n nodes that remove does not select, in order.
// The root (node 0) cannot be removed.
func newObjectRemap(n int, remove func(id int) bool) (ObjectRemap, error) {
	r := make(ObjectRemap, n)
	next := int32(0)
	for id := range n {
		if remove(id) {
			if id == 0 {
				return nil, fmt.Errorf("rewrite: object graph: removing the root node: %w", ErrObjectInUse)
			}
			r[id] = -1
			continue
		}
		r[id] = next
		next++
	}
	return r, nil
}

// RemoveSavedObjects deletes the nodes of og that remove selects and
// renumbers the others (see ObjectRemap), keeping every id-valued field
// consistent:
//
//   - children and dependencies of surviving nodes that name a removed node
//     are dropped, the others renumbered;
//   - slot_variables entries naming a removed variable, slot or optimizer
//     are dropped (the entry lives on the optimizer node);
//   - saveable_objects entries whose save or restore function was removed
//     are dropped;
//   - bound_inputs of every concrete function are renumbered; a concrete
//     function bound to a removed node is an error wrapping
//     ErrObjectInUse, since dropping the capture would change the
//     function's arguments (delete such functions from concrete_functions
//     first).
//
// On error og is unchanged. Keras metadata, which indexes the same ids,
// is remapped with RemapKerasMetadata.
func RemoveSavedObjects(og *tfpb.SavedObjectGraph, remove func(id int) bool) (ObjectRemap, error) {
	r, err := newObjectRemap(len(og.GetNodes()), remove)
	if err != nil {
		return nil, err
	}
	for name, fn := range og.GetConcreteFunctions() {
		for _, id := range fn.GetBoundInputs() {
			if _, ok := r.ID(id); !ok && int(id) < len(r) {
				return nil, fmt.Errorf("rewrite: object graph: concrete function %s is bound to removed node %d: %w", name, id, ErrObjectInUse)
			}
		}
	}
	if r.Identity() {
		return r, nil
	}
	kept := og.Nodes[:0]
	for id, obj := range og.GetNodes() {
		if r[id] < 0 {
			continue
		}
		obj.Children = remapRefs(obj.Children, r)
		obj.Dependencies = remapRefs(obj.Dependencies, r)
		obj.SlotVariables = remapSlots(obj.SlotVariables, r)
		for key, s := range obj.GetSaveableObjects() {
			save, ok1 := r.ID(s.GetSaveFunction())
			restore, ok2 := r.ID(s.GetRestoreFunction())
			if !ok1 || !ok2 {
				delete(obj.SaveableObjects, key)
				continue
			}
			s.SaveFunction, s.RestoreFunction = save, restore
		}
		kept = append(kept, obj)
	}
	clear(og.Nodes[len(kept):])
	og.Nodes = kept
	for _, fn := range og.GetConcreteFunctions() {
		for i, id := range fn.GetBoundInputs() {
			if n, ok := r.ID(id); ok {
				fn.BoundInputs[i] = n
			}
		}
	}
	return r, nil
}

// RemoveCheckpointObjects deletes the nodes of a checkpoint's
// TrackableObjectGraph that remove selects and renumbers the others:
// children naming removed nodes are dropped, slot_variables entries naming
// a removed node are dropped. The checkpoint keys of the removed nodes'
// attributes are the caller's to delete from the checkpoint plan.
func RemoveCheckpointObjects(g *tfpb.TrackableObjectGraph, remove func(id int) bool) (ObjectRemap, error) {
	r, err := newObjectRemap(len(g.GetNodes()), remove)
	if err != nil || r.Identity() {
		return r, err
	}
	kept := g.Nodes[:0]
	for id, obj := range g.GetNodes() {
		if r[id] < 0 {
			continue
		}
		obj.Children = remapRefs(obj.Children, r)
		obj.SlotVariables = remapSlots(obj.SlotVariables, r)
		kept = append(kept, obj)
	}
	clear(g.Nodes[len(kept):])
	g.Nodes = kept
	return r, nil
}

// RemapKerasMetadata renumbers the node ids of keras_metadata.pb by r and
// drops the entries of removed nodes, which it returns.
func RemapKerasMetadata(km *savedmodel.KerasMetadata, r ObjectRemap) []savedmodel.KerasObject {
	if km == nil {
		return nil
	}
	var dropped []savedmodel.KerasObject
	kept := km.Nodes[:0]
	for _, obj := range km.Nodes {
		n, ok := r.ID(obj.NodeID)
		if !ok {
			dropped = append(dropped, obj)
			continue
		}
		obj.NodeID = n
		kept = append(kept, obj)
	}
	km.Nodes = kept
	return dropped
}

func remapRefs(refs []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference, r ObjectRemap) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
	kept := refs[:0]
	for _, ref := range refs {
		if n, ok := r.ID(ref.GetNodeId()); ok {
			ref.NodeId = n
			kept = append(kept, ref)
		}
	}
	clear(refs[len(kept):])
	return kept
}

func remapSlots(slots []*tfpb.TrackableObjectGraph_TrackableObject_SlotVariableReference, r ObjectRemap) []*tfpb.TrackableObjectGraph_TrackableObject_SlotVariableReference {
	kept := slots[:0]
	for _, s := range slots {
		v, ok1 := r.ID(s.GetOriginalVariableNodeId())
		slot, ok2 := r.ID(s.GetSlotVariableNodeId())
		if ok1 && ok2 {
			s.OriginalVariableNodeId, s.SlotVariableNodeId = v, slot
			kept = append(kept, s)
		}
	}
	clear(slots[len(kept):])
	return kept
}

// objectClosure returns the nodes reachable from start through children
// and dependencies, not entering nodes that skip selects (start itself is
// always entered).
func objectClosure(refs func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference, n int, start []int, skip func(id int) bool) []bool {
	seen := make([]bool, n)
	stack := []int{}
	for _, s := range start {
		if s >= 0 && s < n && !seen[s] {
			seen[s] = true
			stack = append(stack, s)
		}
	}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, ref := range refs(id) {
			c := int(ref.GetNodeId())
			if c < 0 || c >= n || seen[c] || skip(c) {
				continue
			}
			seen[c] = true
			stack = append(stack, c)
		}
	}
	return seen
}

// savedObjectRefs returns a refs function over og for objectClosure:
// children and dependencies.
func savedObjectRefs(og *tfpb.SavedObjectGraph) func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
	return func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
		obj := og.GetNodes()[id]
		if len(obj.GetDependencies()) == 0 {
			return obj.GetChildren()
		}
		return append(append([]*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference(nil), obj.GetChildren()...), obj.GetDependencies()...)
	}
}
