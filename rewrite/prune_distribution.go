package rewrite

import (
	"fmt"
	"maps"
	"slices"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// distributionOp says whether n cannot run on one device, and names it as
// the verify pass does: an NCCL or collective op (ops.Distribution; the collectives
// pass converts those it can, so one left is unconvertible), a Horovod or
// TPU replication op, or another op carrying a _tpu_replicate attr.
func distributionOp(n *nodepb.NodeDef) (string, bool) {
	op := n.GetOp()
	if collOp(op) {
		return op, true
	}
	if !collDistributionOp(n) {
		return "", false
	}
	if collReplicationOp(op) {
		return op, true
	}
	return "_tpu_replicate attr on " + op, true
}

// distReason is why a function cannot run on one device: the op and the
// function whose body holds it.
type distReason struct {
	op    string
	holds string
}

// distributionHolders returns, for every library function that holds a
// distribution op in its body or in the body of a function it calls
// (transitively, gradients included), the first such op. The walk is
// linear: it goes backwards over the call graph from the functions that
// hold an op themselves, in name order, so the answer does not depend on
// map order.
func distributionHolders(g *graphdef.Graph) map[string]distReason {
	held := map[string]distReason{}
	var queue []string
	for _, b := range g.Functions() {
		for _, n := range b.Nodes() {
			if op, ok := distributionOp(n); ok {
				held[b.Name()] = distReason{op: op, holds: b.Name()}
				queue = append(queue, b.Name())
				break
			}
		}
	}
	if len(queue) == 0 {
		return held
	}
	slices.Sort(queue)
	callers := map[string][]string{}
	for fn, callees := range g.CallGraph() {
		if fn == "" {
			continue
		}
		for _, callee := range callees {
			callers[callee] = append(callers[callee], fn)
		}
	}
	for len(queue) > 0 {
		fn := queue[0]
		queue = queue[1:]
		cs := callers[fn]
		slices.Sort(cs)
		for _, caller := range cs {
			if _, ok := held[caller]; !ok {
				held[caller] = held[fn]
				queue = append(queue, caller)
			}
		}
	}
	return held
}

// pruneDistribution removes from the object graph of meta graph mg every
// concrete function that holds a distribution op (see distributionOp),
// directly or through its callees, and that no root other than the object
// graph reaches; see Prune. The library functions themselves are left to
// pruneGraph, which finds them unreachable once the object graph no longer
// names them.
func pruneDistribution(c *Context, mg int) error {
	meta := c.MetaGraphs()[mg]
	og := meta.GetObjectGraphDef()
	if og == nil {
		return nil
	}
	g := c.Graph(mg)
	held := distributionHolders(g)
	if len(held) == 0 {
		return nil
	}
	named := objectFunctionUsers(og)
	serving := pruneRoots(g, meta, graphdef.ServingRoots(meta))
	paths := objectPaths(og.GetNodes(), func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
		return og.GetNodes()[id].GetChildren()
	})
	pinned := distPinned(og)
	drop := map[string]distReason{}
	for _, fn := range slices.Sorted(maps.Keys(named)) {
		why, ok := held[fn]
		if !ok || serving.Function(fn) {
			continue
		}
		if id, ok := pinned(named[fn]); ok {
			c.Findf(Node(mg, fn, ""), "%s cannot run on one device, but object %d (%s) needs the function for something other than a call (a captured tensor or a saveable's save or restore function); kept",
				why.op, id, distObjectName(paths[id]))
			continue
		}
		drop[fn] = why
	}
	distKeepRoot(c, mg, og, drop)
	for _, fn := range slices.Sorted(maps.Keys(drop)) {
		why := drop[fn]
		obj := "concrete_functions only"
		if ids := named[fn]; len(ids) > 0 {
			obj = fmt.Sprintf("object %d, %s", ids[0], distObjectName(paths[ids[0]]))
		}
		via := ""
		if why.holds != fn {
			via = " (in " + why.holds + ", which it calls)"
		}
		c.Changef(Node(mg, fn, ""), "removed function %s (%s): %s%s cannot run on one device and no signature reaches it",
			fn, obj, why.op, via)
	}
	if len(drop) == 0 {
		return nil
	}
	for fn := range drop {
		delete(og.ConcreteFunctions, fn)
	}
	gone := make([]bool, len(og.GetNodes()))
	for id, obj := range og.GetNodes() {
		switch k := obj.GetKind().(type) {
		case *tfpb.SavedObject_Function:
			before := k.Function.GetConcreteFunctions()
			kept := slices.DeleteFunc(slices.Clone(before), func(fn string) bool { _, ok := drop[fn]; return ok })
			if len(kept) == len(before) {
				continue
			}
			k.Function.ConcreteFunctions = kept
			if len(kept) == 0 {
				gone[id] = true
				continue
			}
			c.Changef(Object(mg, id), "function %s: dropped %d concrete function(s) that cannot run on one device; %d remain",
				distObjectName(paths[id]), len(before)-len(kept), len(kept))
		case *tfpb.SavedObject_BareConcreteFunction:
			_, gone[id] = drop[k.BareConcreteFunction.GetConcreteFunctionName()]
		}
	}
	if !slices.Contains(gone, true) {
		return nil
	}
	return removeObjects(c, mg, og, gone, func(id int) string {
		return fmt.Sprintf("removed object %s (%s): every concrete function it named was removed", distObjectName(paths[id]), distObjectKind(og.GetNodes()[id]))
	})
}

// distKeepRoot takes out of drop the functions whose removal would leave
// the root object (a saved tf.function or concrete function itself) with
// no concrete function: the root cannot be removed, so they stay, with a
// finding.
func distKeepRoot(c *Context, mg int, og *tfpb.SavedObjectGraph, drop map[string]distReason) {
	if len(og.GetNodes()) == 0 {
		return
	}
	root := og.GetNodes()[0]
	fns := root.GetFunction().GetConcreteFunctions()
	if name := root.GetBareConcreteFunction().GetConcreteFunctionName(); name != "" {
		fns = []string{name}
	}
	for _, fn := range fns {
		if _, ok := drop[fn]; !ok {
			return
		}
	}
	for _, fn := range fns {
		c.Findf(Node(mg, fn, ""), "%s cannot run on one device, but the root object is a function with no other concrete function; kept", drop[fn].op)
		delete(drop, fn)
	}
}

// objectFunctionUsers returns, for every concrete function the object
// graph names (concrete_functions keys, SavedFunction lists,
// SavedBareConcreteFunction and SavedCapturedTensor names), the ids of
// the objects naming it, ascending (empty for a function only the
// concrete_functions map names).
func objectFunctionUsers(og *tfpb.SavedObjectGraph) map[string][]int {
	users := map[string][]int{}
	for name := range og.GetConcreteFunctions() {
		users[name] = nil
	}
	for id, obj := range og.GetNodes() {
		for _, fn := range obj.GetFunction().GetConcreteFunctions() {
			users[fn] = append(users[fn], id)
		}
		if fn := obj.GetBareConcreteFunction().GetConcreteFunctionName(); fn != "" {
			users[fn] = append(users[fn], id)
		}
		if fn := obj.GetCapturedTensor().GetConcreteFunction(); fn != "" {
			users[fn] = append(users[fn], id)
		}
	}
	for fn, ids := range users {
		users[fn] = slices.Compact(ids)
	}
	return users
}

// distPinned returns a function that reports an object among ids that
// the removal cannot drop without changing what else the object graph
// means: a captured tensor (its value is an output of the function), or a
// function object that a saveable_objects entry uses as its save or
// restore function (the Python loader would lose the object's
// checkpointing).
func distPinned(og *tfpb.SavedObjectGraph) func(ids []int) (int, bool) {
	saveable := map[int32]bool{}
	for _, obj := range og.GetNodes() {
		for _, s := range obj.GetSaveableObjects() {
			saveable[s.GetSaveFunction()] = true
			saveable[s.GetRestoreFunction()] = true
		}
	}
	return func(ids []int) (int, bool) {
		for _, id := range ids {
			if og.GetNodes()[id].GetCapturedTensor() != nil || saveable[int32(id)] {
				return id, true
			}
		}
		return 0, false
	}
}

// distObjectName is an object's path for a message: the root has none.
func distObjectName(path string) string {
	switch path {
	case "":
		return "the root"
	case "?":
		return "not reachable from the root"
	}
	return path
}

// distObjectKind names the kind of a removed object.
func distObjectKind(obj *tfpb.SavedObject) string {
	switch obj.GetKind().(type) {
	case *tfpb.SavedObject_Function:
		return "SavedFunction"
	case *tfpb.SavedObject_BareConcreteFunction:
		return "SavedBareConcreteFunction"
	}
	return "object"
}

// removeObjects removes the objects gone selects from og with
// RemoveSavedObjects, reports each (what, called with the old id before
// the removal, says why), and for meta graph 0 remaps keras_metadata.pb.
func removeObjects(c *Context, mg int, og *tfpb.SavedObjectGraph, gone []bool, what func(id int) string) error {
	msgs := map[int]string{}
	for id, g := range gone {
		if g {
			msgs[id] = what(id)
		}
	}
	remap, err := RemoveSavedObjects(og, func(id int) bool { return gone[id] })
	if err != nil {
		return c.Errorf(Node(mg, "", ""), "%w", err)
	}
	for _, id := range remap.Removed() {
		c.Changef(Object(mg, id), "%s", msgs[id])
	}
	if mg == 0 {
		for _, k := range RemapKerasMetadata(c.Model.Keras, remap) {
			c.Changef(Object(mg, int(k.NodeID)), "dropped keras_metadata entry %s (%s)", k.NodePath, k.Identifier)
		}
		if c.Model.Keras != nil && !remap.Identity() {
			c.Changef(Object(mg, 0), "renumbered keras_metadata.pb node ids")
		}
	}
	return nil
}
