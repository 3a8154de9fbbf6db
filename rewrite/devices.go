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
//     both are removed; the rest of the ConfigProto (allow_soft_placement,
//     thread and optimizer options) is kept byte for byte when nothing changes.
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
// device instead, so the placer puts it on the CPU. The ops are those whose
// kernels TensorFlow v2.18.0 registers for no GPU (devCPUOnlyOps, generated
// from the kernel registrations in TensorFlow's source by
// TestCPUOnlyKernelTable). A colocation group holding such an op and a GPU
// pin is cleared whole, as for a CPU/GPU conflict: otherwise the op would
// fail with tfgo#16's error.
//
// Every edited node gets one change record saying what its device (and
// colocation) was and what it became.
var Devices = &Pass{
	Name: "devices",
	Doc: "Devices remaps every device name (NodeDef.device in the main graph and every function, " +
		"SavedVariable and SavedResource devices, device filters of call-node ConfigProtos) by the " +
		"target's device policy, drops colocation entries naming missing nodes, and resolves " +
		"colocation groups whose remapped devices conflict.",
	Run: runDevices,
}

func runDevices(c *Context) error {
	pol := c.Options.DevicePolicy()
	for mg, meta := range c.MetaGraphs() {
		if err := c.Ctx.Err(); err != nil {
			return err
		}
		if err := remapGraphDevices(c, mg, pol); err != nil {
			return err
		}
		if err := remapObjectDevices(c, mg, meta.GetObjectGraphDef(), pol); err != nil {
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

func remapGraphDevices(c *Context, mg int, pol device.Policy) error {
	g := c.Graph(mg)
	// Saved graphs use a handful of device names: format each edit once.
	type devEdit struct{ from, to, op string }
	msgs := map[devEdit]string{}
	for _, b := range g.Bodies() {
		var edits devBodyEdits
		fn := b.Name()
		for i, n := range b.Nodes() {
			if i&0xffff == 0 {
				if err := c.Ctx.Err(); err != nil {
					return err
				}
			}
			if n.Device != "" {
				nd, err := pol.Apply(n.Device)
				if err != nil {
					return c.Errorf(Node(mg, fn, n.GetName()), "device %q: %w", n.Device, err)
				}
				key := devEdit{from: n.Device, to: nd}
				if devCPUOnly(n, nd) {
					key = devEdit{from: n.Device, op: n.GetOp()}
				}
				if key.to != n.Device {
					msg, ok := msgs[key]
					if !ok {
						msg = fmt.Sprintf("device %q -> %q", key.from, key.to)
						if key.op != "" {
							msg += fmt.Sprintf(" (%s has no GPU kernel)", key.op)
						}
						msgs[key] = msg
					}
					edits.add(n, msg)
					n.Device = key.to
				}
			}
			if msg, err := cleanConfigProto(n); err != nil {
				return c.Errorf(Node(mg, fn, n.GetName()), "%w", err)
			} else if msg != "" {
				edits.add(n, msg)
			}
		}
		if err := devPruneColocation(b, func(n *nodepb.NodeDef, dropped []string) {
			edits.indexed().add(n, fmt.Sprintf("colocation with missing node(s) %s dropped", strings.Join(dropped, ", ")))
		}); err != nil {
			return c.Errorf(Node(mg, fn, ""), "%w", err)
		}
		if pol.EffectiveMode() == device.Remap {
			if err := resolveColocationConflicts(b, func(n *nodepb.NodeDef, was, why string) {
				edits.indexed().add(n, fmt.Sprintf("device %q -> \"\" (%s)", was, why))
			}); err != nil {
				return c.Errorf(Node(mg, fn, ""), "%w", err)
			}
		}
		for _, e := range edits.list {
			what := e.what[0]
			if len(e.what) > 1 {
				what = strings.Join(e.what, "; ")
			}
			c.Changef(Node(mg, fn, e.node.GetName()), "%s", what)
		}
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
			if devCPUOnlyOps[nodes[i].GetOp()] && cpuOnly == "" {
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

// resolveColocationConflicts clears the devices of every colocation group
// of b whose members' devices cannot be placed together.
func resolveColocationConflicts(b *graphdef.Body, report func(n *nodepb.NodeDef, was, why string)) error {
	conflicts, err := devGroupConflicts(b, func(n *nodepb.NodeDef) (string, error) { return n.GetDevice(), nil })
	if err != nil {
		return err
	}
	nodes := b.Nodes()
	for _, c := range conflicts {
		for _, i := range c.members {
			if nodes[i].Device != "" {
				was := nodes[i].Device
				nodes[i].Device = ""
				report(nodes[i], was, c.why)
			}
		}
	}
	return nil
}

// devCPUOnly reports whether node n, whose device becomes dev, is pinned to
// a GPU although its op has no GPU kernel (devCPUOnlyOps): TensorFlow placed
// it on the CPU only because soft placement was on when the model was
// built. Such a node gets no device, so the placer puts it where its kernel
// is.
func devCPUOnly(n *nodepb.NodeDef, dev string) bool {
	if dev == "" || !devCPUOnlyOps[n.GetOp()] {
		return false
	}
	s, err := device.Parse(dev)
	return err == nil && s.Kind() == device.KindGPU
}

// cleanConfigProto removes device_filters and cluster_def from the
// serialized ConfigProto in n's "config_proto" attr, returning a description
// of what it removed ("" when nothing).
func cleanConfigProto(n *nodepb.NodeDef) (string, error) {
	a := n.GetAttr()["config_proto"]
	if a == nil || len(a.GetS()) == 0 {
		return "", nil
	}
	var cfg tfpb.ConfigProto
	if err := proto.Unmarshal(a.GetS(), &cfg); err != nil {
		return "", fmt.Errorf("config_proto attr is not a ConfigProto: %w", err)
	}
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
	if len(parts) == 0 {
		return "", nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&cfg)
	if err != nil {
		return "", fmt.Errorf("config_proto attr: %w", err)
	}
	a.Value = &attrpb.AttrValue_S{S: b}
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

func remapObjectDevices(c *Context, mg int, og *tfpb.SavedObjectGraph, pol device.Policy) error {
	for id, obj := range og.GetNodes() {
		switch k := obj.GetKind().(type) {
		case *tfpb.SavedObject_Variable:
			v := k.Variable
			var what []string
			if v.Device != "" {
				nd, err := applyObjectDevice(pol, v.Device)
				if err != nil {
					return c.Errorf(Object(mg, id), "variable %s device %q: %w", v.GetName(), v.Device, err)
				}
				if nd != v.Device {
					what = append(what, fmt.Sprintf("variable %s device %q -> %q", v.GetName(), v.Device, nd))
					v.Device = nd
				}
			}
			for _, comp := range v.GetExperimentalDistributedVariableComponents() {
				if comp.Device == "" {
					continue
				}
				nd, err := applyObjectDevice(pol, comp.Device)
				if err != nil {
					return c.Errorf(Object(mg, id), "variable component %s device %q: %w", comp.GetName(), comp.Device, err)
				}
				if nd != comp.Device {
					what = append(what, fmt.Sprintf("component %s device %q -> %q", comp.GetName(), comp.Device, nd))
					comp.Device = nd
				}
			}
			if len(what) > 0 {
				c.Changef(Object(mg, id), "%s", strings.Join(what, "; "))
			}
		case *tfpb.SavedObject_Resource:
			r := k.Resource
			if r.Device == "" {
				continue
			}
			nd, err := applyObjectDevice(pol, r.Device)
			if err != nil {
				return c.Errorf(Object(mg, id), "resource device %q: %w", r.Device, err)
			}
			if nd != r.Device {
				c.Changef(Object(mg, id), "resource device %q -> %q", r.Device, nd)
				r.Device = nd
			}
		}
	}
	return nil
}

// deviceProblems lists what pol would change in the device names of meta
// graph mg: the checks of the verify pass, in the order Devices edits. find
// gets where, the device name concerned ("" when the finding is about no
// single name) and the text, without the "device:" category.
func deviceProblems(mg int, meta *tfpb.MetaGraphDef, g *graphdef.Graph, pol device.Policy, find func(w Where, dev, what string)) {
	// TF soft-places these bodies in every runtime: only a device's job,
	// replica and task must exist (graphdef.SoftPlacedFunctions).
	soft := g.SoftPlacedFunctions()
	for loc, n := range g.All() {
		if n.GetDevice() != "" {
			nd, err := pol.Apply(n.GetDevice())
			isSoft := soft[loc.Function]
			switch {
			case err != nil:
				find(Node(mg, loc.Function, loc.Node), n.GetDevice(), fmt.Sprintf("%q: %v", n.GetDevice(), err))
			case nd != n.GetDevice() && !devPlaceable(n.GetDevice(), pol.Target) && !(isSoft && devSoftPlaceable(n.GetDevice(), pol.Target)):
				find(Node(mg, loc.Function, loc.Node), n.GetDevice(), fmt.Sprintf("%q names no device of a one-%s process (the policy makes it %s)", n.GetDevice(), pol.Target, devDescribeTarget(nd)))
			case !isSoft && devCPUOnly(n, nd):
				find(Node(mg, loc.Function, loc.Node), n.GetDevice(), fmt.Sprintf("%q pins %s, which has no GPU kernel, to a GPU", n.GetDevice(), n.GetOp()))
			}
		}
		if a := n.GetAttr()["config_proto"]; a != nil && len(a.GetS()) > 0 {
			var cfg tfpb.ConfigProto
			if err := proto.Unmarshal(a.GetS(), &cfg); err == nil && (len(cfg.DeviceFilters) > 0 || cfg.ClusterDef != nil) {
				find(Node(mg, loc.Function, loc.Node), "", fmt.Sprintf("config_proto names devices: device_filters %q, cluster_def %v", cfg.DeviceFilters, cfg.ClusterDef != nil))
			}
		}
	}
	if pol.EffectiveMode() == device.Remap {
		for _, b := range g.Bodies() {
			conflicts, err := devGroupConflicts(b, func(n *nodepb.NodeDef) (string, error) {
				if n.GetDevice() == "" {
					return "", nil
				}
				d, err := pol.Apply(n.GetDevice())
				if devCPUOnly(n, d) {
					d = ""
				}
				return d, err
			})
			if err != nil {
				continue // the parse error is a finding above
			}
			for _, c := range conflicts {
				n := b.Nodes()[c.members[0]]
				find(Node(mg, b.Name(), n.GetName()), "", fmt.Sprintf("the colocation group of %s (%d nodes) cannot be placed: %s", n.GetName(), len(c.members), c.why))
			}
		}
	}
	for id, obj := range meta.GetObjectGraphDef().GetNodes() {
		var devs []string
		if v := obj.GetVariable(); v != nil {
			devs = append(devs, v.GetDevice())
			for _, comp := range v.GetExperimentalDistributedVariableComponents() {
				devs = append(devs, comp.GetDevice())
			}
		}
		if r := obj.GetResource(); r != nil {
			devs = append(devs, r.GetDevice())
		}
		for _, d := range devs {
			if d == "" {
				continue
			}
			nd, err := applyObjectDevice(pol, d)
			switch {
			case err != nil:
				find(Object(mg, id), d, fmt.Sprintf("%q: %v", d, err))
			case nd != d && !devPlaceable(devObjectName(d), pol.Target):
				find(Object(mg, id), d, fmt.Sprintf("%q names no device of a one-%s process (the policy makes it %s)", d, pol.Target, devDescribeTarget(nd)))
			}
		}
	}
}

func devDescribeTarget(nd string) string {
	if nd == "" {
		return `"" (cleared)`
	}
	return fmt.Sprintf("%q", nd)
}
