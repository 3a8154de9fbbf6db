package rewrite

// RetargetSaver makes every slot of every saver op (SaveV2 and RestoreV2 of
// the SaverDef's saver, in the main graph and in the save and restore
// functions, in every meta graph) that names checkpoint key from name key
// to instead. When spec is not nil, the slot's shape_and_slices entry
// becomes *spec ("" reads or writes the full tensor; "d0 d1 ... <slice>"
// reads a slice, as TF's saved_tensor_slice_util writes it). It records one
// change per slot and returns how many slots it changed.
//
// Passes that rename or create checkpoint keys (the shards pass) call it
// after editing the plan, so that the saver pass, which runs later and
// fails on keys the plan lacks, finds the saver in step.
func RetargetSaver(c *Context, from, to string, spec *string) (int, error) {
	count := 0
	for mg, meta := range c.MetaGraphs() {
		if meta.GetSaverDef() == nil || meta.GetGraphDef() == nil {
			continue
		}
		ops, err := saverOps(c, mg)
		if err != nil {
			return count, err
		}
		for _, op := range ops {
			changed := false
			for i, key := range op.names {
				if key != from {
					continue
				}
				if !consumersOnce(op.body, op.namesC, op.node) || !consumersOnce(op.body, op.specsC, op.node) {
					return count, c.Errorf(Node(mg, op.body.Name(), op.node.GetName()), "its Consts are shared with other nodes; refusing to edit them in place")
				}
				op.names[i] = to
				if spec != nil {
					op.specs[i] = *spec
				}
				changed = true
				count++
				c.Changef(Node(mg, op.body.Name(), op.node.GetName()), "slot %d now names key %q instead of %q", i, to, from)
			}
			if changed {
				setConstStrings(op.namesC, op.names)
				setConstStrings(op.specsC, op.specs)
			}
		}
	}
	return count, nil
}
