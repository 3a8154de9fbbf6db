package graphdef

import (
	"slices"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// Names of SavedModel entries that hold roots (tensorflow/cc/saved_model/
// constants.h).
const (
	InitOpSignatureKey   = "__saved_model_init_op"
	MainOpCollection     = "saved_model_main_op"
	LegacyInitCollection = "legacy_init_op"
	AssetsCollection     = "saved_model_assets"
)

// Roots are the entry points of a SavedModel: main-graph nodes that a
// loader or a caller runs or feeds, and library functions that a loader
// may instantiate directly (concrete functions of the object graph).
type Roots struct {
	Nodes     []string // main-graph node names, sorted, unique
	Functions []string // library function names, sorted, unique
}

// ServingRoots returns the roots a C++/Go loader and a serving caller use:
// every tensor of every signature (inputs and outputs, including the
// __saved_model_init_op signature), the init op from the
// saved_model_main_op or legacy_init_op collections, the SaverDef's
// filename tensor, save tensor and restore op, and the asset placeholders
// of asset_file_def and the saved_model_assets collection.
func ServingRoots(mg *tfpb.MetaGraphDef) Roots {
	r := rootSet{nodes: map[string]bool{}, fns: map[string]bool{}}
	for _, sig := range mg.GetSignatureDef() {
		for _, ti := range sig.GetInputs() {
			r.tensorInfo(ti)
		}
		for _, ti := range sig.GetOutputs() {
			r.tensorInfo(ti)
		}
	}
	for _, key := range []string{MainOpCollection, LegacyInitCollection} {
		for _, s := range mg.GetCollectionDef()[key].GetNodeList().GetValue() {
			r.tensor(s)
		}
	}
	if sd := mg.GetSaverDef(); sd != nil {
		r.tensor(sd.GetFilenameTensorName())
		r.tensor(sd.GetSaveTensorName())
		r.tensor(sd.GetRestoreOpName())
	}
	for _, a := range mg.GetAssetFileDef() {
		r.tensorInfo(a.GetTensorInfo())
	}
	for _, any := range mg.GetCollectionDef()[AssetsCollection].GetAnyList().GetValue() {
		a := &tfpb.AssetFileDef{}
		if any.UnmarshalTo(a) == nil {
			r.tensorInfo(a.GetTensorInfo())
		}
	}
	return r.roots()
}

// SavedModelRoots returns ServingRoots plus every concrete function the
// SavedObjectGraph names: the keys of concrete_functions and the functions
// referenced by SavedFunction.concrete_functions and
// SavedBareConcreteFunction.concrete_function_name. Python's
// tf.saved_model.load instantiates these; the C++ loader does not.
func SavedModelRoots(mg *tfpb.MetaGraphDef) Roots {
	r := ServingRoots(mg)
	set := rootSet{nodes: map[string]bool{}, fns: map[string]bool{}}
	for _, n := range r.Nodes {
		set.nodes[n] = true
	}
	for _, f := range r.Functions {
		set.fns[f] = true
	}
	og := mg.GetObjectGraphDef()
	for name := range og.GetConcreteFunctions() {
		set.fns[name] = true
	}
	for _, obj := range og.GetNodes() {
		switch k := obj.GetKind().(type) {
		case *tfpb.SavedObject_Function:
			for _, f := range k.Function.GetConcreteFunctions() {
				set.fns[f] = true
			}
		case *tfpb.SavedObject_BareConcreteFunction:
			set.fns[k.BareConcreteFunction.GetConcreteFunctionName()] = true
		}
	}
	delete(set.fns, "")
	return set.roots()
}

type rootSet struct {
	nodes, fns map[string]bool
}

func (r rootSet) tensor(s string) {
	if p := Producer(s); p != "" {
		r.nodes[p] = true
	}
}

func (r rootSet) tensorInfo(ti *tfpb.TensorInfo) {
	if ti == nil {
		return
	}
	r.tensor(ti.GetName())
	if c := ti.GetCooSparse(); c != nil {
		r.tensor(c.GetValuesTensorName())
		r.tensor(c.GetIndicesTensorName())
		r.tensor(c.GetDenseShapeTensorName())
	}
	for _, c := range ti.GetCompositeTensor().GetComponents() {
		r.tensorInfo(c)
	}
}

func (r rootSet) roots() Roots {
	return Roots{Nodes: sortedKeys(r.nodes), Functions: sortedKeys(r.fns)}
}

// Reach is the result of a reachability query: which nodes and functions
// can run when the roots run.
type Reach struct {
	main  map[string]bool
	funcs map[string]map[string]bool // function -> reachable body nodes
	// Missing lists root or referenced names that do not exist, as
	// locations (Node "" for a missing function), sorted.
	Missing []Location
}

// Node reports whether the node at loc is reachable: in the main graph,
// from a root node through data and control inputs; in a function, the
// function is reachable and the node is one TF keeps when it instantiates
// the body (see Graph.Reachable).
func (r *Reach) Node(loc Location) bool {
	if loc.Function == "" {
		return r.main[loc.Node]
	}
	return r.funcs[loc.Function][loc.Node]
}

// Function reports whether the named function is reachable.
func (r *Reach) Function(name string) bool {
	return r.funcs[name] != nil
}

// Functions returns the reachable functions, sorted.
func (r *Reach) Functions() []string {
	var out []string
	for name, m := range r.funcs {
		if m != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Reachable computes what the roots reach. Main-graph nodes are reached
// backwards from root nodes through data and control inputs. A function is
// reached when a reached main-graph node calls it, when it is a root, when
// any node (reached or not) of a reached function calls it, or when it is
// the gradient of a reached function: for calls, function bodies count
// whole. Inside a reached function, body nodes are reached backwards from
// what TF's PruneFunctionBody keeps: ret and control_ret values and every
// node for which KeptByTF is true (stateful and control-flow ops, stateful
// function calls, unknown custom ops). The work is linear in the reached
// part of the graph.
func (g *Graph) Reachable(r Roots) *Reach {
	out := &Reach{main: map[string]bool{}, funcs: map[string]map[string]bool{}}
	var fnQueue []string
	addFn := func(name string) {
		if _, ok := out.funcs[name]; ok {
			return
		}
		if g.funcs[name] == nil {
			out.Missing = append(out.Missing, Location{Function: name})
			out.funcs[name] = nil
			return
		}
		out.funcs[name] = map[string]bool{}
		fnQueue = append(fnQueue, name)
	}
	stack := slices.Clone(r.Nodes)
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if out.main[name] {
			continue
		}
		e := g.main.nodes[name]
		if e == nil {
			out.Missing = append(out.Missing, Location{Node: name})
			continue
		}
		out.main[name] = true
		for _, f := range g.Calls(e.def) {
			addFn(f)
		}
		for _, p := range e.refs {
			if !out.main[p] {
				stack = append(stack, p)
			}
		}
	}
	for _, f := range r.Functions {
		addFn(f)
	}
	for len(fnQueue) > 0 {
		name := fnQueue[0]
		fnQueue = fnQueue[1:]
		b := g.funcs[name]
		for _, n := range b.Nodes() {
			for _, f := range g.Calls(n) {
				addFn(f)
			}
		}
		if gr := g.grads[name]; gr != "" {
			addFn(gr)
		}
		seen := out.funcs[name]
		stack = stack[:0]
		for _, v := range b.fn.GetRet() {
			stack = append(stack, Producer(v))
		}
		for _, v := range b.fn.GetControlRet() {
			stack = append(stack, v)
		}
		for _, n := range b.Nodes() {
			if g.KeptByTF(n.GetOp()) {
				stack = append(stack, n.GetName())
			}
		}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			e := b.nodes[n]
			if e == nil || seen[n] {
				continue // an argument, or already seen
			}
			seen[n] = true
			stack = append(stack, e.refs...)
		}
	}
	slices.SortFunc(out.Missing, func(a, b Location) int {
		if a.Function != b.Function {
			if a.Function < b.Function {
				return -1
			}
			return 1
		}
		if a.Node < b.Node {
			return -1
		}
		if a.Node > b.Node {
			return 1
		}
		return 0
	})
	out.Missing = slices.Compact(out.Missing)
	return out
}
