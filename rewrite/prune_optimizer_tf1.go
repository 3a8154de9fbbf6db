package rewrite

import (
	"maps"
	"regexp"
	"slices"

	"github.com/unmirror/unmirror/graphdef"
)

// applyOp matches TensorFlow's optimizer update kernels (training_ops.cc:
// ApplyAdam, ResourceApplyAdam, ResourceSparseApplyAdagradV2, ...).
var applyOp = regexp.MustCompile(`^(Resource)?(Sparse)?Apply[A-Z][A-Za-z0-9]*$`)

// dropTF1Optimizer removes the optimizer state of a TF1 graph (no object
// graph), for Options.DropOptimizer.
//
// TF1 optimizers keep their state in ordinary variables, so the pass goes
// by structure rather than names: optimizer state is a variable that an
// optimizer update op (Apply*/ResourceApply*/...SparseApply*) takes as an
// input other than the variable it updates (input 0): slots such as Adam's
// m and v, and beta1_power/beta2_power, which ApplyAdam reads as values.
// A variable some update op takes as input 0, or that a signature or the
// init op reads, is kept, as is anything no update op reads (a global step
// is incremented by AssignAdd, not read by ApplyAdam, and stays). The
// checkpoint keys the saver restores into those variables are deleted and
// the saver's slots for them dropped (the saver pass's rules); the
// variables, their initializers and update ops are then unreachable and the
// prune step removes them with their collection entries.
func dropTF1Optimizer(c *Context, mg int) error {
	g := c.Graph(mg)
	main := g.Main()
	updated := map[string]bool{}
	state := map[string]bool{}
	for _, n := range main.Nodes() {
		if !applyOp.MatchString(n.GetOp()) {
			continue
		}
		for i, in := range graphdef.DataInputs(n) {
			v := variableBehind(main, in)
			if v == "" {
				continue
			}
			if i == 0 {
				updated[v] = true
			} else {
				state[v] = true
			}
		}
	}
	if len(state) == 0 {
		return nil
	}
	sd := c.MetaGraphs()[mg].GetSaverDef()
	roots := graphdef.ServingRoots(c.MetaGraphs()[mg])
	saver := []string{graphdef.Producer(sd.GetFilenameTensorName()), graphdef.Producer(sd.GetSaveTensorName()), graphdef.Producer(sd.GetRestoreOpName())}
	roots.Nodes = slices.DeleteFunc(slices.Clone(roots.Nodes), func(n string) bool { return slices.Contains(saver, n) })
	served := g.Reachable(roots)
	keys := restoredKeys(c, mg)
	var drop []string
	for _, v := range slices.Sorted(maps.Keys(state)) {
		switch {
		case updated[v]:
			continue
		case served.Node(graphdef.Location{Node: v}):
			c.Findf(Node(mg, "", v), "DropOptimizer: optimizer variable is read by a signature or the init op; kept")
			continue
		}
		for _, key := range keys[v] {
			if _, ok := c.Model.OutputEntry(key); !ok {
				continue
			}
			if err := c.Model.DeleteVariable(key); err != nil {
				return c.Errorf(Key(key), "%w", err)
			}
			c.Changef(Key(key), "deleted optimizer state (variable %s)", v)
			drop = append(drop, key)
		}
	}
	if len(drop) == 0 {
		return nil
	}
	_, err := reconcileDropped(c, mg)
	return err
}

// variableBehind returns the variable node that main-graph input in reads,
// through Identity and ReadVariableOp, or "".
func variableBehind(b *graphdef.Body, in string) string {
	for range 8 {
		n := b.Node(graphdef.Producer(in))
		switch {
		case n == nil:
			return ""
		case isVariableOp(n.GetOp()):
			return n.GetName()
		case (n.GetOp() == "Identity" || n.GetOp() == "ReadVariableOp") && len(graphdef.DataInputs(n)) == 1:
			in = graphdef.DataInputs(n)[0]
		default:
			return ""
		}
	}
	return ""
}

// restoredKeys maps each variable of meta graph mg that the saver restores
// to the checkpoint keys restored into it.
func restoredKeys(c *Context, mg int) map[string][]string {
	out := map[string][]string{}
	ops, err := saverOps(c, mg)
	if err != nil {
		return out
	}
	for _, op := range ops {
		if !op.restore {
			continue
		}
		for i, key := range op.names {
			queue := op.body.ConsumersOf(op.output(i))
			for len(queue) > 0 {
				u := queue[0]
				queue = queue[1:]
				switch u.Node.GetOp() {
				case "AssignVariableOp", "Assign":
					v := resolveTarget(c, op.body, u.Node.GetInput()[0])
					out[v] = append(out[v], key)
				case "Identity":
					queue = append(queue, op.body.Consumers(u.Node.GetName())...)
				}
			}
		}
	}
	return out
}
