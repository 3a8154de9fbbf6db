package rewrite

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/graphdef"
)

// Replicas collapses every distributed variable to its primary copy.
//
// Replica variables are recognised in the main graph of each MetaGraphDef:
//
//   - MirroredStrategy components saved with the EXPAND_DISTRIBUTED_VARIABLES
//     policy (or built in a TF1 graph under the strategy): a variable op whose
//     shared_name (or, without one, node name) is "<primary>/replica_<N>",
//     N >= 1, next to a variable op of the same type, dtype and shape whose
//     shared_name (or name) is "<primary>", when a SavedVariable lists it in
//     experimental_distributed_variable_components or it is pinned to another
//     device than the primary;
//   - TF1 multi-GPU towers: a variable named "tower_<N>/<name>", N >= 1, next
//     to a variable "<name>" (or "tower_0/<name>") of the same type, dtype and
//     shape, both pinned to devices that differ. The device condition keeps
//     models that merely use such names untouched.
//
// For every replica the pass rewires every consumer (call nodes passing the
// captured handle to functions, reads, the saver, colocation "_class"
// entries) to the primary, removes the replica's own initializer and the
// reads nobody uses, then the replica op itself. A function that took both
// the primary and a replica handle now receives the primary twice, which is
// the single-replica meaning of the same call. Writes other than the
// replica's initializer (a TF1 tower's training update) now write the
// primary; each is reported as a finding.
//
// In the metadata: experimental_distributed_variable_components are cleared
// in every SavedVariable; VariableDef entries of removed replicas are dropped
// from TF1 collections, as are node_list entries naming removed nodes.
// SavedConcreteFunction.bound_inputs already name the one SavedVariable of a
// distributed variable; they are checked to name existing nodes.
//
// In the checkpoint: TF2 writes one value per distributed variable (the
// primary's, or the aggregate of a SyncOnRead variable) and nothing for the
// replicas; such entries are left alone. TF1 tower savers write every copy:
// each replica entry is compared with its primary's (streamed; the maximum
// absolute difference is computed in float64 when the bytes differ), then
// deleted from the checkpoint plan and from the checkpoint's object graph if
// it is named there. A replica that differs is a *DivergenceError unless
// Options.AllowDivergence is set; either way the report gives the difference.
// The saver's slots for the deleted entries are removed by the saver pass.
//
// A model without replicas is left untouched.
var Replicas = &Pass{
	Name: "replicas",
	Doc:  "Replicas collapses per-replica copies of distributed variables to the primary copy, in the graph, the object graph, the collections and the checkpoint.",
	Run:  runReplicas,
}

// variableOps are the op types that create a variable (or its handle) in a
// graph.
var variableOps = []string{"VarHandleOp", "VariableV2", "Variable"}

var (
	mirroredReplicaName = regexp.MustCompile(`^(.+)/replica_([0-9]+)$`)
	towerReplicaName    = regexp.MustCompile(`^tower_([0-9]+)/(.+)$`)
)

// replica is one per-replica copy of a variable and the primary it
// collapses to.
type replica struct {
	node    string // replica variable op (main graph)
	primary string // primary variable op (main graph)
	index   int    // replica number, >= 1
	kind    string // "mirrored" or "tower"
}

func runReplicas(c *Context) error {
	for mg := range c.MetaGraphs() {
		reps, err := findReplicas(c, mg)
		if err != nil {
			return err
		}
		if len(reps) > 0 {
			// Keys come from the saver before the graph is rewired, and the
			// values are checked before anything changes.
			keys, err := replicaKeys(c, mg, reps)
			if err != nil {
				return err
			}
			diffs, err := checkReplicaValues(c, mg, reps, keys)
			if err != nil {
				return err
			}
			if err := collapseReplicas(c, mg, reps); err != nil {
				return err
			}
			if err := dropReplicaMetadata(c, mg, reps); err != nil {
				return err
			}
			if err := dropReplicaEntries(c, mg, reps, keys, diffs); err != nil {
				return err
			}
		}
		if err := dropComponents(c, mg); err != nil {
			return err
		}
	}
	return nil
}

// findReplicas lists the replica variables of meta graph mg's main graph,
// sorted by node name.
func findReplicas(c *Context, mg int) ([]replica, error) {
	main := c.Graph(mg).Main()
	vars := map[string]*nodepb.NodeDef{}   // by node name
	shared := map[string]*nodepb.NodeDef{} // by shared_name
	for _, n := range main.Nodes() {
		if !slices.Contains(variableOps, n.GetOp()) {
			continue
		}
		vars[n.GetName()] = n
		if s := sharedName(n); s != "" {
			if _, dup := shared[s]; !dup {
				shared[s] = n
			}
		}
	}
	components := componentNames(c, mg)
	var out []replica
	for _, n := range main.Nodes() {
		if vars[n.GetName()] != n {
			continue
		}
		r, ok := matchReplica(n, vars, shared)
		if !ok {
			continue
		}
		p := vars[r.primary]
		why := incompatible(n, p)
		if why == "" && r.kind == "mirrored" && !components[sharedName(n)] && !components[n.GetName()] && !onOtherDevice(n, p) {
			why = "no SavedVariable lists it as a distributed component and it is not on another device than the primary"
		}
		if why != "" {
			c.Notef(Node(mg, "", n.GetName()), "looks like replica %d of variable %s but is not collapsed: %s", r.index, r.primary, why)
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b replica) int { return strings.Compare(a.node, b.node) })
	return out, nil
}

// matchReplica reports whether n is a replica copy, and of which primary.
func matchReplica(n *nodepb.NodeDef, vars, shared map[string]*nodepb.NodeDef) (replica, bool) {
	name := sharedName(n)
	if name == "" {
		name = n.GetName()
	}
	if m := mirroredReplicaName.FindStringSubmatch(name); m != nil {
		i, err := strconv.Atoi(m[2])
		if err != nil || i < 1 {
			return replica{}, false
		}
		p := shared[m[1]]
		if p == nil {
			p = vars[m[1]]
		}
		if p == nil {
			// The node name may carry the suffix while shared_name was
			// uniquified differently; try the node name too.
			if mm := mirroredReplicaName.FindStringSubmatch(n.GetName()); mm != nil {
				p = vars[mm[1]]
			}
		}
		if p == nil || p == n {
			return replica{}, false
		}
		return replica{node: n.GetName(), primary: p.GetName(), index: i, kind: "mirrored"}, true
	}
	if m := towerReplicaName.FindStringSubmatch(n.GetName()); m != nil {
		i, err := strconv.Atoi(m[1])
		if err != nil || i < 1 {
			return replica{}, false
		}
		p := vars[m[2]]
		if p == nil {
			p = vars["tower_0/"+m[2]]
		}
		if p == nil || !onOtherDevice(n, p) {
			return replica{}, false
		}
		return replica{node: n.GetName(), primary: p.GetName(), index: i, kind: "tower"}, true
	}
	return replica{}, false
}

// onOtherDevice reports whether variable ops a and b are both pinned, to
// different devices: the mark of per-device copies.
func onOtherDevice(a, b *nodepb.NodeDef) bool {
	return a.GetDevice() != "" && b.GetDevice() != "" && a.GetDevice() != b.GetDevice()
}

// componentNames returns the names of the distributed variable components
// that the SavedVariables of meta graph mg list (EXPAND policy).
func componentNames(c *Context, mg int) map[string]bool {
	out := map[string]bool{}
	for _, obj := range c.MetaGraphs()[mg].GetObjectGraphDef().GetNodes() {
		for _, comp := range obj.GetVariable().GetExperimentalDistributedVariableComponents() {
			out[comp.GetName()] = true
		}
	}
	return out
}

// incompatible says why variable ops a and b cannot be copies of one
// variable, or "".
func incompatible(a, b *nodepb.NodeDef) string {
	if a.GetOp() != b.GetOp() {
		return fmt.Sprintf("op %s differs from the primary's %s", a.GetOp(), b.GetOp())
	}
	if da, db := a.GetAttr()["dtype"].GetType(), b.GetAttr()["dtype"].GetType(); da != db {
		return fmt.Sprintf("dtype %v differs from the primary's %v", da, db)
	}
	sa, sb := a.GetAttr()["shape"].GetShape(), b.GetAttr()["shape"].GetShape()
	if sa != nil && sb != nil && !proto.Equal(sa, sb) {
		return fmt.Sprintf("shape %v differs from the primary's %v", shapeDims(sa.GetDim()), shapeDims(sb.GetDim()))
	}
	return ""
}

func shapeDims[D interface{ GetSize() int64 }](dims []D) []int64 {
	out := make([]int64, len(dims))
	for i, d := range dims {
		out[i] = d.GetSize()
	}
	return out
}

func sharedName(n *nodepb.NodeDef) string {
	return string(n.GetAttr()["shared_name"].GetS())
}

// writeOps are op types (or prefixes) that write the variable given as their
// first input.
var writeOps = []string{"Assign", "ResourceApply", "Apply", "ResourceScatter", "Scatter", "ResourceSparseApply", "SparseApply", "ResourceStridedSliceAssign"}

func isWrite(op string) bool {
	return slices.ContainsFunc(writeOps, func(p string) bool { return strings.HasPrefix(op, p) })
}

// collapseReplicas rewires the consumers of every replica to its primary and
// removes the replica ops, their initializers and their unused reads. Edits
// are batched so that the work is linear in the graph size plus the
// replicas' consumers, however many replicas there are.
func collapseReplicas(c *Context, mg int, reps []replica) error {
	main := c.Graph(mg).Main()
	uses := replicaUses(main, reps)
	var inits, nodes []string
	for _, r := range reps {
		for _, u := range uses[r.node] {
			owner := u.Node.GetName()
			if isInitializer(u.Node, r.node) {
				if !slices.Contains(inits, owner) {
					inits = append(inits, owner)
					c.Changef(Node(mg, "", owner), "removed the initializer of replica %s", r.node)
				}
				continue
			}
			if !u.Control && u.Slot == 0 && isWrite(u.Node.GetOp()) && !isSaverNode(owner) {
				c.Changef(Node(mg, "", owner), "%s wrote replica %s; it now writes the primary %s (a training update: on one device every tower's update lands on the primary)", u.Node.GetOp(), r.node, r.primary)
			}
		}
		nodes = append(nodes, r.node)
	}
	if len(inits) > 0 {
		if err := main.Remove(graphdef.DanglingDropControl, inits...); err != nil {
			return c.Errorf(Node(mg, "", inits[0]), "removing the initializers of replicas: %w", err)
		}
	}
	if err := redirectReplicas(c, mg, reps); err != nil {
		return err
	}
	if err := main.Remove(graphdef.DanglingDropControl, nodes...); err != nil {
		return c.Errorf(Node(mg, "", nodes[0]), "removing replicas: %w", err)
	}
	for _, r := range reps {
		c.Changef(Node(mg, "", r.node), "removed replica %d of variable %s", r.index, r.primary)
	}
	return removeUnusedOwned(c, mg, reps)
}

// replicaUse is one input of Node, at Slot, that names a replica.
type replicaUse struct {
	Node    *nodepb.NodeDef
	Slot    int
	Control bool
}

// replicaUses indexes the inputs that name the replicas, in one pass over
// the body. (Body.Consumers costs the consumer's input count per call, which
// is quadratic for a call node that passes thousands of replica handles.)
func replicaUses(b *graphdef.Body, reps []replica) map[string][]replicaUse {
	out := make(map[string][]replicaUse, len(reps))
	for _, r := range reps {
		out[r.node] = nil
	}
	for _, n := range b.Nodes() {
		for i, in := range n.GetInput() {
			name := graphdef.Producer(in)
			if _, ok := out[name]; ok && name != n.GetName() {
				out[name] = append(out[name], replicaUse{Node: n, Slot: i, Control: strings.HasPrefix(in, "^")})
			}
		}
	}
	return out
}

// redirectReplicas makes every input and "_class" entry that names a
// replica name its primary instead. Each consumer is rewritten once, however
// many replicas it reads (a call node may pass thousands of handles), so the
// cost is the consumers' input count.
func redirectReplicas(c *Context, mg int, reps []replica) error {
	main := c.Graph(mg).Main()
	primary := make(map[string]string, len(reps))
	for _, r := range reps {
		primary[r.node] = r.primary
	}
	uses := replicaUses(main, reps)
	seen := map[*nodepb.NodeDef]bool{}
	var users []*nodepb.NodeDef
	for _, r := range reps {
		for _, u := range uses[r.node] {
			if !seen[u.Node] {
				seen[u.Node] = true
				users = append(users, u.Node)
			}
		}
		for _, n := range main.Colocated(r.node) {
			if !seen[n] {
				seen[n] = true
				users = append(users, n)
			}
		}
	}
	counts := map[string]int{}
	for _, n := range users {
		var data, ctl []string
		read := map[string]bool{}
		for _, in := range n.GetInput() {
			ctlIn := strings.HasPrefix(in, "^")
			node, rest := graphdef.Producer(in), ""
			if i := strings.IndexByte(in, ':'); i >= 0 {
				rest = in[i:]
			}
			if p, ok := primary[node]; ok {
				counts[node]++
				node = p
			}
			if ctlIn {
				ctl = append(ctl, node)
				continue
			}
			read[node] = true
			data = append(data, node+rest)
		}
		in := data
		for _, name := range ctl {
			if !read[name] && !slices.Contains(in[len(data):], "^"+name) {
				in = append(in, "^"+name)
			}
		}
		n.Input = in
		if cl := n.GetAttr()[graphdef.ClassAttr].GetList(); cl != nil {
			var out [][]byte
			for _, e := range cl.GetS() {
				if name, ok := strings.CutPrefix(string(e), graphdef.ColocPrefix); ok {
					if p, ok := primary[name]; ok {
						e = []byte(graphdef.ColocPrefix + p)
					}
				}
				if !slices.ContainsFunc(out, func(o []byte) bool { return string(o) == string(e) }) {
					out = append(out, e)
				}
			}
			cl.S = out
		}
		if err := main.Update(n.GetName()); err != nil {
			return c.Errorf(Node(mg, "", n.GetName()), "rewiring replicas: %w", err)
		}
	}
	for _, r := range reps {
		if n := counts[r.node]; n > 0 {
			c.Changef(Node(mg, "", r.node), "rewired %d input%s reading replica %d (%s) to the primary %s", n, plural(n), r.index, r.kind, r.primary)
		}
	}
	return nil
}

// isInitializer reports whether n is the initializer a TF1 variable or a
// TF2 resource variable gets in graph mode: "<var>/Assign" (Assign or
// AssignVariableOp) writing variable v.
func isInitializer(n *nodepb.NodeDef, v string) bool {
	if n.GetName() != v+"/Assign" || (n.GetOp() != "Assign" && n.GetOp() != "AssignVariableOp") || len(n.GetInput()) == 0 {
		return false
	}
	in, err := graphdef.ParseGraphInput(n.GetInput()[0])
	return err == nil && !in.Control && in.Node == v
}

// isSaverNode reports whether a main-graph node belongs to a TF1 Saver.
func isSaverNode(name string) bool {
	return strings.HasPrefix(name, "save/") || strings.HasPrefix(name, "save_")
}

// removeUnusedOwned removes the nodes under a removed replica's name scope
// ("<replica>/...") that read the variable and that nothing consumes any
// more: "<v>/Read/ReadVariableOp", "<v>/read", "<v>/IsInitialized/...",
// repeatedly, as removing one may leave its input unused. Nodes still in use
// stay; they read the primary now.
func removeUnusedOwned(c *Context, mg int, reps []replica) error {
	main := c.Graph(mg).Main()
	owner := make(map[string]string, len(reps)) // replica name scope -> replica
	for _, r := range reps {
		owner[r.node] = r.node
	}
	roots := map[string]bool{}
	for _, n := range graphdef.ServingRoots(c.MetaGraphs()[mg]).Nodes {
		roots[n] = true
	}
	cand := map[string]string{} // node -> replica
	for _, n := range main.Nodes() {
		name := n.GetName()
		if !slices.Contains(ownedOps, n.GetOp()) || roots[name] {
			continue
		}
		for i := strings.IndexByte(name, '/'); i > 0; i = nextSlash(name, i) {
			if r, ok := owner[name[:i]]; ok {
				cand[name] = r
				break
			}
		}
	}
	for len(cand) > 0 {
		var drop []string
		for name := range cand {
			ret, cret := main.RetUses(name)
			if !main.HasConsumers(name) && len(ret)+len(cret) == 0 {
				drop = append(drop, name)
			}
		}
		if len(drop) == 0 {
			return nil
		}
		slices.Sort(drop)
		if err := main.Remove(graphdef.DanglingError, drop...); err != nil {
			return c.Errorf(Node(mg, "", drop[0]), "removing unused reads of replicas: %w", err)
		}
		for _, d := range drop {
			c.Changef(Node(mg, "", d), "removed %s, a read of replica %s that nothing used", d, cand[d])
			delete(cand, d)
		}
	}
	return nil
}

// nextSlash returns the index of the next '/' in name after i, or -1.
func nextSlash(name string, i int) int {
	j := strings.IndexByte(name[i+1:], '/')
	if j < 0 {
		return -1
	}
	return i + 1 + j
}

// ownedOps are the op types of the helper nodes TF creates under a
// variable's name scope that removeUnusedOwned may delete.
var ownedOps = []string{"ReadVariableOp", "Identity", "VarIsInitializedOp", "IsVariableInitialized", "Const"}
