package rewrite

import (
	"fmt"
	"math"
	"slices"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// Collectives is the pass that replaces cross-replica communication by what
// one replica computes.
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

func init() { register(30, Collectives) }

// collKind says how an op is replaced.
type collKind int

const (
	collIdentity collKind = iota // Identity of data input 0
	collSend                     // Identity if read, removed otherwise
	collRecv                     // Identity of a matching sender's input
	collSetup                    // removed once unused
)

type collOp struct {
	kind collKind
	sum  bool // a summing reduction when merge/final attrs say so
}

// collOps lists the ops this pass replaces.
var collOps = map[string]collOp{
	"NcclAllReduce":             {collIdentity, true},
	"NcclReduce":                {collIdentity, true},
	"NcclBroadcast":             {collIdentity, false},
	"_NcclReduceRecv":           {collIdentity, true},
	"_NcclReduceSend":           {collSend, false},
	"_NcclBroadcastSend":        {collSend, false},
	"_NcclBroadcastRecv":        {collRecv, false},
	"CollectiveReduce":          {collIdentity, true},
	"CollectiveReduceV2":        {collIdentity, true},
	"CollectiveReduceV3":        {collIdentity, true},
	"CollectiveReduceScatterV2": {collIdentity, true},
	"CollectiveGather":          {collIdentity, false},
	"CollectiveGatherV2":        {collIdentity, false},
	"CollectiveAllToAllV2":      {collIdentity, false},
	"CollectiveAllToAllV3":      {collIdentity, false},
	"CollectiveBcastSend":       {collSend, false},
	"CollectiveBcastSendV2":     {collSend, false},
	"CollectiveBcastRecv":       {collRecv, false},
	"CollectiveBcastRecvV2":     {collRecv, false},
	// Setup ops go last: they are removed once the ops above no longer
	// read them.
	"CollectiveAssignGroupV2":          {collSetup, false},
	"CollectiveInitializeCommunicator": {collSetup, false},
}

// collectiveOrder is the order in which op types are handled.
var collectiveOrder = []string{
	"NcclAllReduce", "NcclReduce", "NcclBroadcast", "_NcclReduceRecv", "_NcclReduceSend",
	"_NcclBroadcastRecv", "_NcclBroadcastSend",
	"CollectiveReduce", "CollectiveReduceV2", "CollectiveReduceV3", "CollectiveReduceScatterV2",
	"CollectiveGather", "CollectiveGatherV2", "CollectiveAllToAllV2", "CollectiveAllToAllV3",
	"CollectiveBcastRecv", "CollectiveBcastRecvV2", "CollectiveBcastSend", "CollectiveBcastSendV2",
	"CollectiveAssignGroupV2", "CollectiveInitializeCommunicator",
}

func runCollectives(c *Context) error {
	for mg, meta := range c.MetaGraphs() {
		if err := c.Ctx.Err(); err != nil {
			return err
		}
		g := c.Graph(mg)
		cr := &collRun{c: c, mg: mg, meta: meta, g: g}
		for _, op := range collectiveOrder {
			for i, ref := range slices.Clone(g.Ops(op)) {
				if i&0xff == 0 {
					if err := c.Ctx.Err(); err != nil {
						return err
					}
				}
				if err := cr.replace(ref.Body, ref.Node, collOps[op]); err != nil {
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

func (cr *collRun) replace(b *graphdef.Body, n *nodepb.NodeDef, op collOp) error {
	name, typ := n.GetName(), n.GetOp()
	switch op.kind {
	case collIdentity:
		return cr.identity(b, n, op)
	case collSend:
		if collHasDataConsumers(b, name) {
			return cr.identity(b, n, op)
		}
		if err := b.Remove(graphdef.DanglingForwardControl, name); err != nil {
			return cr.c.Errorf(cr.where(b, name), "removing %s: %w", typ, err)
		}
		cr.c.Changef(cr.where(b, name), "%s removed: nothing reads what it sends on one device", typ)
	case collRecv:
		src, ok := collBroadcastSource(b, n)
		if !ok {
			if cr.onServingPath(b, name) {
				return cr.c.Errorf(cr.where(b, name), "%s on a serving path (%s) receives a broadcast whose sender is not in the same graph, so its value is unknown on one device",
					typ, collServingChain(cr.meta, cr.g, b, name))
			}
			return nil
		}
		id := &nodepb.NodeDef{
			Name: name, Op: "Identity", Device: n.GetDevice(),
			Input:                 append([]string{src}, collControlInputs(n)...),
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
	case collSetup:
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
func (cr *collRun) identity(b *graphdef.Body, n *nodepb.NodeDef, op collOp) error {
	name, typ := n.GetName(), n.GetOp()
	size, sizeKnown := collGroupSize(b, n)
	sum := op.sum && collIsSum(n)
	data := collDataInputs(n)
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

func collDataInputs(n *nodepb.NodeDef) []string {
	var out []string
	for _, s := range n.GetInput() {
		if !strings.HasPrefix(s, "^") {
			out = append(out, s)
		}
	}
	return out
}

func collControlInputs(n *nodepb.NodeDef) []string {
	var out []string
	for _, s := range n.GetInput() {
		if strings.HasPrefix(s, "^") {
			out = append(out, s)
		}
	}
	return out
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

// collIsSum reports whether a reduction sums without dividing: merge_op Add
// and final_op Id (V1, V2), reduction Add (V3) or sum (NCCL).
func collIsSum(n *nodepb.NodeDef) bool {
	a := n.GetAttr()
	if r := a["reduction"]; r != nil {
		s := string(r.GetS())
		return s == "sum" || s == "Add"
	}
	if m := a["merge_op"]; m != nil && string(m.GetS()) != "Add" {
		return false
	}
	if f := a["final_op"]; f != nil && string(f.GetS()) != "Id" {
		return false
	}
	return true
}

// collGroupSize returns the number of replicas n communicates with, when the
// graph says so.
func collGroupSize(b *graphdef.Body, n *nodepb.NodeDef) (int64, bool) {
	a := n.GetAttr()
	if v, ok := a["num_devices"]; ok {
		return v.GetI(), true
	}
	if v, ok := a["group_size"]; ok {
		return v.GetI(), true
	}
	data := collDataInputs(n)
	switch n.GetOp() {
	case "CollectiveReduceV2", "CollectiveReduceScatterV2", "CollectiveGatherV2", "CollectiveAllToAllV2",
		"CollectiveBcastSendV2":
		if len(data) > 1 {
			if v, ok := collConstValue(b, data[1]); ok {
				return int64(v), true
			}
		}
	case "CollectiveBcastRecvV2":
		if len(data) > 0 {
			if v, ok := collConstValue(b, data[0]); ok {
				return int64(v), true
			}
		}
	case "CollectiveReduceV3", "CollectiveAllToAllV3":
		if len(data) > 2 {
			if c := collConstNode(b, data[2]); c != nil {
				if dims := c.GetAttr()["value"].GetTensor().GetTensorShape().GetDim(); len(dims) == 2 {
					return dims[1].GetSize(), true
				}
			}
		}
	}
	return 0, false
}

// collBroadcastSource finds the data input of the sender matching receiver n
// in the same body.
func collBroadcastSource(b *graphdef.Body, n *nodepb.NodeDef) (string, bool) {
	var want func(*nodepb.NodeDef) bool
	switch n.GetOp() {
	case "_NcclBroadcastRecv":
		sn := string(n.GetAttr()["shared_name"].GetS())
		want = func(s *nodepb.NodeDef) bool {
			return s.GetOp() == "_NcclBroadcastSend" && string(s.GetAttr()["shared_name"].GetS()) == sn
		}
	case "CollectiveBcastRecv":
		gk, ik := n.GetAttr()["group_key"].GetI(), n.GetAttr()["instance_key"].GetI()
		want = func(s *nodepb.NodeDef) bool {
			return s.GetOp() == "CollectiveBcastSend" && s.GetAttr()["group_key"].GetI() == gk && s.GetAttr()["instance_key"].GetI() == ik
		}
	case "CollectiveBcastRecvV2":
		d := collDataInputs(n)
		if len(d) < 3 {
			return "", false
		}
		gk, ok1 := collConstValue(b, d[1])
		ik, ok2 := collConstValue(b, d[2])
		if !ok1 || !ok2 {
			return "", false
		}
		want = func(s *nodepb.NodeDef) bool {
			if s.GetOp() != "CollectiveBcastSendV2" {
				return false
			}
			sd := collDataInputs(s)
			if len(sd) < 4 {
				return false
			}
			sg, ok1 := collConstValue(b, sd[2])
			si, ok2 := collConstValue(b, sd[3])
			return ok1 && ok2 && sg == gk && si == ik
		}
	default:
		return "", false
	}
	for _, s := range b.Nodes() {
		if want(s) {
			if d := collDataInputs(s); len(d) > 0 {
				return d[0], true
			}
		}
	}
	return "", false
}

// collConstNode returns the Const node that input ref reads, looking through
// Identity nodes, or nil.
func collConstNode(b *graphdef.Body, ref string) *nodepb.NodeDef {
	for range 8 {
		in, err := b.ParseInput(ref)
		if err != nil || in.Control {
			return nil
		}
		n := b.Node(in.Node)
		if n == nil {
			return nil
		}
		switch n.GetOp() {
		case "Const":
			return n
		case "Identity":
			d := collDataInputs(n)
			if len(d) != 1 {
				return nil
			}
			ref = d[0]
		default:
			return nil
		}
	}
	return nil
}

// collConstValue returns the value of a Const holding one number (any shape with
// one element), read through Identity and Cast nodes.
func collConstValue(b *graphdef.Body, ref string) (float64, bool) {
	for range 8 {
		in, err := b.ParseInput(ref)
		if err != nil || in.Control {
			return 0, false
		}
		n := b.Node(in.Node)
		if n == nil {
			return 0, false
		}
		if n.GetOp() == "Identity" || n.GetOp() == "Cast" {
			d := collDataInputs(n)
			if len(d) != 1 {
				return 0, false
			}
			ref = d[0]
			continue
		}
		if n.GetOp() != "Const" {
			return 0, false
		}
		return collTensorScalar(n.GetAttr()["value"].GetTensor())
	}
	return 0, false
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
			data := collDataInputs(cn)
			switch {
			case collDivOps[op] && u.Slot == 0 && len(data) == 2:
				v, ok := collConstValue(b, data[1])
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
				other := data[1-u.Slot]
				v, ok := collConstValue(b, other)
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

// collDistributionOp says whether op is a Horovod or TPU replication op, or
// whether n carries a _tpu_replicate attr.
func collDistributionOp(n *nodepb.NodeDef) bool {
	op := n.GetOp()
	if strings.HasPrefix(op, "Horovod") || collTPUOps[op] {
		return true
	}
	_, ok := n.GetAttr()["_tpu_replicate"]
	return ok
}

// collTPUOps are TPU replication ops with no CPU or GPU kernel (or one that needs
// the TPU runtime).
var collTPUOps = map[string]bool{
	"TPUReplicateMetadata": true, "TPUReplicatedInput": true, "TPUReplicatedOutput": true,
	"TPUCompilationResult": true, "TPUOrdinalSelector": true, "TPUPartitionedCall": true,
	"_TPUReplicate": true, "TPUCompile": true, "TPUExecute": true, "TPUExecuteAndUpdateVariables": true,
	"TPUPartitionedInput": true, "TPUPartitionedInputV2": true, "TPUPartitionedOutput": true,
	"TPUPartitionedOutputV2": true, "TPUReshardVariables": true, "TPURoundRobin": true,
	"ConfigureDistributedTPU": true, "ShutdownDistributedTPU": true,
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
		switch op {
		case "TPUReplicatedInput":
			nIn := len(collDataInputs(n))
			if nIn != 1 && !n.GetAttr()["is_mirrored_variable"].GetB() {
				return cr.c.Errorf(cr.where(b, name), "TPUReplicatedInput with %d per-replica inputs on a serving path (%s): one replica's input cannot stand for all of them",
					nIn, collServingChain(cr.meta, cr.g, b, name))
			}
			if err := b.ReplaceByIdentity(name, 0); err != nil {
				return cr.c.Errorf(cr.where(b, name), "replacing TPUReplicatedInput: %w", err)
			}
			cr.c.Changef(cr.where(b, name), "TPUReplicatedInput (%d inputs) -> Identity of input 0", nIn)
		case "TPUReplicatedOutput":
			if r := n.GetAttr()["num_replicas"].GetI(); r != 1 {
				return cr.c.Errorf(cr.where(b, name), "TPUReplicatedOutput with %d replicas on a serving path (%s): its other outputs have no single-replica value",
					r, collServingChain(cr.meta, cr.g, b, name))
			}
			if err := b.ReplaceByIdentity(name, 0); err != nil {
				return cr.c.Errorf(cr.where(b, name), "replacing TPUReplicatedOutput: %w", err)
			}
			cr.c.Changef(cr.where(b, name), "TPUReplicatedOutput (1 replica) -> Identity")
		case "TPUPartitionedCall":
			data := collDataInputs(n)
			if len(data) == 0 {
				return cr.c.Errorf(cr.where(b, name), "TPUPartitionedCall has no device_ordinal input")
			}
			pc := &nodepb.NodeDef{
				Name: name, Op: "PartitionedCall", Device: n.GetDevice(),
				Input:                 append(append([]string{}, data[:len(data)-1]...), collControlInputs(n)...),
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
		case "TPUReplicateMetadata", "TPUCompilationResult", "TPUOrdinalSelector":
			removeLater = append(removeLater, f)
		default:
			if !strings.HasPrefix(op, "Horovod") && !collTPUOps[op] {
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
	for _, key := range collSortedKeys(meta.GetSignatureDef()) {
		sig := meta.GetSignatureDef()[key]
		var nodes []string
		for _, ti := range sig.GetInputs() {
			nodes = append(nodes, collProducer(ti.GetName()))
		}
		for _, ti := range sig.GetOutputs() {
			nodes = append(nodes, collProducer(ti.GetName()))
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

// collProducer returns the node of a tensor name "node:0" or "^node".
func collProducer(s string) string {
	s = strings.TrimPrefix(s, "^")
	if i := strings.IndexByte(s, ':'); i >= 0 {
		s = s[:i]
	}
	return s
}

func collSortedUnique(s []string) []string {
	m := map[string]bool{}
	for _, x := range s {
		if x != "" {
			m[x] = true
		}
	}
	return collSortedKeys(m)
}
