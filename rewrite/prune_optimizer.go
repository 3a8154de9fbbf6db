package rewrite

import (
	"maps"
	"slices"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// optimizerIdentifiers are the SavedUserObject identifiers of optimizers:
// tf_keras's OptimizerV2 ("optimizer", optimizers/legacy/optimizer_v2.py)
// and its newer optimizer ("experimentalOptimizer",
// "tf_keras_experimentalOptimizer", optimizers/optimizer.py).
var optimizerIdentifiers = []string{"optimizer", "experimentalOptimizer", "tf_keras_experimentalOptimizer"}

// dropOptimizer removes training-only state from every meta graph that has
// a SavedObjectGraph (TF2 models), for Options.DropOptimizer.
//
// Optimizer objects are the user objects with an optimizer identifier, the
// root's child named "optimizer" (Keras's model.optimizer), and every
// object that lists slot_variables (the optimizer side of the
// optimizer/variable/slot triangle); slot variables are the objects those
// entries name. What is removed is every object reachable from them
// (children and dependencies: iteration counts, hyper-parameters, slot
// lists) that the root does not also reach without passing through them,
// so a model variable an optimizer also tracks stays. Then:
//
//   - concrete functions that only removed objects name, or that capture a
//     removed object, leave SavedObjectGraph.concrete_functions (the prune
//     step then removes their library functions); if an object that stays
//     names such a function, the model is left as it is and a finding
//     says why;
//   - the objects are removed with RemoveSavedObjects, and keras_metadata.pb
//     is remapped (entries of removed objects are dropped);
//   - in the checkpoint's TrackableObjectGraph the same objects (matched
//     by their path of child names from the root, as TF's restore matches
//     them) and slot variables are removed, and so are the checkpoint
//     entries of their attributes;
//   - the saver's slots for the deleted keys are dropped (the saver pass's
//     rules), then reads and arguments of the save and restore functions
//     that only served them, so the main graph's handles of the removed
//     variables become unreachable and the prune step removes them.
//
// What loaders make of the result (checked on the keras_mirrored fixture):
// tf.saved_model.load and the TF1 loader serve as before. tf_keras's
// load_model (compile=True, the default) compiles the model from the
// training config in keras_metadata.pb, which creates a fresh optimizer of
// the same class: iteration 0, no slot values, so resumed training starts
// the optimizer's state over (model.fit works); with compile=False the
// model has no optimizer. Nothing warns.
//
// TF1 graphs (no object graph) are handled by dropTF1Optimizer.
func dropOptimizer(c *Context) error {
	for mg, meta := range c.MetaGraphs() {
		og := meta.GetObjectGraphDef()
		if og == nil || len(og.GetNodes()) == 0 {
			if meta.GetGraphDef() != nil && c.Model.InputCheckpoint != nil {
				if err := dropTF1Optimizer(c, mg); err != nil {
					return err
				}
			}
			continue
		}
		if err := dropOptimizerObjects(c, mg, og); err != nil {
			return err
		}
	}
	return nil
}

// optimizerCut returns the optimizer and slot-variable nodes of a graph of
// n objects whose root is node 0.
func optimizerCut(n int, children func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference, slots func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_SlotVariableReference, isOptimizer func(id int) bool) []bool {
	cut := make([]bool, n)
	for _, ch := range children(0) {
		if ch.GetLocalName() == "optimizer" && int(ch.GetNodeId()) < n && ch.GetNodeId() > 0 {
			cut[ch.GetNodeId()] = true
		}
	}
	for id := range n {
		if isOptimizer(id) {
			cut[id] = true
		}
		for _, s := range slots(id) {
			cut[id] = true
			if sid := int(s.GetSlotVariableNodeId()); sid > 0 && sid < n {
				cut[sid] = true
			}
		}
	}
	cut[0] = false
	return cut
}

// optimizerOnly returns the nodes reachable from the cut nodes that the
// root does not reach without passing through a cut node.
func optimizerOnly(n int, refs func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference, cut []bool) []bool {
	kept := objectClosure(refs, n, []int{0}, func(id int) bool { return cut[id] })
	var start []int
	for id, c := range cut {
		if c && !kept[id] {
			start = append(start, id)
		}
	}
	gone := objectClosure(refs, n, start, func(id int) bool { return kept[id] })
	return gone
}

func dropOptimizerObjects(c *Context, mg int, og *tfpb.SavedObjectGraph) error {
	n := len(og.GetNodes())
	refs := savedObjectRefs(og)
	cut := optimizerCut(n, func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
		return og.GetNodes()[id].GetChildren()
	},
		func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_SlotVariableReference {
			return og.GetNodes()[id].GetSlotVariables()
		},
		func(id int) bool {
			return slices.Contains(optimizerIdentifiers, og.GetNodes()[id].GetUserObject().GetIdentifier())
		})
	gone := optimizerOnly(n, refs, cut)
	if !slices.Contains(gone, true) {
		return nil
	}
	drop, ok := optimizerFunctions(c, mg, og, gone)
	if !ok {
		return nil
	}
	paths := objectPaths(og.GetNodes(), func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
		return og.GetNodes()[id].GetChildren()
	})
	if err := dropOptimizerCheckpoint(c, og, gone, paths); err != nil {
		return err
	}
	for _, name := range drop {
		delete(og.ConcreteFunctions, name)
		c.Changef(Node(mg, name, ""), "dropped concrete function from the object graph: only optimizer objects use it")
	}
	if err := removeObjects(c, mg, og, gone, func(id int) string { return "removed optimizer object " + paths[id] }); err != nil {
		return err
	}
	return dropOptimizerSaver(c, mg)
}

// optimizerFunctions returns the concrete functions to drop with the
// removed objects gone, or false (with a finding) when an object that
// stays uses one.
func optimizerFunctions(c *Context, mg int, og *tfpb.SavedObjectGraph, gone []bool) ([]string, bool) {
	usedBy := map[string][]int{} // function -> objects naming it
	for id, obj := range og.GetNodes() {
		for _, fn := range obj.GetFunction().GetConcreteFunctions() {
			usedBy[fn] = append(usedBy[fn], id)
		}
		if fn := obj.GetBareConcreteFunction().GetConcreteFunctionName(); fn != "" {
			usedBy[fn] = append(usedBy[fn], id)
		}
	}
	var drop []string
	for _, name := range slices.Sorted(maps.Keys(og.GetConcreteFunctions())) {
		bound := false
		for _, id := range og.GetConcreteFunctions()[name].GetBoundInputs() {
			if id >= 0 && int(id) < len(gone) && gone[id] {
				bound = true
			}
		}
		users := usedBy[name]
		allGone := len(users) > 0
		for _, id := range users {
			if !gone[id] {
				allGone = false
				if bound {
					c.Findf(Node(mg, name, ""), "DropOptimizer: concrete function captures optimizer state and object %d, which stays, uses it; optimizer state kept", id)
					return nil, false
				}
			}
		}
		if bound || allGone {
			drop = append(drop, name)
		}
	}
	return drop, true
}

// objectPaths returns, for each node, its path of child names from the
// root along the first breadth-first route ("" for the root, "?" for
// nodes the root does not reach).
func objectPaths[T any](nodes []T, children func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference) []string {
	paths := make([]string, len(nodes))
	seen := make([]bool, len(nodes))
	for i := range paths {
		paths[i] = "?"
	}
	if len(nodes) == 0 {
		return paths
	}
	paths[0], seen[0] = "", true
	queue := []int{0}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, ch := range children(id) {
			cid := int(ch.GetNodeId())
			if cid < 0 || cid >= len(nodes) || seen[cid] {
				continue
			}
			seen[cid] = true
			if paths[id] == "" {
				paths[cid] = ch.GetLocalName()
			} else {
				paths[cid] = paths[id] + "/" + ch.GetLocalName()
			}
			queue = append(queue, cid)
		}
	}
	return paths
}

// dropOptimizerCheckpoint removes the optimizer objects from the
// checkpoint's object graph and deletes their entries.
func dropOptimizerCheckpoint(c *Context, og *tfpb.SavedObjectGraph, gone []bool, paths []string) error {
	ck, err := c.Model.OutputObjectGraph()
	if err != nil {
		return c.Errorf(Key("_CHECKPOINTABLE_OBJECT_GRAPH"), "%w", err)
	}
	if ck == nil {
		return nil
	}
	n := len(ck.GetNodes())
	children := func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
		return ck.GetNodes()[id].GetChildren()
	}
	ckPaths := objectPaths(ck.GetNodes(), children)
	gonePath := map[string]bool{}
	for id, g := range gone {
		if g && paths[id] != "?" {
			gonePath[paths[id]] = true
		}
	}
	cut := optimizerCut(n, children,
		func(id int) []*tfpb.TrackableObjectGraph_TrackableObject_SlotVariableReference {
			return ck.GetNodes()[id].GetSlotVariables()
		},
		func(id int) bool { return gonePath[ckPaths[id]] })
	ckGone := optimizerOnly(n, children, cut)
	for id, g := range ckGone {
		if !g {
			continue
		}
		for _, a := range ck.GetNodes()[id].GetAttributes() {
			key := a.GetCheckpointKey()
			if _, ok := c.Model.OutputEntry(key); !ok {
				continue
			}
			if err := c.Model.DeleteVariable(key); err != nil {
				return c.Errorf(Key(key), "%w", err)
			}
			c.Changef(Key(key), "deleted optimizer state %s", ckPaths[id])
		}
	}
	if _, err := RemoveCheckpointObjects(ck, func(id int) bool { return ckGone[id] }); err != nil {
		return c.Errorf(Key("_CHECKPOINTABLE_OBJECT_GRAPH"), "%w", err)
	}
	if err := c.Model.SetOutputObjectGraph(ck); err != nil {
		return c.Errorf(Key("_CHECKPOINTABLE_OBJECT_GRAPH"), "%w", err)
	}
	c.Changef(Key("_CHECKPOINTABLE_OBJECT_GRAPH"), "removed the optimizer objects from the checkpoint's object graph")
	return nil
}

// saverDeadOps are the op types of save and restore function nodes that
// only move a variable's value; once nothing reads them they are removed.
var saverDeadOps = []string{"Identity", "ReadVariableOp", "DisableCopyOnRead"}

// dropOptimizerSaver drops the saver slots of deleted keys, then the nodes
// and arguments of the save and restore functions that only served them.
func dropOptimizerSaver(c *Context, mg int) error {
	bodies, err := reconcileDropped(c, mg)
	if err != nil || bodies == nil {
		return err
	}
	g := c.Graph(mg)
	for _, b := range g.Functions() {
		if !bodies[b] {
			continue
		}
		if err := removeDeadSaverNodes(c, mg, b); err != nil {
			return err
		}
		fd := b.FunctionDef()
		var unused []string
		for _, a := range fd.GetSignature().GetInputArg() {
			if !b.HasConsumers(a.GetName()) {
				if ret, _ := b.RetUses(a.GetName()); len(ret) == 0 {
					unused = append(unused, a.GetName())
				}
			}
		}
		for _, a := range unused {
			if err := b.RemoveArg(a); err != nil {
				return c.Errorf(Node(mg, b.Name(), a), "removing the argument of a dropped variable: %w", err)
			}
			c.Changef(Node(mg, b.Name(), a), "removed argument: it passed a dropped optimizer variable")
		}
	}
	return nil
}

// reconcileDropped applies the saver pass's rules to every saver op of
// meta graph mg after keys were deleted, and returns the function bodies
// holding saver ops (nil when the meta graph has no saver).
func reconcileDropped(c *Context, mg int) (map[*graphdef.Body]bool, error) {
	meta := c.MetaGraphs()[mg]
	if meta.GetSaverDef() == nil || meta.GetGraphDef() == nil {
		return nil, nil
	}
	ops, err := saverOps(c, mg)
	if err != nil {
		return nil, err
	}
	bodies := map[*graphdef.Body]bool{}
	for _, op := range ops {
		// reconcile reports each variable its dropped slots restored as no
		// longer restored; here that is the point, so those findings become
		// changes.
		before := len(c.report.Findings)
		if err := reconcile(c, mg, op); err != nil {
			return nil, err
		}
		for _, f := range c.report.Findings[before:] {
			c.Changef(f.Where, "%s (dropped optimizer state)", f.What)
		}
		c.report.Findings = c.report.Findings[:before]
		if op.body.IsFunction() {
			bodies[op.body] = true
		}
	}
	return bodies, nil
}

// removeDeadSaverNodes removes, repeatedly, nodes of body b whose op is in
// saverDeadOps and that nothing reads.
func removeDeadSaverNodes(c *Context, mg int, b *graphdef.Body) error {
	for {
		var dead []string
		for _, n := range b.Nodes() {
			if !slices.Contains(saverDeadOps, n.GetOp()) || b.HasConsumers(n.GetName()) {
				continue
			}
			if ret, ctl := b.RetUses(n.GetName()); len(ret) > 0 || len(ctl) > 0 {
				continue
			}
			dead = append(dead, n.GetName())
		}
		if len(dead) == 0 {
			return nil
		}
		if err := b.Remove(graphdef.DanglingError, dead...); err != nil {
			return c.Errorf(Node(mg, b.Name(), dead[0]), "%w", err)
		}
		for _, name := range dead {
			c.Changef(Node(mg, b.Name(), name), "removed: it only read a dropped optimizer variable for the saver")
		}
	}
}
