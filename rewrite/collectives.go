package rewrite

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/ops"
)

// Collectives is the pass that replaces cross-replica communication by what
// one replica computes.
//
// The ops it handles, their kinds and which inputs carry the group size and
// keys are the rows of ops.Distribution (ops/distribution.go), the one table
// of distribution ops; a new collective op is added there, not here.
//
// On one device a group has one member, and TensorFlow's collectives with
// group size 1 return their input (collective_ops_test.py checks
// reduce and gather of a group of one against the input); an NCCL reduction
// over one device is its input too. So, in the main graph and in every
// function of every MetaGraphDef:
//
//   - NcclAllReduce, NcclReduce, NcclBroadcast, _NcclReduceRecv,
//     CollectiveReduce, CollectiveReduceV2, CollectiveReduceV3,
//     CollectiveReduceScatterV2, CollectiveGather, CollectiveGatherV2,
//     CollectiveAllToAllV2, CollectiveAllToAllV3 and CollectiveBcastSend(V2)
//     become an Identity of their data input, keeping the node name (so
//     every consumer and ":0" reference stays valid), its control inputs,
//     device, colocation and "T". An NcclReduce fed by several towers keeps
//     input 0, the primary tower's. A gather over a group of one returns that
//     replica's input, so its first dimension is 1/group_size of what the
//     group returned: the other members' rows never existed on this device.
//   - A CollectiveBcastSend(V2) or _NcclReduceSend/_NcclBroadcastSend whose
//     output nothing reads is removed (control consumers inherit its
//     dependencies).
//   - CollectiveBcastRecv(V2) and _NcclBroadcastRecv have no data input:
//     they become an Identity of the broadcast source when a matching
//     sender (same group_key and instance_key, or shared_name for NCCL) is
//     in the same body; otherwise a receiver on a serving path is an error,
//     and one elsewhere is left for the prune pass.
//   - CollectiveAssignGroupV2 and CollectiveInitializeCommunicator, which
//     only feed the ops above, are removed once nothing reads them.
//
// # Means
//
// TF2's MEAN all-reduce is CollectiveReduceV2(merge_op=Add, final_op=Id)
// followed by a Python division by the group size (cross_device_ops.py,
// CollectiveAllReduce), and TF1 tower code averages a summed gradient the same
// way. With the sum replaced by its input, such a division would compute
// 1/group_size of what one replica computes. So after replacing a summing
// reduction (Add or sum, final op Id) whose group size n > 1 is known (the
// group_size or num_devices attr, a Const group_size input, or the shape of a
// Const group_assignment), the pass follows its output forward through
// shape- and scale-preserving ops (Identity, Reshape, Squeeze, ExpandDims,
// Cast, Split, SplitV, Unpack, Neg, Mul by a Const) and turns every
// RealDiv/Div/TrueDiv/DivNoNan by a Const equal to n, and every Mul by a
// Const equal to 1/n, into an Identity of the divided value: division by 1.
// A reduction with final_op Div divides inside the op, so its Identity is
// already the one-replica mean. When the group size cannot be read (a
// function argument), a division by a Const after it is reported as a
// finding, since the pass cannot tell whether it averages.
//
// # Other distribution ops
//
// Horovod ops (Horovod*) on a serving path (graphdef.ServingRoots) are an
// error. TPU replication ops on a serving path are converted by the rules of
// TensorFlow's own TPU-to-CPU conversion (convert_tpu_model_to_cpu.cc) where
// they apply exactly: TPUReplicateMetadata, TPUCompilationResult and TPUOrdinalSelector
// are removed, a TPUReplicatedInput with one input (or of a mirrored
// variable, whose inputs are all the same variable) becomes an Identity of
// input 0, a TPUReplicatedOutput with one replica an Identity,
// TPUPartitionedCall a PartitionedCall without its device-ordinal operand,
// and the _tpu_replicate attr is dropped. Anything else (Horovod ops,
// multi-replica TPU inputs and outputs) on a serving path is an error naming
// the op and the chain of calls from the signature. Off serving paths these
// ops are left to the prune pass; the verify pass reports what remains.
var Collectives = &Pass{
	Name: "collectives",
	Doc: "Collectives replaces NCCL and collective ops by what one replica computes (an Identity of " +
		"the data input; divisions by the group size after a summing reduction become divisions by 1), " +
		"removes what only served communication, and converts or refuses TPU and Horovod ops on serving paths.",
	Run: runCollectives,
}

func runCollectives(c *Context) error {
	for mg, meta := range c.MetaGraphs() {
		if err := c.Ctx.Err(); err != nil {
			return err
		}
		g := c.Graph(mg)
		cr := &collRun{c: c, mg: mg, meta: meta, g: g}
		for _, spec := range ops.Distribution {
			if spec.Family != ops.NCCL && spec.Family != ops.Collective {
				continue
			}
			for i, ref := range slices.Clone(g.Ops(spec.Op)) {
				if i&0xff == 0 {
					if err := c.Ctx.Err(); err != nil {
						return err
					}
				}
				if err := cr.replace(ref.Body, ref.Node, spec); err != nil {
					return err
				}
			}
		}
		if err := cr.distributionOps(); err != nil {
			return err
		}
	}
	return nil
}

type collRun struct {
	c    *Context
	mg   int
	meta *tfpb.MetaGraphDef
	g    *graphdef.Graph

	serving *graphdef.Reach
}

func (cr *collRun) where(b *graphdef.Body, name string) Where { return Node(cr.mg, b.Name(), name) }

// onServingPath reports whether node n of b runs when a serving root runs.
func (cr *collRun) onServingPath(b *graphdef.Body, name string) bool {
	if cr.serving == nil {
		cr.serving = cr.g.Reachable(graphdef.ServingRoots(cr.meta))
	}
	if b.IsFunction() {
		return cr.serving.Function(b.Name())
	}
	return cr.serving.Node(graphdef.Location{Node: name})
}

// replace replaces n, an NCCL or collective op, by what one replica computes
// (spec.OneReplica).
func (cr *collRun) replace(b *graphdef.Body, n *nodepb.NodeDef, spec ops.Spec) error {
	name, typ := n.GetName(), n.GetOp()
	switch spec.Kind {
	case ops.Reduce, ops.ReduceScatter, ops.Gather, ops.AllToAll, ops.Broadcast:
		return cr.identity(b, n, spec)
	case ops.Send:
		if collHasDataConsumers(b, name) {
			return cr.identity(b, n, spec)
		}
		if err := b.Remove(graphdef.DanglingForwardControl, name); err != nil {
			return cr.c.Errorf(cr.where(b, name), "removing %s: %w", typ, err)
		}
		cr.c.Changef(cr.where(b, name), "%s removed: nothing reads what it sends on one device", typ)
	case ops.Receive:
		src, ok := collBroadcastSource(b, n, spec)
		if !ok {
			if cr.onServingPath(b, name) {
				return cr.c.Errorf(cr.where(b, name), "%s on a serving path (%s) receives a broadcast whose sender is not in the same graph, so its value is unknown on one device",
					typ, collServingChain(cr.meta, cr.g, b, name))
			}
			return nil
		}
		id := &nodepb.NodeDef{
			Name: name, Op: "Identity", Device: n.GetDevice(),
			Input:                 append([]string{src}, graphdef.ControlInputs(n)...),
			Attr:                  map[string]*attrpb.AttrValue{"T": n.GetAttr()["T"]},
			ExperimentalDebugInfo: n.GetExperimentalDebugInfo(),
		}
		if a := n.GetAttr()[graphdef.ClassAttr]; a != nil {
			id.Attr[graphdef.ClassAttr] = a
		}
		if err := b.Replace(name, id, collIdentityRemap(b, name)); err != nil {
			return cr.c.Errorf(cr.where(b, name), "replacing %s: %w", typ, err)
		}
		cr.c.Changef(cr.where(b, name), "%s -> Identity(%s): the broadcast source, which is what one replica receives", typ, src)
	case ops.Setup:
		if collHasDataConsumers(b, name) {
			var users []string
			for _, u := range b.Consumers(name) {
				if !u.Input.Control {
					users = append(users, u.Node.GetName()+" ("+u.Node.GetOp()+")")
				}
			}
			if cr.onServingPath(b, name) {
				return cr.c.Errorf(cr.where(b, name), "%s on a serving path (%s) is still read by %s", typ,
					collServingChain(cr.meta, cr.g, b, name), strings.Join(users, ", "))
			}
			return nil
		}
		if err := b.Remove(graphdef.DanglingForwardControl, name); err != nil {
			return cr.c.Errorf(cr.where(b, name), "removing %s: %w", typ, err)
		}
		cr.c.Changef(cr.where(b, name), "%s removed: it only set up communication for the collectives replaced above", typ)
	}
	return nil
}

// identity replaces n by an Identity of its data input 0 and fixes
// divisions by the group size after a summing reduction.
func (cr *collRun) identity(b *graphdef.Body, n *nodepb.NodeDef, spec ops.Spec) error {
	name, typ := n.GetName(), n.GetOp()
	size, sizeKnown := ops.GroupSize(n, b.InputNode)
	sum := spec.Sums && ops.IsSum(n)
	data := graphdef.DataInputs(n)
	if len(data) == 0 {
		return cr.c.Errorf(cr.where(b, name), "%s has no data input", typ)
	}
	if _, ok := n.GetAttr()["T"]; !ok {
		return cr.c.Errorf(cr.where(b, name), "%s has no T attr", typ)
	}
	in := data[0]
	if err := b.ReplaceByIdentity(name, 0); err != nil {
		return cr.c.Errorf(cr.where(b, name), "replacing %s: %w", typ, err)
	}
	desc := "group"
	if sizeKnown {
		desc = fmt.Sprintf("group of %d", size)
	}
	extra := ""
	if typ == "NcclReduce" && len(data) > 1 {
		extra = fmt.Sprintf("; kept the primary tower's input, dropped %d other(s)", len(data)-1)
	}
	cr.c.Changef(cr.where(b, name), "%s over a %s -> Identity(%s): what one replica computes%s", typ, desc, in, extra)
	if !sum || (sizeKnown && size == 1) {
		return nil
	}
	return cr.fixMeans(b, name, size, sizeKnown)
}

// collHasDataConsumers reports whether any data input or ret reads name.
func collHasDataConsumers(b *graphdef.Body, name string) bool {
	for _, u := range b.Consumers(name) {
		if !u.Input.Control {
			return true
		}
	}
	ret, _ := b.RetUses(name)
	return len(ret) > 0
}

// collIdentityRemap maps references to the outputs of a replaced node in a
// function body to the Identity's "output:0".
func collIdentityRemap(b *graphdef.Body, name string) graphdef.Remap {
	fn := b.IsFunction()
	return func(in graphdef.Input) (graphdef.Input, error) {
		if in.Index != 0 {
			return in, fmt.Errorf("reads output %d; an Identity has only output 0", in.Index)
		}
		if fn {
			return graphdef.Input{Node: name, Output: "output", Index: 0, HasIndex: true}, nil
		}
		return in, nil
	}
}

// collBroadcastSource finds the data input of the sender (spec.Peer)
// matching receiver n in the same body.
func collBroadcastSource(b *graphdef.Body, n *nodepb.NodeDef, spec ops.Spec) (string, bool) {
	peer, ok := ops.Lookup(spec.Peer)
	if !ok {
		return "", false
	}
	for _, s := range b.Nodes() {
		if s.GetOp() == peer.Op && collPairs(b, n, spec, s, peer) {
			if d := graphdef.DataInputs(s); len(d) > 0 {
				return d[0], true
			}
		}
	}
	return "", false
}

// collPairs reports whether sender s pairs with receiver r: equal key attrs
// and equal constant group and instance key inputs.
func collPairs(b *graphdef.Body, r *nodepb.NodeDef, rs ops.Spec, s *nodepb.NodeDef, ss ops.Spec) bool {
	for _, a := range rs.KeyAttrs {
		if !proto.Equal(r.GetAttr()[a], s.GetAttr()[a]) {
			return false
		}
	}
	for _, k := range [][2]ops.Arg{{rs.GroupKey, ss.GroupKey}, {rs.InstanceKey, ss.InstanceKey}} {
		if k[0] == 0 && k[1] == 0 {
			continue
		}
		rv, ok1 := ops.Key(r, k[0], b.InputNode)
		sv, ok2 := ops.Key(s, k[1], b.InputNode)
		if !ok1 || !ok2 || rv != sv {
			return false
		}
	}
	return true
}

// collScaleOps pass a reduced value on unchanged but for shape or a constant
// factor; a division by the group size after them still averages.
// The value is the input at the given slot (Split takes the axis first).
var collScaleOps = map[string]int{
	"Identity": 0, "Reshape": 0, "Squeeze": 0, "ExpandDims": 0, "Cast": 0,
	"Split": 1, "SplitV": 0, "Unpack": 0, "Neg": 0,
}

func collIsScaleInput(op string, slot int) bool {
	want, ok := collScaleOps[op]
	return ok && want == slot
}

var collDivOps = map[string]bool{"RealDiv": true, "Div": true, "TrueDiv": true, "DivNoNan": true}

// fixMeans follows the output of the replaced reduction name forward and
// turns divisions by the group size into Identities.
func (cr *collRun) fixMeans(b *graphdef.Body, name string, size int64, sizeKnown bool) error {
	type step struct {
		node  string
		depth int
	}
	seen := map[string]bool{name: true}
	queue := []step{{name, 0}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.depth > 8 {
			continue
		}
		for _, u := range b.Consumers(s.node) {
			if u.Input.Control || seen[u.Node.GetName()] {
				continue
			}
			cn := u.Node
			cname, op := cn.GetName(), cn.GetOp()
			data := graphdef.DataInputs(cn)
			switch {
			case collDivOps[op] && u.Slot == 0 && len(data) == 2:
				v, ok := ops.ConstScalar(cn, 1, b.InputNode)
				if !ok {
					continue
				}
				if !sizeKnown {
					cr.c.Findf(cr.where(b, cname), "%s divides the output of %s (group size unknown) by %g: cannot tell whether it averages over the replicas", op, name, v)
					continue
				}
				if v != float64(size) {
					continue
				}
				seen[cname] = true
				if err := b.ReplaceByIdentity(cname, 0); err != nil {
					return cr.c.Errorf(cr.where(b, cname), "replacing the mean's division: %w", err)
				}
				cr.c.Changef(cr.where(b, cname), "%s by %g (the group size of %s) -> Identity(%s): division by 1, the mean over one replica", op, v, name, data[0])
			case (op == "Mul" || op == "MulNoNan") && len(data) == 2 && u.Slot < 2:
				v, ok := ops.ConstScalar(cn, 1-u.Slot, b.InputNode)
				if !ok {
					continue
				}
				seen[cname] = true
				if sizeKnown && math.Abs(v*float64(size)-1) < 1e-6 {
					if err := b.ReplaceByIdentity(cname, u.Slot); err != nil {
						return cr.c.Errorf(cr.where(b, cname), "replacing the mean's scaling: %w", err)
					}
					cr.c.Changef(cr.where(b, cname), "%s by %g (1/group size of %s) -> Identity(%s): scaling by 1, the mean over one replica", op, v, name, data[u.Slot])
					continue
				}
				queue = append(queue, step{cname, s.depth + 1})
			case collIsScaleInput(op, u.Slot):
				seen[cname] = true
				queue = append(queue, step{cname, s.depth + 1})
			}
		}
	}
	return nil
}

// collOp reports whether op is an NCCL or collective op of ops.Distribution,
// which the collectives pass replaces.
func collOp(op string) bool {
	s, ok := ops.Lookup(op)
	return ok && (s.Family == ops.NCCL || s.Family == ops.Collective)
}

// collReplicationOp reports whether op is a TPU replication op of
// ops.Distribution or a Horovod op.
func collReplicationOp(op string) bool {
	s, ok := ops.Lookup(op)
	return ok && (s.Family == ops.TPU || s.Family == ops.Horovod)
}

// collDistributionOp says whether n is a Horovod or TPU replication op, or
// carries a _tpu_replicate attr.
func collDistributionOp(n *nodepb.NodeDef) bool {
	if collReplicationOp(n.GetOp()) {
		return true
	}
	_, ok := n.GetAttr()["_tpu_replicate"]
	return ok
}

// distributionOps converts or refuses the Horovod and TPU ops on serving
// paths.
func (cr *collRun) distributionOps() error {
	type found struct {
		b *graphdef.Body
		n *nodepb.NodeDef
	}
	var todo []found
	for _, b := range cr.g.Bodies() {
		for _, n := range b.Nodes() {
			if collDistributionOp(n) && cr.onServingPath(b, n.GetName()) {
				todo = append(todo, found{b, n})
			}
		}
	}
	// Order: attrs and data-path ops first, then the ops that become unused.
	var removeLater []found
	for _, f := range todo {
		b, n := f.b, f.n
		name, op := n.GetName(), n.GetOp()
		if _, ok := n.GetAttr()["_tpu_replicate"]; ok {
			delete(n.Attr, "_tpu_replicate")
			cr.c.Changef(cr.where(b, name), "_tpu_replicate attr removed")
		}
		spec, _ := ops.Lookup(op)
		switch spec.Kind {
		case ops.ReplicatedInput:
			nIn := len(graphdef.DataInputs(n))
			if nIn != 1 && !n.GetAttr()["is_mirrored_variable"].GetB() {
				return cr.c.Errorf(cr.where(b, name), "TPUReplicatedInput with %d per-replica inputs on a serving path (%s): one replica's input cannot stand for all of them",
					nIn, collServingChain(cr.meta, cr.g, b, name))
			}
			if err := b.ReplaceByIdentity(name, 0); err != nil {
				return cr.c.Errorf(cr.where(b, name), "replacing TPUReplicatedInput: %w", err)
			}
			cr.c.Changef(cr.where(b, name), "TPUReplicatedInput (%d inputs) -> Identity of input 0", nIn)
		case ops.ReplicatedOutput:
			if r := n.GetAttr()["num_replicas"].GetI(); r != 1 {
				return cr.c.Errorf(cr.where(b, name), "TPUReplicatedOutput with %d replicas on a serving path (%s): its other outputs have no single-replica value",
					r, collServingChain(cr.meta, cr.g, b, name))
			}
			if err := b.ReplaceByIdentity(name, 0); err != nil {
				return cr.c.Errorf(cr.where(b, name), "replacing TPUReplicatedOutput: %w", err)
			}
			cr.c.Changef(cr.where(b, name), "TPUReplicatedOutput (1 replica) -> Identity")
		case ops.ReplicatedCall:
			data := graphdef.DataInputs(n)
			if len(data) == 0 {
				return cr.c.Errorf(cr.where(b, name), "TPUPartitionedCall has no device_ordinal input")
			}
			pc := &nodepb.NodeDef{
				Name: name, Op: "PartitionedCall", Device: n.GetDevice(),
				Input:                 append(append([]string{}, data[:len(data)-1]...), graphdef.ControlInputs(n)...),
				Attr:                  map[string]*attrpb.AttrValue{},
				ExperimentalDebugInfo: n.GetExperimentalDebugInfo(),
			}
			for k, v := range n.GetAttr() {
				if k != "autotuner_thresh" {
					pc.Attr[k] = v
				}
			}
			if err := b.Replace(name, pc, nil); err != nil {
				return cr.c.Errorf(cr.where(b, name), "replacing TPUPartitionedCall: %w", err)
			}
			cr.c.Changef(cr.where(b, name), "TPUPartitionedCall -> PartitionedCall of the same function, without its device ordinal %s", data[len(data)-1])
		case ops.Metadata:
			removeLater = append(removeLater, f)
		default:
			if !collReplicationOp(op) {
				continue // a plain op that only carried _tpu_replicate
			}
			return cr.c.Errorf(cr.where(b, name), "%s on a serving path (%s) has no single-device equivalent this tool can substitute",
				op, collServingChain(cr.meta, cr.g, b, name))
		}
	}
	for _, f := range removeLater {
		name := f.n.GetName()
		if collHasDataConsumers(f.b, name) {
			return cr.c.Errorf(cr.where(f.b, name), "%s on a serving path (%s) is still read by other ops",
				f.n.GetOp(), collServingChain(cr.meta, cr.g, f.b, name))
		}
		if err := f.b.Remove(graphdef.DanglingForwardControl, name); err != nil {
			return cr.c.Errorf(cr.where(f.b, name), "removing %s: %w", f.n.GetOp(), err)
		}
		cr.c.Changef(cr.where(f.b, name), "%s removed (TensorFlow's TPU-to-CPU conversion erases it)", f.n.GetOp())
	}
	return nil
}

// collServingChain describes how a serving root reaches node name of b: the
// signature (or other root), the main-graph node, and the chain of function
// calls, for error messages.
func collServingChain(meta *tfpb.MetaGraphDef, g *graphdef.Graph, b *graphdef.Body, name string) string {
	type root struct {
		label string
		roots graphdef.Roots
	}
	var roots []root
	for _, key := range slices.Sorted(maps.Keys(meta.GetSignatureDef())) {
		sig := meta.GetSignatureDef()[key]
		var nodes []string
		for _, ti := range sig.GetInputs() {
			nodes = append(nodes, graphdef.Producer(ti.GetName()))
		}
		for _, ti := range sig.GetOutputs() {
			nodes = append(nodes, graphdef.Producer(ti.GetName()))
		}
		roots = append(roots, root{fmt.Sprintf("signature %q", key), graphdef.Roots{Nodes: collSortedUnique(nodes)}})
	}
	roots = append(roots, root{"serving roots (init op, saver, assets)", graphdef.ServingRoots(meta)})
	for _, r := range roots {
		reach := g.Reachable(r.roots)
		if !b.IsFunction() {
			if reach.Node(graphdef.Location{Node: name}) {
				return fmt.Sprintf("%s -> node %s", r.label, name)
			}
			continue
		}
		if !reach.Function(b.Name()) {
			continue
		}
		// Breadth-first over calls from reached main-graph nodes.
		type hop struct {
			parent string // "" for a main-graph caller
			node   string
		}
		from := map[string]hop{}
		var queue []string
		for _, n := range g.Main().Nodes() {
			if !reach.Node(graphdef.Location{Node: n.GetName()}) {
				continue
			}
			for _, f := range g.Calls(n) {
				if _, ok := from[f]; !ok {
					from[f] = hop{"", n.GetName()}
					queue = append(queue, f)
				}
			}
		}
		for _, f := range r.roots.Functions {
			if _, ok := from[f]; !ok {
				from[f] = hop{"", ""}
				queue = append(queue, f)
			}
		}
		for len(queue) > 0 && func() bool { _, ok := from[b.Name()]; return !ok }() {
			f := queue[0]
			queue = queue[1:]
			fb := g.Function(f)
			if fb == nil {
				continue
			}
			for _, n := range fb.Nodes() {
				for _, callee := range g.Calls(n) {
					if _, ok := from[callee]; !ok {
						from[callee] = hop{f, n.GetName()}
						queue = append(queue, callee)
					}
				}
			}
		}
		var chain []string
		for f := b.Name(); ; {
			h, ok := from[f]
			if !ok {
				break
			}
			chain = append(chain, "function "+f)
			if h.node != "" {
				chain = append(chain, "node "+h.node)
			}
			if h.parent == "" {
				break
			}
			f = h.parent
		}
		var sb strings.Builder
		sb.WriteString(r.label)
		for i := len(chain) - 1; i >= 0; i-- {
			sb.WriteString(" -> ")
			sb.WriteString(chain[i])
		}
		sb.WriteString(" -> node " + name)
		return sb.String()
	}
	return "serving roots -> " + b.Name() + " node " + name
}

func collSortedUnique(s []string) []string {
	m := map[string]bool{}
	for _, x := range s {
		if x != "" {
			m[x] = true
		}
	}
	return slices.Sorted(maps.Keys(m))
}
