package rewrite

import (
	"context"
	"fmt"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/graphdef"
)

// devPlanner plans what the device policy asks of a model: every device
// name it changes, every config_proto it cleans, every colocation group
// whose devices it clears, and every device it refuses. The devices pass
// applies the plan; the verify pass turns the same plan into findings, the
// way go/analysis pairs a Diagnostic with its SuggestedFix, so verify
// reports only what the pass would change (and, of that, what TensorFlow
// would fail on). A planner plans one body at a time (body), so that the
// pass applies each body's plan while its nodes are in the cache, and the
// objects of a meta graph (planObjectDevices).
type devPlanner struct {
	pol     device.Policy
	applied map[string]devPolicy // what pol makes of each device name seen
	changes map[devEdit]*devChange
	steps   []devStep // scratch for the steps of the body planned last
}

func newDevPlanner(pol device.Policy) *devPlanner {
	return &devPlanner{pol: pol, applied: map[string]devPolicy{}, changes: map[devEdit]*devChange{}}
}

// devBodyPlan is the plan for the main graph or one function.
type devBodyPlan struct {
	b *graphdef.Body
	// steps are the nodes with something planned, in node order; valid
	// until the planner plans the next body.
	steps []devStep
	// conflicts are the colocation groups whose planned devices cannot be
	// placed together (device.Remap mode only); conflictErr stops them.
	conflicts   []devGroupConflict
	conflictErr error
}

// devStep is the plan for one node. It is small: a big graph has a step
// for nearly every node, and the change itself is shared by every node
// with the same device (and, for devCPUOnly, op).
type devStep struct {
	n   *nodepb.NodeDef
	dev *devChange // nil when the device stays
	cfg *devConfig // nil when the config_proto stays
}

// devChange is what the plan does to one device name.
type devChange struct {
	from   string // the device as it is
	policy string // what the policy makes it
	to     string // what the pass sets: policy, or "" (devCPUOnly)
	op     string // the op without a GPU kernel, when that is why to is ""
	msg    string // the change record
	err    error  // the policy refuses from
}

// devConfig is a config_proto that filters devices or names a cluster
// (cfg), or that cannot be parsed (err).
type devConfig struct {
	cfg *tfpb.ConfigProto
	err error
}

// devObjectStep is the plan for one device of the SavedObjectGraph.
type devObjectStep struct {
	id       int
	kind     string // "variable", "component" or "resource"
	name     string // the variable's or component's name
	index    int    // the component's index
	from, to string
	err      error
}

// devEdit keys the changes of a plan: saved graphs use a handful of device
// names, so each is planned once.
type devEdit struct{ from, to, op string }

// devPolicy is what the policy makes of one device name.
type devPolicy struct {
	to  string
	err error
}

// body plans b. ctx is checked every 65536 nodes.
func (pl *devPlanner) body(ctx context.Context, b *graphdef.Body) (devBodyPlan, error) {
	bp := devBodyPlan{b: b}
	steps := pl.steps[:0]
	for i, n := range b.Nodes() {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return bp, err
			}
		}
		s := devStep{n: n}
		if n.Device != "" {
			s.dev = pl.change(n)
		}
		if cfg, err := devConfigProto(n); cfg != nil || err != nil {
			s.cfg = &devConfig{cfg, err}
		}
		if s.dev != nil || s.cfg != nil {
			steps = append(steps, s)
		}
	}
	pl.steps, bp.steps = steps, steps
	if pl.pol.EffectiveMode() == device.Remap {
		bp.conflicts, bp.conflictErr = devGroupConflicts(b, func(n *nodepb.NodeDef) (string, error) {
			if n.GetDevice() == "" {
				return "", nil
			}
			r := pl.applied[n.GetDevice()] // every device of b is there
			if r.err == nil && devCPUOnly(n, r.to) {
				return "", nil
			}
			return r.to, r.err
		})
	}
	return bp, nil
}

// change returns the planned change of node n's device, nil if it stays.
func (pl *devPlanner) change(n *nodepb.NodeDef) *devChange {
	r, ok := pl.applied[n.Device]
	if !ok {
		r.to, r.err = pl.pol.Apply(n.Device)
		pl.applied[n.Device] = r
	}
	key := devEdit{from: n.Device, to: r.to}
	if r.err == nil && devCPUOnly(n, r.to) {
		key = devEdit{from: n.Device, op: n.GetOp()}
	}
	ch := pl.changes[key]
	if ch == nil {
		ch = &devChange{from: key.from, policy: r.to, to: key.to, op: key.op, err: r.err}
		ch.msg = fmt.Sprintf("device %q -> %q", key.from, key.to)
		if key.op != "" {
			ch.msg += fmt.Sprintf(" (%s has no GPU kernel)", key.op)
		}
		pl.changes[key] = ch
	}
	if ch.err == nil && ch.to == ch.from {
		return nil
	}
	return ch
}

// devConfigNames describes what of cfg names devices or the cluster.
func devConfigNames(cfg *tfpb.ConfigProto) string {
	out := fmt.Sprintf("device_filters %q, cluster_def %v", cfg.DeviceFilters, cfg.ClusterDef != nil)
	if l := cfg.GetExperimental().GetCollectiveGroupLeader(); l != "" {
		out += fmt.Sprintf(", collective_group_leader %q", l)
	}
	if c := cfg.GetExperimental().GetCoordinationConfig(); c != nil {
		out += fmt.Sprintf(", coordination_config (service leader %q)", c.GetServiceLeader())
	}
	return out
}

// devConfigProto returns n's config_proto attr, parsed, if it filters
// devices or names a cluster: device_filters, cluster_def, or the
// experimental collective_group_leader or coordination_config of a
// multi-worker strategy (what cleanConfigProto removes).
func devConfigProto(n *nodepb.NodeDef) (*tfpb.ConfigProto, error) {
	a := n.GetAttr()["config_proto"]
	if a == nil || len(a.GetS()) == 0 {
		return nil, nil
	}
	var cfg tfpb.ConfigProto
	if err := proto.Unmarshal(a.GetS(), &cfg); err != nil {
		return nil, fmt.Errorf("config_proto attr is not a ConfigProto: %w", err)
	}
	x := cfg.GetExperimental()
	if len(cfg.DeviceFilters) == 0 && cfg.ClusterDef == nil && x.GetCollectiveGroupLeader() == "" && x.GetCoordinationConfig() == nil {
		return nil, nil
	}
	return &cfg, nil
}

// planObjectDevices plans pol for the devices of og's variables, their
// components and its resources, in object order.
func planObjectDevices(og *tfpb.SavedObjectGraph, pol device.Policy) []devObjectStep {
	var out []devObjectStep
	add := func(id int, kind, name string, index int, from string) {
		if from == "" {
			return
		}
		to, err := applyObjectDevice(pol, from)
		if err != nil || to != from {
			out = append(out, devObjectStep{id: id, kind: kind, name: name, index: index, from: from, to: to, err: err})
		}
	}
	for id, obj := range og.GetNodes() {
		switch k := obj.GetKind().(type) {
		case *tfpb.SavedObject_Variable:
			add(id, "variable", k.Variable.GetName(), 0, k.Variable.GetDevice())
			for i, comp := range k.Variable.GetExperimentalDistributedVariableComponents() {
				add(id, "component", comp.GetName(), i, comp.GetDevice())
			}
		case *tfpb.SavedObject_Resource:
			add(id, "resource", "", 0, k.Resource.GetDevice())
		}
	}
	return out
}

// deviceProblems turns the device plan of meta graph mg into the verify
// pass's findings: of what the devices pass would change, what TensorFlow
// would fail on, in the order the pass edits. find gets where, the device
// name concerned ("" when the finding is about no single name) and the
// text, without the "device:" category.
func deviceProblems(ctx context.Context, mg int, meta *tfpb.MetaGraphDef, g *graphdef.Graph, pol device.Policy, find func(w Where, dev, what string)) error {
	pl := newDevPlanner(pol)
	// TF soft-places these bodies in every runtime: only a device's job,
	// replica and task must exist (graphdef.SoftPlacedFunctions).
	soft := g.SoftPlacedFunctions()
	type conflict struct {
		w    Where
		what string
	}
	var conflicts []conflict // reported after every node, as the pass edits
	for _, b := range g.Bodies() {
		bp, err := pl.body(ctx, b)
		if err != nil {
			return err
		}
		isSoft := soft[b.Name()]
		for _, s := range bp.steps {
			w := Node(mg, b.Name(), s.n.GetName())
			if d := s.dev; d != nil {
				switch {
				case d.err != nil:
					find(w, d.from, fmt.Sprintf("%q: %v", d.from, d.err))
				case d.policy != d.from && !devPlaceable(d.from, pol.Target) && !(isSoft && devSoftPlaceable(d.from, pol.Target)):
					find(w, d.from, fmt.Sprintf("%q names no device of a one-%s process (the policy makes it %s)", d.from, pol.Target, devDescribeTarget(d.policy)))
				case !isSoft && d.op != "":
					find(w, d.from, fmt.Sprintf("%q pins %s, which has no GPU kernel, to a GPU", d.from, d.op))
				}
			}
			if s.cfg != nil && s.cfg.cfg != nil {
				find(w, "", "config_proto names devices: "+devConfigNames(s.cfg.cfg))
			}
		}
		for _, c := range bp.conflicts {
			n := b.Nodes()[c.members[0]]
			conflicts = append(conflicts, conflict{Node(mg, b.Name(), n.GetName()),
				fmt.Sprintf("the colocation group of %s (%d nodes) cannot be placed: %s", n.GetName(), len(c.members), c.why)})
		}
	}
	for _, c := range conflicts {
		find(c.w, "", c.what)
	}
	for _, s := range planObjectDevices(meta.GetObjectGraphDef(), pol) {
		switch {
		case s.err != nil:
			find(Object(mg, s.id), s.from, fmt.Sprintf("%q: %v", s.from, s.err))
		case !devPlaceable(devObjectName(s.from), pol.Target):
			find(Object(mg, s.id), s.from, fmt.Sprintf("%q names no device of a one-%s process (the policy makes it %s)", s.from, pol.Target, devDescribeTarget(s.to)))
		}
	}
	return nil
}
