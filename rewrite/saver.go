package rewrite

import (
	"slices"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// Saver makes the model's saver restore exactly what the rewritten
// checkpoint plan holds, and nothing the graph no longer has.
//
// The saver is found through the SaverDef of each MetaGraphDef: in a TF1
// graph, the SaveV2 and RestoreV2 nodes of the main graph under the name
// scope of restore_op_name ("save/"); in a TF2 SavedModel, those of the
// functions that the restore_op_name and save_tensor_name call nodes call
// (__inference__traced_restore_N, __inference__traced_save_N).
//
// For every slot (checkpoint key) of those ops:
//
//   - a key the output checkpoint plan holds stays; a RestoreV2 slot must
//     then ask for the dtype the plan's entry has, else the pass fails (TF
//     would fail at load with "expected dtype ... does not equal original
//     dtype");
//   - a key that the input checkpoint held and an earlier pass deleted (the
//     replicas pass deletes TF1 tower replica entries) is dropped: its entry
//     in the tensor_names and shape_and_slices Consts and the dtypes attr;
//     for SaveV2 its data input; for RestoreV2 the nodes its output feeds
//     (the Identity and Assign/AssignVariableOp that restore the variable,
//     which must be all it feeds), and later outputs' consumers are
//     renumbered. If the variable that slot restored is not restored by any
//     other slot, that is reported as a finding;
//   - any other key is an error: TF would fail with "Key ... not found in
//     checkpoint".
//
// A RestoreV2 left with no slot is removed with its Consts. A SaveV2 shard
// left with no slot is removed with its ShardedFilename, and its file name
// is taken out of the Pack that feeds MergeV2Checkpoints, so the remaining
// shards still merge.
//
// Sharding itself is kept. TensorFlow's own single-device savers are
// sharded the same way (a TF2 SavedModel saved on one CPU has one SaveV2 for
// the variables and one for the object graph, merged by MergeV2Checkpoints;
// a TF1 Saver(sharded=True) has one shard per device string), and every
// RestoreV2 reads the merged prefix, so once the devices pass has pinned
// every shard to one device the structure runs in one process as it is.
//
// Finally each SaverDef is checked: filename_tensor_name, save_tensor_name
// and restore_op_name must name main-graph nodes.
//
// Other passes that rename checkpoint keys keep the saver in step with
// RetargetSaver.
var Saver = &Pass{
	Name: "saver",
	Doc:  "Saver makes the saver's SaveV2/RestoreV2 ops read and write exactly the keys of the output checkpoint, with their dtypes.",
	Run:  runSaver,
}

func runSaver(c *Context) error {
	for mg, meta := range c.MetaGraphs() {
		sd := meta.GetSaverDef()
		if sd == nil || meta.GetGraphDef() == nil {
			continue
		}
		if err := checkSaverDef(c, mg); err != nil {
			return err
		}
		ops, err := saverOps(c, mg)
		if err != nil {
			return err
		}
		if c.Model.InputCheckpoint == nil && len(c.Model.OutputKeys()) == 0 {
			continue // the loader restores nothing
		}
		for _, op := range ops {
			if err := c.Ctx.Err(); err != nil {
				return err
			}
			if err := reconcile(c, mg, op); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSaverDef checks that the SaverDef of meta graph mg names nodes of
// the main graph.
func checkSaverDef(c *Context, mg int) error {
	sd := c.MetaGraphs()[mg].GetSaverDef()
	main := c.Graph(mg).Main()
	for _, f := range []struct{ field, name string }{
		{"filename_tensor_name", sd.GetFilenameTensorName()},
		{"save_tensor_name", sd.GetSaveTensorName()},
		{"restore_op_name", sd.GetRestoreOpName()},
	} {
		if f.name == "" {
			continue
		}
		if main.Node(graphdef.Producer(f.name)) == nil {
			return c.Errorf(Node(mg, "", graphdef.Producer(f.name)), "SaverDef.%s %q names no node of the main graph", f.field, f.name)
		}
	}
	return nil
}

// saverOps returns the SaveV2 and RestoreV2 ops of the saver of meta graph
// mg, restores first.
func saverOps(c *Context, mg int) ([]*saverOp, error) {
	g := c.Graph(mg)
	sd := c.MetaGraphs()[mg].GetSaverDef()
	bodies := map[*graphdef.Body]bool{}
	scope := ""
	for _, name := range []string{sd.GetRestoreOpName(), graphdef.Producer(sd.GetSaveTensorName())} {
		n := g.Main().Node(name)
		if n == nil {
			continue
		}
		for _, fn := range g.Calls(n) {
			if b := g.Function(fn); b != nil {
				bodies[b] = true
			}
		}
	}
	if i := strings.IndexByte(sd.GetRestoreOpName(), '/'); i > 0 {
		scope = sd.GetRestoreOpName()[:i+1]
	}
	var out []*saverOp
	for _, opType := range []string{"RestoreV2", "SaveV2"} {
		for _, ref := range g.Ops(opType) {
			in := bodies[ref.Body] || (!ref.Body.IsFunction() && scope != "" && strings.HasPrefix(ref.Node.GetName(), scope))
			if !in {
				continue
			}
			op, err := loadSaverOp(ref.Body, ref.Node)
			if err != nil {
				return nil, c.Errorf(Node(mg, ref.Body.Name(), ref.Node.GetName()), "%w", err)
			}
			out = append(out, op)
		}
	}
	return out, nil
}

// reconcile applies the slot rules of the pass to one saver op.
func reconcile(c *Context, mg int, op *saverOp) error {
	where := Node(mg, op.body.Name(), op.node.GetName())
	var drop []int
	for i, key := range op.names {
		e, ok := c.Model.OutputEntry(key)
		if ok {
			if want := op.dtypes()[i]; op.restore && e.GetDtype() != want {
				return c.Errorf(where, "restores key %q as %v but the checkpoint holds %v", key, want, e.GetDtype())
			}
			continue
		}
		if c.Model.InputCheckpoint != nil {
			if _, was := c.Model.InputCheckpoint.Entry(key); was {
				drop = append(drop, i)
				continue
			}
		}
		verb := "saves"
		if op.restore {
			verb = "restores"
		}
		return c.Errorf(where, "%s key %q, which the output checkpoint does not hold", verb, key)
	}
	if len(drop) == 0 {
		return nil
	}
	if op.restore {
		if err := dropRestoreConsumers(c, mg, op, drop); err != nil {
			return err
		}
	}
	dropped := op.names
	if _, err := op.keep(func(i int) bool { return !slices.Contains(drop, i) }); err != nil {
		return c.Errorf(where, "%w", err)
	}
	for _, i := range drop {
		c.Changef(where, "dropped slot %d (key %q, deleted from the checkpoint)", i, dropped[i])
	}
	if len(op.names) == 0 {
		return removeEmptySaverOp(c, mg, op)
	}
	return nil
}

// restoreSinks are the op types a restored tensor may flow through on its
// way into its variable.
var restoreSinks = []string{"Identity", "Assign", "AssignVariableOp", "Cast", "Reshape"}

// dropRestoreConsumers removes the nodes that the dropped outputs of a
// RestoreV2 feed, and reports variables no other slot restores any more.
func dropRestoreConsumers(c *Context, mg int, op *saverOp, drop []int) error {
	b := op.body
	where := Node(mg, b.Name(), op.node.GetName())
	gone := map[string]bool{}
	var order []string
	var targets []string
	uses := op.outputUses()
	dataUsers := dataConsumers(b)
	for _, i := range drop {
		queue := []*nodepb.NodeDef{}
		for _, u := range uses[i] {
			if u.node == nil {
				return c.Errorf(where, "the restored value of key %q is returned by the function (ret %s)", op.names[i], u.key)
			}
			queue = append(queue, u.node)
		}
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if gone[n.GetName()] {
				continue
			}
			if !slices.Contains(restoreSinks, n.GetOp()) {
				return c.Errorf(where, "the restored value of key %q flows into %s (%s), not only into a variable assignment", op.names[i], n.GetName(), n.GetOp())
			}
			gone[n.GetName()] = true
			order = append(order, n.GetName())
			if n.GetOp() == "Assign" || n.GetOp() == "AssignVariableOp" {
				targets = append(targets, n.GetInput()[0])
			}
			queue = append(queue, dataUsers[n.GetName()]...)
		}
	}
	if err := b.Remove(graphdef.DanglingDropControl, order...); err != nil {
		return c.Errorf(where, "removing the restore of deleted keys: %w", err)
	}
	for _, name := range order {
		c.Changef(Node(mg, b.Name(), name), "removed: it restored a key deleted from the checkpoint")
	}
	still := restoredTargets(c, b)
	resolve := targetResolver(b)
	for _, t := range targets {
		if v := resolve(t); !still[v] {
			c.Notef(Node(mg, b.Name(), graphdef.Producer(t)), "variable %s is no longer restored by the saver (the verify pass reports it if a signature still reads it)", v)
		}
	}
	return nil
}

// dataConsumers maps each name of body b to the nodes that read it through
// a data input, once per such input, in node name and input order (the
// order of b.Consumers). Built in one pass over the body: asking
// b.Consumers for every dropped node scanned the inputs of a restore
// function's final NoOp, which reads every assignment, once per
// assignment.
func dataConsumers(b *graphdef.Body) map[string][]*nodepb.NodeDef {
	out := map[string][]*nodepb.NodeDef{}
	nodes := slices.Clone(b.Nodes())
	slices.SortStableFunc(nodes, func(x, y *nodepb.NodeDef) int { return strings.Compare(x.GetName(), y.GetName()) })
	for _, n := range nodes {
		for _, in := range n.GetInput() {
			if !strings.HasPrefix(in, "^") {
				p := graphdef.Producer(in)
				out[p] = append(out[p], n)
			}
		}
	}
	return out
}

// restoredTargets returns the variables that the Assign and
// AssignVariableOp nodes of body b still write, resolved to main-graph nodes
// where possible.
func restoredTargets(c *Context, b *graphdef.Body) map[string]bool {
	resolve := targetResolver(b)
	out := map[string]bool{}
	for _, n := range b.Nodes() {
		if (n.GetOp() == "Assign" || n.GetOp() == "AssignVariableOp") && len(n.GetInput()) > 0 {
			out[resolve(n.GetInput()[0])] = true
		}
	}
	return out
}

// resolveTarget is targetResolver(b)(ref); it costs the caller's input
// count, so resolve many references with one targetResolver.
func resolveTarget(c *Context, b *graphdef.Body, ref string) string {
	return targetResolver(b)(ref)
}

// targetResolver returns a function giving the node a variable reference in
// body b stands for: in the main graph the node itself; in a function, for
// an argument, the main-graph node that the function's first main-graph
// caller passes; otherwise "function::name".
func targetResolver(b *graphdef.Body) func(ref string) string {
	var passed []string
	if b.IsFunction() {
		for _, call := range b.Graph().Callers(b.Name()) {
			if !call.Body.IsFunction() {
				passed = graphdef.DataInputs(call.Node)
				break
			}
		}
	}
	return func(ref string) string {
		name := graphdef.Producer(ref)
		if !b.IsFunction() {
			return name
		}
		if pos, ok := b.Arg(name); ok && pos < len(passed) {
			return graphdef.Producer(passed[pos])
		}
		return b.Name() + "::" + name
	}
}

// removeEmptySaverOp removes a SaveV2 or RestoreV2 with no slots left, with
// its Consts; for a SaveV2 shard also its file name in the merge.
func removeEmptySaverOp(c *Context, mg int, op *saverOp) error {
	b := op.body
	where := Node(mg, b.Name(), op.node.GetName())
	var shard *nodepb.NodeDef
	if !op.restore {
		if in, err := b.ParseInput(op.node.GetInput()[0]); err == nil {
			if n := b.Node(in.Node); n != nil && n.GetOp() == "ShardedFilename" {
				shard = n
			}
		}
		if shard == nil {
			c.Notef(where, "SaveV2 saves nothing now; it is not a shard of a sharded saver, so it stays")
			return nil
		}
	}
	names := []string{op.node.GetName(), op.namesC.GetName(), op.specsC.GetName()}
	if err := b.Remove(graphdef.DanglingDropControl, names...); err != nil {
		return c.Errorf(where, "removing the empty %s: %w", op.node.GetOp(), err)
	}
	c.Changef(where, "removed the %s, which had no key left, with its Consts", op.node.GetOp())
	if shard != nil {
		return removeShard(c, mg, b, shard)
	}
	return nil
}

// removeShard takes the file name made by ShardedFilename node shard out of
// the merge: it drops that input of every Pack reading it, then removes the
// ShardedFilename and the Identity nodes that only forward it.
func removeShard(c *Context, mg int, b *graphdef.Body, shard *nodepb.NodeDef) error {
	name := shard.GetName()
	where := Node(mg, b.Name(), name)
	remove := []string{name}
	var consts []string
	for _, s := range shard.GetInput() {
		if in, err := b.ParseInput(s); err == nil && !in.Control {
			if n := b.Node(in.Node); n != nil && n.GetOp() == "Const" && len(b.Consumers(n.GetName())) == 1 {
				consts = append(consts, n.GetName())
			}
		}
	}
	for _, u := range b.Consumers(name) {
		switch {
		case u.Input.Control:
		case u.Node.GetOp() == "Pack":
			p := u.Node
			p.Input = slices.Delete(slices.Clone(p.Input), u.Slot, u.Slot+1)
			if a := p.GetAttr()["N"]; a != nil {
				a.Value = &attrpb.AttrValue_I{I: a.GetI() - 1}
			}
			if os := p.GetAttr()["_output_shapes"].GetList().GetShape(); len(os) == 1 && len(os[0].GetDim()) == 1 {
				os[0].GetDim()[0].Size--
			}
			if err := b.Update(p.GetName()); err != nil {
				return c.Errorf(where, "%w", err)
			}
			c.Changef(Node(mg, b.Name(), p.GetName()), "no longer merges the removed shard %s", name)
		case u.Node.GetOp() == "Identity":
			remove = append(remove, u.Node.GetName())
		default:
			return c.Errorf(where, "the removed shard's file name also feeds %s (%s)", u.Node.GetName(), u.Node.GetOp())
		}
	}
	for _, n := range remove[1:] {
		for _, u := range b.Consumers(n) {
			if !u.Input.Control {
				return c.Errorf(where, "the removed shard's file name flows on through %s into %s", n, u.Node.GetName())
			}
		}
	}
	remove = append(remove, consts...)
	if err := b.Remove(graphdef.DanglingDropControl, remove...); err != nil {
		return c.Errorf(where, "removing shard %s: %w", name, err)
	}
	c.Changef(where, "removed shard %s (nothing left to save in it)", strings.Join(remove, ", "))
	return nil
}
