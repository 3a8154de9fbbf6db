package rewrite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/ops"
	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Verify is the pass that checks, without editing anything, that the model
// is strategy-free for the target. It records a finding for each of:
//
//   - a device name the device policy would change and TensorFlow could not
//     place, in any node of the main graph or of a function, in a
//     SavedVariable, a variable component or a SavedResource, and a call
//     node's config_proto that still filters devices or names a cluster,
//     all from the plan the devices pass applies, so that verify reports
//     only what that pass would change;
//   - an NCCL, collective, Horovod or TPU replication op, or a node with a
//     _tpu_replicate attr, in a main-graph node reachable from the model's
//     roots (graphdef.SavedModelRoots, which include every concrete function
//     Python's loader instantiates) or anywhere in a reachable function (TF
//     instantiates function bodies whole, so an op without a kernel fails
//     even if no output needs it);
//   - a checkpoint mismatch on the restore path: starting from
//     SaverDef.restore_op_name, every RestoreV2 node (in the main graph or
//     in the restore function it calls) must name keys the planned
//     checkpoint holds, with the dtypes of its dtypes attr, and each restored
//     tensor assigned to a variable must match the variable's dtype and
//     shape (a sliced restore compares the spec's full shape with the
//     checkpoint entry's);
//   - a variable handle (VarHandleOp, VariableV2, ...) of the main graph that
//     a signature reads but neither the restore op nor the init op assigns:
//     TensorFlow would fail at run time with "Could not find variable";
//   - every problem graphdef.Validate reports (dangling inputs, missing
//     functions, ...);
//   - object graph inconsistencies: children, dependencies and bound_inputs
//     naming node ids out of range, concrete functions missing from the
//     library, and keras_metadata.pb node ids out of range.
//
// Every finding has its category in Kind (FindingDevice, ...), and its text
// starts with it: "device:", "distribution op:", "checkpoint:", "graph:" or
// "object graph:". Device findings about one device name also carry it in
// Device.
//
// [Check] runs the same checks on a model outside a pipeline.
var Verify = &Pass{
	Name: "verify",
	Doc: "Verify reports (and never edits) what keeps the model from being strategy-free: devices " +
		"outside the target, communication and TPU ops reachable from the roots, checkpoint and restore " +
		"mismatches, unresolved inputs and functions, and object graph ids out of range.",
	Run: func(c *Context) error {
		return verifyModel(c.Ctx, c.Model, c.Options, c.checkedGraph, c.Find)
	},
}

// Check runs the verify pass's checks on m for the options' target and
// returns the findings, in the order the pass would record them. It does not
// edit m. It is how the CLI's "unmirror verify" inspects a model.
func Check(m *savedmodel.Model, opts Options) []Finding {
	// A Context of no pipeline: it indexes each graph on first use.
	c := &Context{Ctx: context.Background(), Model: m, Options: opts, report: &PassReport{}, graphs: map[int]*graphdef.Graph{}}
	_ = verifyModel(c.Ctx, m, opts, c.checkedGraph, c.Find)
	return c.report.Findings
}

// verifyModel checks m; graph returns the index of a meta graph and its
// Validate result, both true to the protos as they are.
func verifyModel(ctx context.Context, m *savedmodel.Model, opts Options, graph func(int) (*graphdef.Graph, error), find func(Finding)) error {
	pol := opts.DevicePolicy()
	// kind returns a find function for one category of findings.
	kind := func(k string) verifyFindFunc {
		return func(w Where, format string, args ...any) {
			find(Finding{Where: w, Kind: k, What: k + ": " + fmt.Sprintf(format, args...)})
		}
	}
	for mg, meta := range m.Proto.GetMetaGraphs() {
		if meta.GetGraphDef() == nil {
			continue
		}
		g, verr := graph(mg)
		if err := deviceProblems(ctx, mg, meta, g, pol, func(w Where, dev, what string) {
			find(Finding{Where: w, Kind: FindingDevice, Device: dev, What: FindingDevice + ": " + what})
		}); err != nil {
			return err
		}
		checkDistributionOps(mg, meta, g, kind(FindingDistributionOp))
		checkRestore(m, mg, meta, g, kind(FindingCheckpoint))
		checkTables(mg, meta, g, kind(FindingCheckpoint))
		var ve *graphdef.ValidationError
		if errors.As(verr, &ve) {
			graph := kind(FindingGraph)
			for _, p := range ve.Problems {
				graph(Node(mg, p.Function, p.Node), "%s", p.Msg)
			}
		}
		checkObjectGraph(m, mg, meta, g, kind(FindingObjectGraph))
	}
	return nil
}

type verifyFindFunc func(w Where, format string, args ...any)

func checkDistributionOps(mg int, meta *tfpb.MetaGraphDef, g *graphdef.Graph, f verifyFindFunc) {
	reach := g.Reachable(graphdef.SavedModelRoots(meta))
	for _, b := range g.Bodies() {
		if b.IsFunction() && !reach.Function(b.Name()) {
			continue
		}
		for _, n := range b.Nodes() {
			coll := collOp(n.GetOp())
			if !coll && !collDistributionOp(n) {
				continue
			}
			if !b.IsFunction() && !reach.Node(graphdef.Location{Node: n.GetName()}) {
				continue
			}
			what := n.GetOp()
			if !coll && !collReplicationOp(n.GetOp()) {
				what = "_tpu_replicate attr on " + n.GetOp()
			}
			f(Node(mg, b.Name(), n.GetName()), "%s is reachable from the model's roots: it needs other replicas or a TPU", what)
		}
	}
}

// verifyAssignOps write a restored value to a variable: input 0 is the variable,
// input 1 the value.
var verifyAssignOps = map[string]bool{"AssignVariableOp": true, "Assign": true}

func checkRestore(m *savedmodel.Model, mg int, meta *tfpb.MetaGraphDef, g *graphdef.Graph, f verifyFindFunc) {
	sd := meta.GetSaverDef()
	restore := graphdef.Producer(sd.GetRestoreOpName())
	restored := map[string]bool{}
	if restore != "" {
		if g.Main().Node(restore) == nil {
			f(Where{MetaGraph: mg}, "saver_def.restore_op_name %q names no node of the main graph", sd.GetRestoreOpName())
		} else {
			reach := g.Reachable(graphdef.Roots{Nodes: []string{restore}})
			verifyForReached(g, reach, func(b *graphdef.Body, n *nodepb.NodeDef) {
				if n.GetOp() == "RestoreV2" {
					checkRestoreV2(m, mg, g, reach, b, n, restored, f)
				}
			})
		}
	}
	// Variables the init op assigns are initialised, not restored.
	initRoots := verifyInitRoots(meta)
	initialised := map[string]bool{}
	if len(initRoots.Nodes) > 0 {
		reach := g.Reachable(initRoots)
		verifyForReached(g, reach, func(b *graphdef.Body, n *nodepb.NodeDef) {
			if verifyAssignOps[n.GetOp()] {
				if d := graphdef.DataInputs(n); len(d) > 0 {
					for _, v := range verifyResolveHandle(g, reach, b, d[0]) {
						initialised[v] = true
					}
				}
			}
		})
	}
	sigReach := g.Reachable(verifySignatureRoots(meta))
	for _, n := range g.Main().Nodes() {
		if !devHandleOps[n.GetOp()] || !sigReach.Node(graphdef.Location{Node: n.GetName()}) {
			continue
		}
		if restored[n.GetName()] || initialised[n.GetName()] {
			continue
		}
		f(Node(mg, "", n.GetName()), "variable %s (%s) is read by a signature but neither the restore op nor the init op assigns it: TensorFlow fails with \"Could not find variable\"",
			n.GetName(), n.GetOp())
	}
}

// verifyForReached calls fn for every reached main-graph node and every node of a
// reached function.
func verifyForReached(g *graphdef.Graph, reach *graphdef.Reach, fn func(*graphdef.Body, *nodepb.NodeDef)) {
	for _, b := range g.Bodies() {
		if b.IsFunction() && !reach.Function(b.Name()) {
			continue
		}
		for _, n := range b.Nodes() {
			if b.IsFunction() || reach.Node(graphdef.Location{Node: n.GetName()}) {
				fn(b, n)
			}
		}
	}
}

func checkRestoreV2(m *savedmodel.Model, mg int, g *graphdef.Graph, reach *graphdef.Reach, b *graphdef.Body, n *nodepb.NodeDef, restored map[string]bool, f verifyFindFunc) {
	w := Node(mg, b.Name(), n.GetName())
	data := graphdef.DataInputs(n)
	if len(data) < 3 {
		f(w, "RestoreV2 has %d data inputs, want 3", len(data))
		return
	}
	names, ok1 := verifyConstStrings(b, n, 1)
	specs, ok2 := verifyConstStrings(b, n, 2)
	if !ok1 || !ok2 {
		f(w, "RestoreV2 tensor_names or shape_and_slices is not a Const string list")
		return
	}
	dtypes := n.GetAttr()["dtypes"].GetList().GetType()
	if len(names) != len(specs) || len(names) != len(dtypes) {
		f(w, "RestoreV2 has %d tensor_names, %d shape_and_slices and %d dtypes", len(names), len(specs), len(dtypes))
		return
	}
	outputs := verifyRestoreOutputs(b, n)
	for i, key := range names {
		e, ok := m.OutputEntry(key)
		if !ok {
			f(w, "restores key %q, which the checkpoint lacks (TensorFlow: \"Key %s not found in checkpoint\")", key, key)
			continue
		}
		want := e.GetShape()
		dtypeOK := e.GetDtype() == dtypes[i]
		if !dtypeOK {
			f(w, "restores key %q as %s, but the checkpoint holds %s", key, dtypes[i], e.GetDtype())
			want = nil
		} else if specs[i] != "" {
			full, err := verifySliceFullShape(specs[i])
			if err != nil {
				f(w, "key %q: shape_and_slices %q: %v", key, specs[i], err)
				continue
			}
			if !verifySameShape(full, want) {
				f(w, "key %q: shape_and_slices %q has full shape %v, the checkpoint holds %v", key, specs[i], full, verifyDims(want))
			}
			want = nil // the assigned value is a slice; its shape is checked by TF
		}
		if part := specSlice(specs[i]); dtypeOK && !bundle.TensorFlowReadsSlice(e, part) {
			if part == "" {
				part = "the whole tensor"
			}
			f(w, "restores %s of key %q (%v, %d slices in the checkpoint), which TensorFlow must copy out of other stored slices, and it copies none of dtype %v (TensorFlow: \"Dtype %s not supported\")",
				part, key, e.GetDtype(), len(e.GetSlices()), e.GetDtype(), dtypeName(e.GetDtype()))
		}
		for _, v := range outputs[i] {
			for _, varName := range verifyResolveHandle(g, reach, v.b, v.handle) {
				restored[varName] = true
				vn := g.Main().Node(varName)
				if !dtypeOK {
					continue
				}
				if dt := vn.GetAttr()["dtype"].GetType(); dt != typespb.DataType_DT_INVALID && verifyBaseType(dt) != verifyBaseType(e.GetDtype()) {
					f(Node(mg, "", varName), "variable %s is %s, but checkpoint key %q holds %s", varName, dt, key, e.GetDtype())
				}
				if want != nil {
					if s := vn.GetAttr()["shape"].GetShape(); s != nil && !s.GetUnknownRank() && !verifySameShape(verifyDims(s), want) {
						f(Node(mg, "", varName), "variable %s has shape %v, but checkpoint key %q holds %v", varName, verifyDims(s), key, verifyDims(want))
					}
				}
			}
		}
	}
}

// verifyBaseType maps a reference dtype (DT_FLOAT_REF, of TF1 variables) to its
// value type.
func verifyBaseType(t typespb.DataType) typespb.DataType {
	if t > 100 {
		return t - 100
	}
	return t
}

type verifyAssignUse struct {
	b      *graphdef.Body
	handle string // the assign's variable input, in b's grammar
}

// verifyRestoreOutputs returns, per output of RestoreV2 node n, the assignments
// that store it (through Identity nodes), as the variable inputs of the
// assigning ops.
func verifyRestoreOutputs(b *graphdef.Body, n *nodepb.NodeDef) map[int][]verifyAssignUse {
	out := map[int][]verifyAssignUse{}
	seen := map[string]bool{}
	var walk func(node string, idx, depth int)
	walk = func(node string, idx, depth int) {
		if depth > 8 || seen[node] {
			return
		}
		seen[node] = true
		for _, u := range b.Consumers(node) {
			if u.Input.Control {
				continue
			}
			if depth == 0 {
				idx = u.Input.Index
			}
			switch {
			case verifyAssignOps[u.Node.GetOp()] && u.Slot == 1:
				if d := graphdef.DataInputs(u.Node); len(d) > 0 {
					out[idx] = append(out[idx], verifyAssignUse{b, d[0]})
				}
			case u.Node.GetOp() == "Identity":
				walk(u.Node.GetName(), idx, depth+1)
			}
		}
	}
	walk(n.GetName(), 0, 0)
	return out
}

// verifyResolveHandle follows a variable reference in body b back to the
// main-graph variable ops it can be: through Identity nodes and, for a
// function argument, through every reached call of the function. Each
// (body, reference) is followed once, so recursive or much-called
// functions cost time linear in the references visited.
func verifyResolveHandle(g *graphdef.Graph, reach *graphdef.Reach, b *graphdef.Body, ref string) []string {
	return verifyResolveTo(g, reach, b, ref, devHandleOps)
}

// verifyResolveTo is verifyResolveHandle for the main-graph ops whose type
// is in ops (variables, lookup tables).
func verifyResolveTo(g *graphdef.Graph, reach *graphdef.Reach, b *graphdef.Body, ref string, ops map[string]bool) []string {
	type key struct{ fn, ref string }
	seen := map[key]bool{}
	var out []string
	var walk func(b *graphdef.Body, ref string)
	walk = func(b *graphdef.Body, ref string) {
		k := key{b.Name(), ref}
		if seen[k] || len(seen) > 1<<16 {
			return
		}
		seen[k] = true
		in, err := b.ParseInput(ref)
		if err != nil || in.Control {
			return
		}
		if b.IsFunction() {
			if pos, ok := b.Arg(in.Node); ok {
				for _, caller := range g.Callers(b.Name()) {
					cb := caller.Body
					if cb.IsFunction() && !reach.Function(cb.Name()) {
						continue
					}
					if !verifyCallsAsArgs(caller.Node, b.Name()) {
						continue
					}
					if d := graphdef.DataInputs(caller.Node); pos < len(d) {
						walk(cb, d[pos])
					}
				}
				return
			}
		}
		n := b.Node(in.Node)
		switch {
		case n == nil:
		case ops[n.GetOp()]:
			if !b.IsFunction() && !slices.Contains(out, n.GetName()) {
				out = append(out, n.GetName())
			}
		case n.GetOp() == "Identity":
			if d := graphdef.DataInputs(n); len(d) == 1 {
				walk(b, d[0])
			}
		}
	}
	walk(b, ref)
	return out
}

// verifyCallsAsArgs reports whether call node n passes its data inputs, in order,
// as the arguments of function fn.
func verifyCallsAsArgs(n *nodepb.NodeDef, fn string) bool {
	if n.GetOp() == fn {
		return true
	}
	switch n.GetOp() {
	case "PartitionedCall", "StatefulPartitionedCall":
		return n.GetAttr()["f"].GetFunc().GetName() == fn
	}
	return false
}

// verifyConstStrings returns the strings of the Const that data input i of
// n reads.
func verifyConstStrings(b *graphdef.Body, node *nodepb.NodeDef, input int) ([]string, bool) {
	c := ops.ConstNode(node, input, b.InputNode)
	if c == nil {
		return nil, false
	}
	t := c.GetAttr()["value"].GetTensor()
	if t.GetDtype() != typespb.DataType_DT_STRING {
		return nil, false
	}
	vals := t.GetStringVal()
	// The element count comes from the file: bound it by the values really
	// present (a splat Const repeats its one value; RestoreV2 lists are
	// never that long, so a huge splat is refused rather than expanded).
	const maxSplat = 1 << 20
	n := int64(1)
	for _, d := range t.GetTensorShape().GetDim() {
		if d.GetSize() < 0 || (d.GetSize() > 0 && n > maxSplat/d.GetSize()) {
			return nil, false
		}
		n *= d.GetSize()
	}
	if n != int64(len(vals)) && (len(vals) != 1 || n > maxSplat) {
		return nil, false
	}
	out := make([]string, n)
	for i := range out {
		if len(vals) == 1 {
			out[i] = string(vals[0])
		} else {
			out[i] = string(vals[i])
		}
	}
	return out, true
}

// verifySliceFullShape parses the full shape of a shape_and_slices entry such as
// "6 4 0,3:-" (dims, then one slice per dim).
func verifySliceFullShape(spec string) ([]int64, error) {
	fields := strings.Fields(spec)
	if len(fields) < 2 {
		return nil, fmt.Errorf("want dims and slices")
	}
	var dims []int64
	for _, s := range fields[:len(fields)-1] {
		d, err := strconv.ParseInt(s, 10, 64)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("bad dim %q", s)
		}
		dims = append(dims, d)
	}
	return dims, nil
}

func verifyDims(s *shapepb.TensorShapeProto) []int64 {
	var out []int64
	for _, d := range s.GetDim() {
		out = append(out, d.GetSize())
	}
	return out
}

// verifySameShape compares dims with a checkpoint shape; -1 (unknown) matches any.
func verifySameShape(dims []int64, s *shapepb.TensorShapeProto) bool {
	sd := s.GetDim()
	if len(dims) != len(sd) {
		return false
	}
	for i, d := range dims {
		if d >= 0 && sd[i].GetSize() >= 0 && d != sd[i].GetSize() {
			return false
		}
	}
	return true
}

// verifyInitRoots returns the init op of meta: the __saved_model_init_op
// signature output, else the main op or legacy init op collections.
func verifyInitRoots(meta *tfpb.MetaGraphDef) graphdef.Roots {
	var nodes []string
	if sig := meta.GetSignatureDef()[graphdef.InitOpSignatureKey]; sig != nil {
		for _, ti := range sig.GetOutputs() {
			nodes = append(nodes, graphdef.Producer(ti.GetName()))
		}
	}
	for _, key := range []string{graphdef.MainOpCollection, graphdef.LegacyInitCollection} {
		for _, s := range meta.GetCollectionDef()[key].GetNodeList().GetValue() {
			nodes = append(nodes, graphdef.Producer(s))
		}
	}
	return graphdef.Roots{Nodes: collSortedUnique(nodes)}
}

// verifySignatureRoots returns the producers of every tensor of every signature
// other than the init op.
func verifySignatureRoots(meta *tfpb.MetaGraphDef) graphdef.Roots {
	var nodes []string
	for key, sig := range meta.GetSignatureDef() {
		if key == graphdef.InitOpSignatureKey {
			continue
		}
		for _, ti := range sig.GetInputs() {
			nodes = append(nodes, graphdef.Producer(ti.GetName()))
		}
		for _, ti := range sig.GetOutputs() {
			nodes = append(nodes, graphdef.Producer(ti.GetName()))
		}
	}
	return graphdef.Roots{Nodes: collSortedUnique(nodes)}
}

func checkObjectGraph(m *savedmodel.Model, mg int, meta *tfpb.MetaGraphDef, g *graphdef.Graph, f verifyFindFunc) {
	og := meta.GetObjectGraphDef()
	if og == nil {
		return
	}
	n := len(og.GetNodes())
	inRange := func(id int32) bool { return id >= 0 && int(id) < n }
	hasFn := func(name string) bool { return g.Function(name) != nil }
	for id, obj := range og.GetNodes() {
		for _, ref := range obj.GetChildren() {
			if !inRange(ref.GetNodeId()) {
				f(Object(mg, id), "child %q names object %d, out of range [0,%d)", ref.GetLocalName(), ref.GetNodeId(), n)
			}
		}
		for _, ref := range obj.GetDependencies() {
			if !inRange(ref.GetNodeId()) {
				f(Object(mg, id), "dependency %q names object %d, out of range [0,%d)", ref.GetLocalName(), ref.GetNodeId(), n)
			}
		}
		for _, sv := range obj.GetSlotVariables() {
			if !inRange(sv.GetOriginalVariableNodeId()) || !inRange(sv.GetSlotVariableNodeId()) {
				f(Object(mg, id), "slot variable %q names objects %d and %d, out of range [0,%d)", sv.GetSlotName(),
					sv.GetOriginalVariableNodeId(), sv.GetSlotVariableNodeId(), n)
			}
		}
		switch k := obj.GetKind().(type) {
		case *tfpb.SavedObject_Function:
			for _, fn := range k.Function.GetConcreteFunctions() {
				if !hasFn(fn) {
					f(Object(mg, id), "function names concrete function %s, which the library lacks", fn)
				}
			}
		case *tfpb.SavedObject_BareConcreteFunction:
			if fn := k.BareConcreteFunction.GetConcreteFunctionName(); !hasFn(fn) {
				f(Object(mg, id), "bare concrete function %s is not in the library", fn)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(og.GetConcreteFunctions())) {
		if !hasFn(name) {
			f(Where{MetaGraph: mg, Function: name}, "concrete function %s is not in the library", name)
		}
		for _, id := range og.GetConcreteFunctions()[name].GetBoundInputs() {
			if !inRange(id) {
				f(Where{MetaGraph: mg, Function: name}, "bound input names object %d, out of range [0,%d)", id, n)
			}
		}
	}
	if mg == 0 && m.Keras != nil {
		for _, k := range m.Keras.Nodes {
			if k.NodeID < 0 || int(k.NodeID) >= n {
				f(Where{MetaGraph: mg}, "keras_metadata.pb object %q names object %d, out of range [0,%d)", k.NodePath, k.NodeID, n)
			}
		}
	}
}

// specSlice returns the slice of a shape_and_slices entry ("d0 d1 ...
// slice"), "" for the whole tensor.
func specSlice(spec string) string {
	f := strings.Fields(spec)
	if len(f) == 0 {
		return ""
	}
	return f[len(f)-1]
}

// dtypeName is TensorFlow's DataTypeString of a dtype ("uint16" for
// DT_UINT16).
func dtypeName(dt typespb.DataType) string {
	return strings.ToLower(strings.TrimPrefix(dt.String(), "DT_"))
}
