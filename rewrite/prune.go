package rewrite

import (
	"maps"
	"slices"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// Prune is the pass that removes what no root of the model reaches.
//
// The roots of each MetaGraphDef are graphdef.SavedModelRoots (every
// signature tensor and the init-op signature, the saved_model_main_op and
// legacy_init_op collections, the SaverDef's filename, save and restore
// nodes, asset placeholders, and every concrete function the
// SavedObjectGraph names, which Python's loader instantiates), and, to keep
// what Python's TF1 loader and TF1 session tooling run or look up:
//
//   - the nodes of the collections table_initializer, init_op,
//     local_init_op, ready_op, ready_for_local_init_op and asset_filepaths;
//   - for every variable a root reaches that a TF1 variable collection
//     describes (a VariableDef), its initializer, snapshot and initial value:
//     import_meta_graph looks each of them up by name and fails if one is
//     missing, even though no loader runs the initializer;
//   - the nodes a SaverDef of the "savers" collection names.
//
// Main-graph nodes that no root reaches through data and control inputs
// are removed, and library functions that nothing reached calls
// (graphdef.Graph.Reachable keeps a reached function's body whole, with the
// functions it calls and its gradient). Typical removals: replica and
// partition handles a strategy left behind, duplicate variable copies of
// TF2's ShardedVariable export, the training ops of a TF1 graph (gradients,
// optimizer updates, NCCL and Horovod reductions of gradients), and
// functions traced for training.
//
// Collections are kept consistent: an entry naming a removed node is
// dropped (node_list values; bytes_list VariableDef, SaverDef,
// CondContextDef, WhileContextDef and QueueRunnerDef entries, all of whose
// name fields are checked), since import_meta_graph fails on any name it
// cannot find. Collections left empty are deleted.
//
// With Options.DropOptimizer the pass first removes training-only state
// from TF2 models: see dropOptimizer.
//
// Distribution ops off serving paths: a concrete function of the SavedObjectGraph that holds, in its body or
// in a function it calls (gradients included), an op that cannot run on
// one device is removed when no serving root reaches it
// (graphdef.ServingRoots, with the kept collections, savers and TF1
// variable companions above): Horovod* ops, TPU replication, compile and
// execute ops, an op carrying a _tpu_replicate attr, and NCCL and
// collective ops the collectives pass left (it converts those it can; in a
// pipeline without it, every NCCL and collective op counts), the same ops
// the verify pass reports. On a serving path these are the
// collectives pass's to convert or refuse, so a function that both a
// serving root and the object graph reach is left alone. Removing one
// means:
//
//   - its entry in SavedObjectGraph.concrete_functions goes, and its name
//     leaves every SavedFunction.concrete_functions list;
//   - a SavedFunction left with no concrete function, and a
//     SavedBareConcreteFunction naming it, are removed with
//     RemoveSavedObjects (children, dependencies, bound_inputs and slot
//     references renumbered) and keras_metadata.pb is remapped;
//   - the library function, and what only it called, then go as
//     unreachable functions.
//
// The change names the op that forced it, e.g. "removed function
// __inference_tpu_step_72 (object 4, tpu_step): TPUReplicateMetadata cannot
// run on one device and no signature reaches it". Python's
// tf.saved_model.load then gives the parent object no such attribute
// (calling model.tpu_step is an AttributeError), and a SavedFunction that
// kept some of its concrete functions no longer dispatches to the removed
// ones' input signatures; signatures, the TF1 loader and the C++ loader
// never used them. The checkpoint's object graph keeps its node for the
// function (it has no attributes, so restore ignores it). A function that
// a captured tensor or a saveable object's save or restore function needs,
// or that the root object (a saved function itself) would be left without,
// is kept, with a finding.
//
// A meta graph with no roots at all (no signature, init op, saver or
// object graph) is left as it is, with a finding: what its user runs is
// unknown.
//
// Last, meta_info_def.stripped_op_list keeps only the ops some node of the
// output still uses, as TensorFlow lists them for a graph it saves
// (pruneStrippedOps): a rewritten model no longer announces NcclAllReduce or
// the training step's ops.
//
// Every removed node, function and collection entry is reported.
var Prune = &Pass{
	Name: "prune",
	Doc: "Prune removes main-graph nodes and library functions that no root of the model reaches " +
		"(signatures, init op, saver, object-graph concrete functions), keeping TF1 collections " +
		"consistent; object-graph functions that hold ops needing other replicas or a TPU (Horovod, " +
		"TPU replication, unconverted collectives) and that no signature reaches are removed with their " +
		"objects (Python loaders then see no such attribute); with DropOptimizer it first drops optimizer state.",
	Run: runPrune,
}

// keepCollections are collections whose nodes the pass keeps as roots.
var keepCollections = []string{"table_initializer", "init_op", "local_init_op", "ready_op", "ready_for_local_init_op", "asset_filepaths"}

func runPrune(c *Context) error {
	if c.Options.DropOptimizer {
		if err := dropOptimizer(c); err != nil {
			return err
		}
	}
	for mg, meta := range c.MetaGraphs() {
		if meta.GetGraphDef() == nil {
			continue
		}
		if err := c.Ctx.Err(); err != nil {
			return err
		}
		if err := pruneDistribution(c, mg); err != nil {
			return err
		}
		if err := pruneGraph(c, mg); err != nil {
			return err
		}
		pruneStrippedOps(c, mg)
	}
	return nil
}

// pruneRoots returns what roots reach, with the nodes of the kept
// collections and savers of meta added and extended by the companions of
// reached TF1 variables until nothing new is reached.
func pruneRoots(g *graphdef.Graph, meta *tfpb.MetaGraphDef, roots graphdef.Roots) *graphdef.Reach {
	extra := map[string]bool{}
	add := func(name string) {
		if name = graphdef.Producer(name); name != "" && g.Main().Node(name) != nil {
			extra[name] = true
		}
	}
	cols := meta.GetCollectionDef()
	for _, key := range keepCollections {
		for _, v := range cols[key].GetNodeList().GetValue() {
			add(v)
		}
	}
	for _, b := range cols["savers"].GetBytesList().GetValue() {
		var sd tfpb.SaverDef
		if decodeCollectionEntry(b, &sd) {
			add(sd.GetFilenameTensorName())
			add(sd.GetSaveTensorName())
			add(sd.GetRestoreOpName())
		}
	}
	for {
		r := g.Reachable(withNodes(roots, extra))
		before := len(extra)
		for _, key := range slices.Sorted(maps.Keys(cols)) {
			if !isVariableCollection(key, cols[key]) {
				continue
			}
			for _, b := range cols[key].GetBytesList().GetValue() {
				vd, ok := decodeVariableDef(b)
				if !ok || !r.Node(graphdef.Location{Node: graphdef.Producer(vd.GetVariableName())}) {
					continue
				}
				add(vd.GetInitializerName())
				add(vd.GetSnapshotName())
				add(vd.GetInitialValueName())
			}
		}
		if len(extra) == before {
			return r
		}
	}
}

// withNodes returns roots with the extra main-graph nodes added.
func withNodes(roots graphdef.Roots, extra map[string]bool) graphdef.Roots {
	nodes := slices.Clone(roots.Nodes)
	for n := range extra {
		nodes = append(nodes, n)
	}
	slices.Sort(nodes)
	return graphdef.Roots{Nodes: slices.Compact(nodes), Functions: roots.Functions}
}

// pruneGraph removes what the roots of meta graph mg do not reach.
func pruneGraph(c *Context, mg int) error {
	g := c.Graph(mg)
	meta := c.MetaGraphs()[mg]
	if roots := graphdef.SavedModelRoots(meta); len(roots.Nodes) == 0 && len(roots.Functions) == 0 {
		if g.Main().Len() > 0 || len(g.Functions()) > 0 {
			c.Findf(Node(mg, "", ""), "no signature, init op, saver or object graph names anything: nothing is pruned, since what a caller runs is unknown")
		}
		return nil
	}
	r := pruneRoots(g, meta, graphdef.SavedModelRoots(meta))
	for _, miss := range r.Missing {
		c.Findf(Node(mg, miss.Function, miss.Node), "a root names something the graph lacks; kept out of pruning")
	}
	var gone []string
	for _, n := range g.Main().Nodes() {
		if !r.Node(graphdef.Location{Node: n.GetName()}) {
			gone = append(gone, n.GetName())
		}
	}
	if len(gone) > 0 {
		if err := g.Main().Remove(graphdef.DanglingError, gone...); err != nil {
			return c.Errorf(Node(mg, "", gone[0]), "removing unreachable nodes: %w", err)
		}
		for _, name := range gone {
			c.Changef(Node(mg, "", name), "removed: no root reaches it")
		}
		removed := make(map[string]bool, len(gone))
		for _, name := range gone {
			removed[name] = true
		}
		pruneCollections(c, mg, removed)
	}
	var fns []string
	for _, b := range g.Functions() {
		if !r.Function(b.Name()) {
			fns = append(fns, b.Name())
		}
	}
	if len(fns) > 0 {
		if err := g.RemoveFunctions(fns...); err != nil {
			return c.Errorf(Node(mg, fns[0], ""), "removing unreachable functions: %w", err)
		}
		for _, fn := range fns {
			c.Changef(Node(mg, fn, ""), "removed function: nothing reachable calls it")
		}
	}
	return nil
}
