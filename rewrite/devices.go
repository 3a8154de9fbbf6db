package rewrite

import (
	"fmt"
	"regexp"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/ops"
)

// Devices is the pass that makes every device name of the model name only
// the target's devices.
//
// It applies the device policy of the options ([Options.DevicePolicy]) to:
//
//   - NodeDef.device of every node of the main graph and of every library
//     function of every MetaGraphDef;
//   - SavedVariable.device, the device of every remaining
//     experimental_distributed_variable_components entry, and
//     SavedResource.device in the SavedObjectGraph (a SavedResource device may
//     be a bare type such as "CPU", which Python's DeviceSpec accepts; it is
//     read as "/device:CPU");
//   - the device_filters and cluster_def of the serialized ConfigProto in the
//     "config_proto" attr of call nodes: a filter such as "/job:worker/task:0"
//     hides every device of a local process from the function runtime, so
//     both are removed; so are the experimental collective_group_leader and
//     coordination_config a multi-worker strategy writes, which name the
//     training cluster ("/job:worker/replica:0/task:0") and have nothing to
//     coordinate on one device; the rest of the ConfigProto
//     (allow_soft_placement, thread and optimizer options) is kept byte for
//     byte when nothing changes.
//
// NodeDef.experimental_debug_info holds only original node and function
// names (no device; checked on the fixtures) and is kept. The _tpu_replicate
// attr and TPU ops are the collectives pass's.
//
// With the default policy every device becomes "" for a CPU target, and
// "/device:CPU:0" or "/device:GPU:0" for a GPU target; no /job:, /replica:
// or /task: survives. A name the device package cannot parse, or a type the
// policy refuses (device.OtherError), stops the pass with an error naming the
// node.
//
// # Colocation
//
// The "_class" attr ("loc:@node" entries) asks TensorFlow's placer to put a
// node in the colocation group of another (ColocationGraph::ColocateAllNodes
// in tensorflow/core/common_runtime/colocation_graph.cc). The placer merges
// the requested devices of a group with MergeDevNames (ColocateNodes, through
// Member::MergeDeviceNames) and then looks for a device that matches the
// merged name and has a kernel for every member. The tfgo#16 error ("Could
// not satisfy explicit device specification ” because the node
// {{colocation_node X}} was colocated with a group of nodes that required
// incompatible device ...") is what a node with no device gets when another
// member of its group still names a device the process lacks.
//
// Colocation is kept: it carries real constraints (an op reading a variable
// next to the variable, the saver's Assign next to what it restores), and
// once the members' devices are remapped it constrains nothing that TF did
// not already satisfy when the model was saved. What the pass changes:
//
//   - entries naming a node that does not exist in the same body are
//     dropped (the attr is deleted when empty): TF would make a group of a
//     name no node has, which means nothing, and graphdef.Validate reports
//     them;
//   - in Remap mode (the GPU target by default) the remapped devices of each
//     colocation group are merged as the placer does (device.Spec.Merge,
//     without soft placement, the C++ loader's default); a group whose
//     members now ask for both /device:CPU:0 and /device:GPU:0 would fail
//     with "Cannot colocate nodes", so every member of such a group gets ""
//     and the placer picks one device with a kernel for all of them. Groups
//     are formed by "_class" entries and, as the placer does
//     (ColocateResourceOrRefEdge), by data edges from variable-handle ops
//     (VarHandleOp, VariableV2, ...) to their consumers. In Clear mode every
//     name is "", so no group can conflict.
//
// # Kernels
//
// A graph built under a GPU device scope pins every op to the GPU, also ops
// that have no GPU kernel (lookup tables, string ops, the saver); it ran
// because the building session had soft placement on, which the C++ loader
// does not. When the policy maps such a node to a GPU, the pass clears its
// device instead, so the placer puts it on the CPU. Such a node is one for
// which TensorFlow v2.18.0's GPU build registers no kernel that fits its
// attrs (ops.HasGPUKernel: the KernelDefs of device type GPU or DEFAULT, per
// dtype, generated from the GPU-enabled wheel's kernel registry). A
// colocation group holding such an op and a GPU
// pin is cleared whole, as for a CPU/GPU conflict: otherwise the op would
// fail with tfgo#16's error.
//
// Every edited node gets one change record saying what its device (and
// colocation) was and what it became.
//
// # Plan, then apply
//
// The pass first plans (planDevices: one walk over the devices of a meta
// graph, editing nothing), then applies the plan. The verify pass turns the
// same plan into its device findings, as go/analysis pairs a Diagnostic
// with a SuggestedFix: every device it reports is one this pass changes,
// at the same place (TestVerifyReportsWhatDevicesChanges). Verify reports
// only the planned changes TensorFlow needs: "/device:CPU:0" in a model
// saved on one CPU is cleared by the pass but loads as it is.
var Devices = &Pass{
	Name: "devices",
	Doc: "Devices remaps every device name (NodeDef.device in the main graph and every function, " +
		"SavedVariable and SavedResource devices, device filters of call-node ConfigProtos) by the " +
		"target's device policy, drops colocation entries naming missing nodes, and resolves " +
		"colocation groups whose remapped devices conflict.",
	Run: runDevices,
}

func runDevices(c *Context) error {
	pl := newDevPlanner(c.Options.DevicePolicy())
	for mg, meta := range c.MetaGraphs() {
		if err := c.Ctx.Err(); err != nil {
			return err
		}
		for _, b := range c.Graph(mg).Bodies() {
			bp, err := pl.body(c.Ctx, b)
			if err != nil {
				return err
			}
			if err := applyBodyDevices(c, mg, bp); err != nil {
				return err
			}
		}
		if err := applyObjectDevices(c, mg, meta.GetObjectGraphDef(), planObjectDevices(meta.GetObjectGraphDef(), pl.pol)); err != nil {
			return err
		}
	}
	return nil
}

// devNodeEdit collects what happened to one node, so that each node gets one
// change record.
type devNodeEdit struct {
	node *nodepb.NodeDef
	what []string
}

// devBodyEdits are the edits of one body, in the order nodes were first
// edited.
type devBodyEdits struct {
	list  []devNodeEdit
	index map[*nodepb.NodeDef]int // built on the first edit after the node loop
}

// add records what for n. In the node loop n is new or the node last added,
// so no lookup is needed; after it, call indexed first.
func (e *devBodyEdits) add(n *nodepb.NodeDef, what string) {
	if k := len(e.list); k > 0 && e.list[k-1].node == n {
		e.list[k-1].what = append(e.list[k-1].what, what)
		return
	}
	if e.index != nil {
		if i, ok := e.index[n]; ok {
			e.list[i].what = append(e.list[i].what, what)
			return
		}
		e.index[n] = len(e.list)
	}
	e.list = append(e.list, devNodeEdit{node: n, what: []string{what}})
}

// indexed switches to lookups by node, for edits made out of node order.
func (e *devBodyEdits) indexed() *devBodyEdits {
	if e.index == nil {
		e.index = make(map[*nodepb.NodeDef]int, len(e.list))
		for i, x := range e.list {
			e.index[x.node] = i
		}
	}
	return e
}

// applyBodyDevices applies bp, the plan of one body of meta graph mg,
// recording one change per edited node.
func applyBodyDevices(c *Context, mg int, bp devBodyPlan) error {
	var edits devBodyEdits
	fn := bp.b.Name()
	for _, s := range bp.steps {
		if d := s.dev; d != nil {
			if d.err != nil {
				return c.Errorf(Node(mg, fn, s.n.GetName()), "device %q: %w", d.from, d.err)
			}
			edits.add(s.n, d.msg)
			s.n.Device = d.to
		}
		if s.cfg == nil {
			continue
		}
		if s.cfg.err != nil {
			return c.Errorf(Node(mg, fn, s.n.GetName()), "%w", s.cfg.err)
		}
		msg, err := cleanConfigProto(s.n, s.cfg.cfg)
		if err != nil {
			return c.Errorf(Node(mg, fn, s.n.GetName()), "%w", err)
		}
		edits.add(s.n, msg)
	}
	if err := devPruneColocation(bp.b, func(n *nodepb.NodeDef, dropped []string) {
		edits.indexed().add(n, fmt.Sprintf("colocation with missing node(s) %s dropped", strings.Join(dropped, ", ")))
	}); err != nil {
		return c.Errorf(Node(mg, fn, ""), "%w", err)
	}
	if bp.conflictErr != nil {
		return c.Errorf(Node(mg, fn, ""), "%w", bp.conflictErr)
	}
	nodes := bp.b.Nodes()
	for _, cf := range bp.conflicts {
		for _, i := range cf.members {
			if was := nodes[i].Device; was != "" {
				nodes[i].Device = ""
				edits.indexed().add(nodes[i], fmt.Sprintf("device %q -> \"\" (%s)", was, cf.why))
			}
		}
	}
	for _, e := range edits.list {
		what := e.what[0]
		if len(e.what) > 1 {
			what = strings.Join(e.what, "; ")
		}
		c.Changef(Node(mg, fn, e.node.GetName()), "%s", what)
	}
	return nil
}

// devPruneColocation drops the "_class" entries of b's nodes that name nodes
// b does not hold, calling report for each node it edits.
func devPruneColocation(b *graphdef.Body, report func(n *nodepb.NodeDef, dropped []string)) error {
	var touched []string
	for _, n := range b.Nodes() {
		a := n.GetAttr()[graphdef.ClassAttr]
		if a.GetList() == nil {
			continue
		}
		var keep [][]byte
		var dropped []string
		for _, s := range a.GetList().GetS() {
			name, ok := strings.CutPrefix(string(s), graphdef.ColocPrefix)
			if ok && b.Node(name) == nil {
				dropped = append(dropped, name)
				continue
			}
			keep = append(keep, s)
		}
		if len(dropped) == 0 {
			continue
		}
		if len(keep) == 0 {
			delete(n.Attr, graphdef.ClassAttr)
		} else {
			a.GetList().S = keep
		}
		touched = append(touched, n.GetName())
		report(n, dropped)
	}
	for _, name := range touched {
		if err := b.Update(name); err != nil {
			return err
		}
	}
	return nil
}

// devHandleOps are ops whose output 0 is a variable (resource or ref) that the
// placer colocates with every op reading it.
var devHandleOps = map[string]bool{
	"VarHandleOp": true, "_VarHandlesOp": true, "VariableV2": true, "Variable": true,
	"TemporaryVariable": true,
}

// devColocatedConsumer reports whether the placer colocates consumer n with
// the variable op it reads (ColocateResourceAndRefEdges): the input must be
// of resource type (every consumer of a VarHandleOp, as far as this package
// can tell without an op registry) or of ref type (the ref-taking ops of a
// VariableV2: Assign*, Scatter*, Apply*, SparseApply*, Ref*, CountUpTo,
// IsVariableInitialized, DestroyTemporaryVariable; an Identity or SaveV2
// reading a ref variable dereferences it and is not colocated), and the
// consumer must not be one of the ops TF exempts
// (REGISTER_INPUT_COLOCATION_EXEMPTION: function calls, IdentityN, dataset
// ops), nor a call of a library function.
func devColocatedConsumer(g *graphdef.Graph, n *nodepb.NodeDef, resource bool) bool {
	op := n.GetOp()
	switch {
	case op == "PartitionedCall", op == "StatefulPartitionedCall", op == "IdentityN",
		op == "DeleteMultiDeviceIterator", op == "RpcServerRegister", strings.HasSuffix(op, "Dataset"),
		strings.HasSuffix(op, "DatasetV2"), g.Function(op) != nil:
		return false
	case resource:
		return true
	}
	for _, p := range []string{"Assign", "Scatter", "Apply", "SparseApply", "ResourceApply", "Ref"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return op == "CountUpTo" || op == "IsVariableInitialized" || op == "DestroyTemporaryVariable"
}

// devColocationGroups returns the colocation groups of b with more than one
// member, as node indexes into b.Nodes(), formed by "_class" entries and by
// edges from variable-handle ops to their consumers.
func devColocationGroups(b *graphdef.Body) [][]int {
	nodes := b.Nodes()
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.GetName()] = i
	}
	parent := make([]int, len(nodes))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[rb] = ra
		}
	}
	joined := false
	for i, n := range nodes {
		for _, name := range graphdef.Colocation(n) {
			if j, ok := index[name]; ok {
				union(i, j)
				joined = true
			}
		}
		if devHandleOps[n.GetOp()] {
			resource := n.GetOp() == "VarHandleOp" || n.GetOp() == "_VarHandlesOp"
			for _, u := range b.Consumers(n.GetName()) {
				if u.Input.Control || !devColocatedConsumer(b.Graph(), u.Node, resource) {
					continue
				}
				if j, ok := index[u.Node.GetName()]; ok {
					union(i, j)
					joined = true
				}
			}
		}
	}
	if !joined {
		return nil
	}
	byRoot := map[int][]int{}
	var roots []int
	for i := range nodes {
		r := find(i)
		if _, ok := byRoot[r]; !ok {
			roots = append(roots, r)
		}
		byRoot[r] = append(byRoot[r], i)
	}
	var out [][]int
	for _, r := range roots {
		if len(byRoot[r]) > 1 {
			out = append(out, byRoot[r])
		}
	}
	return out
}

// devGroupConflict is a colocation group whose devices cannot be placed
// together: node indexes into Body.Nodes() and why.
type devGroupConflict struct {
	members []int
	why     string
}

// devGroupConflicts returns the colocation groups of b whose devices, as
// devOf gives them, cannot be merged (Spec.Merge, without soft placement),
// or that merge to a GPU while holding an op without a GPU kernel. devOf
// returns "" for a node without a device.
func devGroupConflicts(b *graphdef.Body, devOf func(*nodepb.NodeDef) (string, error)) ([]devGroupConflict, error) {
	nodes := b.Nodes()
	var out []devGroupConflict
	for _, group := range devColocationGroups(b) {
		var merged device.Spec
		var first, cpuOnly string
		conflict := ""
		for _, i := range group {
			if cpuOnly == "" && devNoGPUKernel(nodes[i]) {
				cpuOnly = nodes[i].GetName()
			}
			d, err := devOf(nodes[i])
			if err != nil {
				return nil, fmt.Errorf("node %s: %w", nodes[i].GetName(), err)
			}
			if d == "" {
				continue
			}
			s, err := device.Parse(d)
			if err != nil {
				return nil, fmt.Errorf("node %s: device %q: %w", nodes[i].GetName(), d, err)
			}
			m, err := merged.Merge(s)
			if err != nil {
				conflict = fmt.Sprintf("colocated with %s on %q, which cannot share a device with %q", first, merged.String(), d)
				break
			}
			if first == "" {
				first = nodes[i].GetName()
			}
			merged = m
		}
		if conflict == "" && cpuOnly != "" && merged.Kind() == device.KindGPU {
			conflict = fmt.Sprintf("colocated with %s on %q, but %s (%s) has no GPU kernel", first, merged.String(), cpuOnly, b.Node(cpuOnly).GetOp())
		}
		if conflict != "" {
			out = append(out, devGroupConflict{group, conflict})
		}
	}
	return out, nil
}

// devNoGPUKernel reports whether TensorFlow has kernels for n's op but none
// that runs n on a GPU (ops.HasGPUKernel).
func devNoGPUKernel(n *nodepb.NodeDef) bool {
	has, known := ops.HasGPUKernel(n)
	return known && !has
}

// devCPUOnly reports whether node n, whose device becomes dev, is pinned to
// a GPU although it has no GPU kernel (devNoGPUKernel): TensorFlow placed
// it on the CPU only because soft placement was on when the model was
// built. Such a node gets no device, so the placer puts it where its kernel
// is.
func devCPUOnly(n *nodepb.NodeDef, dev string) bool {
	if dev == "" || !devNoGPUKernel(n) {
		return false
	}
	s, err := device.Parse(dev)
	return err == nil && s.Kind() == device.KindGPU
}

// cleanConfigProto removes device_filters, cluster_def and the experimental
// collective_group_leader and coordination_config from cfg, the
// parsed ConfigProto of n's "config_proto" attr (devConfigProto), stores it
// back in the attr and returns a description of what it removed.
func cleanConfigProto(n *nodepb.NodeDef, cfg *tfpb.ConfigProto) (string, error) {
	var parts []string
	if len(cfg.DeviceFilters) > 0 {
		parts = append(parts, fmt.Sprintf("config_proto device_filters %q removed", cfg.DeviceFilters))
		cfg.DeviceFilters = nil
	}
	if cfg.ClusterDef != nil {
		var jobs []string
		for _, j := range cfg.ClusterDef.GetJob() {
			jobs = append(jobs, j.GetName())
		}
		parts = append(parts, fmt.Sprintf("config_proto cluster_def (jobs %s) removed", strings.Join(jobs, ", ")))
		cfg.ClusterDef = nil
	}
	if x := cfg.GetExperimental(); x.GetCollectiveGroupLeader() != "" {
		parts = append(parts, fmt.Sprintf("config_proto collective_group_leader %q removed", x.CollectiveGroupLeader))
		x.CollectiveGroupLeader = ""
	}
	if x := cfg.GetExperimental(); x.GetCoordinationConfig() != nil {
		parts = append(parts, fmt.Sprintf("config_proto coordination_config (service leader %q) removed", x.CoordinationConfig.GetServiceLeader()))
		x.CoordinationConfig = nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("config_proto attr: %w", err)
	}
	n.Attr["config_proto"].Value = &attrpb.AttrValue_S{S: b}
	return strings.Join(parts, "; "), nil
}

// devBareType matches a device given as a bare type ("CPU", "GPU"), which
// Python's DeviceSpec accepts in SavedResource.device.
var devBareType = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// applyObjectDevice applies pol to a device from the SavedObjectGraph.
func applyObjectDevice(pol device.Policy, s string) (string, error) {
	return pol.Apply(devObjectName(s))
}

// devObjectName returns an object-graph device string in the form Parse
// reads: a bare type such as "CPU" (SavedResource.device) becomes
// "/device:CPU".
func devObjectName(s string) string {
	if devBareType.MatchString(s) {
		return "/device:" + s
	}
	return s
}

// devPlaceable reports whether TensorFlow's placer, in one local process of
// the target with soft placement off, finds a device for the device string s
// (device.Target.Unplaceable). The verify pass reports only device strings
// that are not placeable: "/device:CPU:0" in a model saved on one CPU is
// inside the target, even though the devices pass would clear it.
func devPlaceable(s string, t device.Target) bool {
	spec, err := device.Parse(s)
	return err == nil && t.Unplaceable(spec) == ""
}

// devSoftPlaceable reports whether soft placement finds a device for s in a
// one-device process of t (device.Target.SoftUnplaceable).
func devSoftPlaceable(s string, t device.Target) bool {
	spec, err := device.Parse(s)
	return err == nil && t.SoftUnplaceable(spec) == ""
}

// applyObjectDevices applies steps, the object-graph part of a device plan,
// to og: one change per variable (with its components) or resource.
func applyObjectDevices(c *Context, mg int, og *tfpb.SavedObjectGraph, steps []devObjectStep) error {
	for i := 0; i < len(steps); {
		id := steps[i].id
		obj := og.GetNodes()[id]
		var what []string
		for ; i < len(steps) && steps[i].id == id; i++ {
			s := steps[i]
			switch s.kind {
			case "variable":
				if s.err != nil {
					return c.Errorf(Object(mg, id), "variable %s device %q: %w", s.name, s.from, s.err)
				}
				what = append(what, fmt.Sprintf("variable %s device %q -> %q", s.name, s.from, s.to))
				obj.GetVariable().Device = s.to
			case "component":
				if s.err != nil {
					return c.Errorf(Object(mg, id), "variable component %s device %q: %w", s.name, s.from, s.err)
				}
				what = append(what, fmt.Sprintf("component %s device %q -> %q", s.name, s.from, s.to))
				obj.GetVariable().GetExperimentalDistributedVariableComponents()[s.index].Device = s.to
			case "resource":
				if s.err != nil {
					return c.Errorf(Object(mg, id), "resource device %q: %w", s.from, s.err)
				}
				what = append(what, fmt.Sprintf("resource device %q -> %q", s.from, s.to))
				obj.GetResource().Device = s.to
			}
		}
		c.Changef(Object(mg, id), "%s", strings.Join(what, "; "))
	}
	return nil
}

func devDescribeTarget(nd string) string {
	if nd == "" {
		return `"" (cleared)`
	}
	return fmt.Sprintf("%q", nd)
}
