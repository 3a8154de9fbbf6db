package graphdef

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"

	"github.com/unmirror/unmirror/ops"
)

// Graph is an index over a GraphDef and its function library. It points
// into the caller's proto: edits made through Graph and Body change that
// GraphDef in place, and the edited GraphDef is the result.
//
// A Graph is not safe for concurrent use.
type Graph struct {
	def   *graphpb.GraphDef
	main  *Body
	funcs map[string]*Body
	// dupFuncs lists function names defined more than once (the index
	// keeps the first definition).
	dupFuncs []string
	unnamed  int               // functions without a signature name (not indexed)
	gen      uint64            // edits made through the index; see Generation
	grads    map[string]string // function -> gradient function
	// byOp maps an op type to its nodes; entry.opIdx is the position in
	// the group's entries. Each entry points to its group, so that adding a
	// node is one map read and removing one none.
	byOp map[string]*opGroup
	// attrCallers maps a function name to the nodes naming it in a func
	// or list(func) attr. Calls by op type are found through byOp.
	attrCallers map[string]map[*nodepb.NodeDef]*Body
}

// Body is the main graph or the body of one library function: a set of
// nodes with unique names, indexed by name and by the names they reference.
type Body struct {
	g     *Graph
	fn    *fnpb.FunctionDef // nil for the main graph
	name  string            // "" for the main graph
	nodes map[string]*entry
	args  map[string]int // function input argument name -> position
	// users maps a referenced name (node or argument) to the nodes that
	// reference it, one element per input that does.
	users map[string][]*nodepb.NodeDef
	// coloc maps a node name to the nodes whose _class attr holds
	// "loc:@name".
	coloc map[string][]*nodepb.NodeDef
	dups  []string // node names defined more than once (first one indexed)
}

// entry is what the index recorded about one node, so that it can be
// unindexed exactly even after the caller changed the NodeDef. It is kept
// small (88 bytes): New makes one per node.
type entry struct {
	body  *Body
	def   *nodepb.NodeDef
	name  string   // name as indexed
	group *opGroup // the nodes of its op as indexed
	refs  []string // producer name of each input, in input order
	// attrs holds the names found in func attrs and _class; nil when
	// there are none, as for most nodes.
	attrs *attrNames
	opIdx int32 // position in Graph.byOp[op]
	pos   int32 // position in the node list when last known (a hint)
}

// opGroup is the nodes of one op type in a Graph.
type opGroup struct {
	op      string
	def     *ops.OpDef // the op's OpDef in TensorFlow's registry; nil for functions and unregistered ops
	entries []*entry
}

// opName returns e's op type as indexed.
func (e *entry) opName() string { return e.group.op }

// attrNames are the names an entry's attrs refer to.
type attrNames struct {
	calls []string // functions named in func attrs
	coloc []string // names in _class "loc:@name" entries
}

func newAttrNames(calls, coloc []string) *attrNames {
	if len(calls) == 0 && len(coloc) == 0 {
		return nil
	}
	return &attrNames{calls, coloc}
}

// calls returns the functions named in e's func attrs.
func (e *entry) calls() []string {
	if e.attrs == nil {
		return nil
	}
	return e.attrs.calls
}

// coloc returns the names in e's _class "loc:@name" entries.
func (e *entry) coloc() []string {
	if e.attrs == nil {
		return nil
	}
	return e.attrs.coloc
}

// Location says where a node lives: Function is "" for the main graph,
// else the name of the library function whose body holds the node.
type Location struct {
	Function string
	Node     string
}

// String formats a location as "node" in the main graph and
// "function::node" in a function ("/" is part of node names).
func (l Location) String() string {
	if l.Function == "" {
		return l.Node
	}
	return l.Function + "::" + l.Node
}

// NodeRef is a node together with the body that holds it.
type NodeRef struct {
	Body *Body
	Node *nodepb.NodeDef
}

// Location returns where the node lives.
func (r NodeRef) Location() Location {
	return Location{Function: r.Body.name, Node: r.Node.GetName()}
}

// New indexes gd (main graph and every function of gd.Library) in time
// linear in the number of nodes and inputs. It does not validate: duplicate
// names and dangling references are indexed as found and reported by
// Validate. A nil gd is indexed as an empty GraphDef, which GraphDef then
// returns.
func New(gd *graphpb.GraphDef) *Graph {
	if gd == nil {
		gd = &graphpb.GraphDef{}
	}
	g := &Graph{
		def:         gd,
		funcs:       map[string]*Body{},
		grads:       map[string]string{},
		byOp:        map[string]*opGroup{},
		attrCallers: map[string]map[*nodepb.NodeDef]*Body{},
	}
	x := &bulk{} // scratch shared by all bodies
	g.main = g.newBody(nil, gd.GetNode(), x)
	for _, fd := range gd.GetLibrary().GetFunction() {
		g.indexFunction(fd, x)
	}
	for _, gr := range gd.GetLibrary().GetGradient() {
		g.grads[gr.GetFunctionName()] = gr.GetGradientFunc()
	}
	return g
}

// indexFunction indexes fd, using the scratch of x (nil: a fresh one).
func (g *Graph) indexFunction(fd *fnpb.FunctionDef, x *bulk) *Body {
	name := fd.GetSignature().GetName()
	if name == "" {
		g.unnamed++
		return nil
	}
	if _, ok := g.funcs[name]; ok {
		g.dupFuncs = append(g.dupFuncs, name)
		return nil
	}
	if x == nil {
		x = &bulk{}
	}
	b := g.newBody(fd, fd.GetNodeDef(), x)
	g.funcs[name] = b
	return b
}

func (g *Graph) newBody(fd *fnpb.FunctionDef, nodes []*nodepb.NodeDef, x *bulk) *Body {
	b := &Body{g: g, fn: fd}
	if fd != nil {
		b.name = fd.GetSignature().GetName()
		b.args = map[string]int{}
		for i, a := range fd.GetSignature().GetInputArg() {
			b.args[a.GetName()] = i
		}
	}
	x.index(b, nodes)
	return b
}

// Producer returns the node (or, in a function body, possibly the function
// argument) that an input or tensor name refers to, without allocating:
// the text between an optional '^' and the first ':' ("node", "node:N",
// "^node", "node:out:N"; node names never contain ':').
func Producer(s string) string {
	s = strings.TrimPrefix(s, "^")
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i]
	}
	return s
}

// index adds n, found at position pos of the node list, to b's index.
func (b *Body) index(n *nodepb.NodeDef, pos int) {
	e := &entry{}
	if len(n.Input) > 0 {
		e.refs = make([]string, len(n.Input))
		for i, in := range n.Input {
			p := Producer(in)
			e.refs[i] = p
			b.users[p] = append(b.users[p], n)
		}
	}
	b.fill(e, n, pos)
	b.nodes[n.GetName()] = e
}

// fill sets e's fields other than refs (which the caller fills) for node n
// at position pos, and indexes its op, func attrs and colocation. The
// caller enters e in b.nodes and n's inputs in b.users.
func (b *Body) fill(e *entry, n *nodepb.NodeDef, pos int) {
	calls, class := attrRefs(n, true)
	b.enter(e, n, pos, newAttrNames(calls, colocList(class)))
	if len(e.coloc()) > 0 && b.coloc == nil {
		b.coloc = map[string][]*nodepb.NodeDef{}
	}
	for _, c := range e.coloc() {
		b.coloc[c] = append(b.coloc[c], n)
	}
}

// enter sets e's fields other than refs and indexes its op and func
// attrs; the caller indexes its inputs and colocation.
func (b *Body) enter(e *entry, n *nodepb.NodeDef, pos int, a *attrNames) {
	e.body, e.def, e.name, e.pos, e.attrs = b, n, n.GetName(), int32(pos), a
	for _, f := range e.calls() {
		m := b.g.attrCallers[f]
		if m == nil {
			m = map[*nodepb.NodeDef]*Body{}
			b.g.attrCallers[f] = m
		}
		m[n] = b
	}
	op := n.GetOp()
	grp := b.g.byOp[op]
	if grp == nil {
		grp = &opGroup{op: op}
		grp.def, _ = ops.Op(op)
		b.g.byOp[op] = grp
	}
	e.group = grp
	e.opIdx = int32(len(grp.entries))
	grp.entries = append(grp.entries, e)
}

// unindex removes what index recorded for e.
func (b *Body) unindex(e *entry) {
	n := e.def
	for _, p := range e.refs {
		b.users[p] = removeOne(b.users[p], n)
		if len(b.users[p]) == 0 {
			delete(b.users, p)
		}
	}
	for _, f := range e.calls() {
		delete(b.g.attrCallers[f], n)
		if len(b.g.attrCallers[f]) == 0 {
			delete(b.g.attrCallers, f)
		}
	}
	for _, c := range e.coloc() {
		b.coloc[c] = removeOne(b.coloc[c], n)
		if len(b.coloc[c]) == 0 {
			delete(b.coloc, c)
		}
	}
	grp := e.group
	same := grp.entries
	last := len(same) - 1
	same[e.opIdx] = same[last]
	same[e.opIdx].opIdx = e.opIdx
	same[last] = nil
	if last == 0 {
		delete(b.g.byOp, grp.op)
	} else {
		grp.entries = same[:last]
	}
	delete(b.nodes, e.name)
}

func removeOne(s []*nodepb.NodeDef, n *nodepb.NodeDef) []*nodepb.NodeDef {
	if i := slices.Index(s, n); i >= 0 {
		last := len(s) - 1
		s[i] = s[last]
		s[last] = nil
		return s[:last]
	}
	return s
}

// GraphDef returns the indexed GraphDef.
func (g *Graph) GraphDef() *graphpb.GraphDef { return g.def }

// Main returns the main graph.
func (g *Graph) Main() *Body { return g.main }

// Function returns the body of the named library function, or nil.
func (g *Graph) Function(name string) *Body { return g.funcs[name] }

// Body returns the main graph for "" and otherwise the named function's
// body, or nil.
func (g *Graph) Body(function string) *Body {
	if function == "" {
		return g.main
	}
	return g.funcs[function]
}

// Functions returns the bodies of all library functions in library order.
func (g *Graph) Functions() []*Body {
	out := make([]*Body, 0, len(g.funcs))
	for _, fd := range g.def.GetLibrary().GetFunction() {
		if b := g.funcs[fd.GetSignature().GetName()]; b != nil && b.fn == fd {
			out = append(out, b)
		}
	}
	return out
}

// Bodies returns the main graph followed by every function body in library
// order.
func (g *Graph) Bodies() []*Body {
	return append([]*Body{g.main}, g.Functions()...)
}

// Gradient returns the gradient function registered for function fn in
// library.gradient, or "".
func (g *Graph) Gradient(fn string) string { return g.grads[fn] }

// Node returns the node at loc, or nil.
func (g *Graph) Node(loc Location) *nodepb.NodeDef {
	if b := g.Body(loc.Function); b != nil {
		return b.Node(loc.Node)
	}
	return nil
}

// Walk calls fn for every node of the main graph, in GraphDef order, then
// for every node of every library function, in library and body order.
// fn may change fields of the node that the index does not track (device,
// most attrs); after changing inputs, op, func attrs or _class, call
// Body.Update. Prefer collecting nodes and editing after the walk: edits
// during it are safe (no stale or nil node is ever passed) but a Remove
// shifts the list, so the walk may then skip nodes, and nodes added are
// visited. Walk stops at and returns the first error fn returns.
func (g *Graph) Walk(fn func(loc Location, n *nodepb.NodeDef) error) error {
	for loc, n := range g.All() {
		if err := fn(loc, n); err != nil {
			return err
		}
	}
	return nil
}

// All iterates over the nodes Walk visits.
func (g *Graph) All() iter.Seq2[Location, *nodepb.NodeDef] {
	return func(yield func(Location, *nodepb.NodeDef) bool) {
		for _, b := range g.Bodies() {
			// Re-read the list each step so that edits made by the caller
			// during the walk never expose a stale or nil element.
			for i := 0; i < len(b.Nodes()); i++ {
				n := b.Nodes()[i]
				if !yield(Location{b.name, n.GetName()}, n) {
					return
				}
			}
		}
	}
}

// Ops returns every node, in the main graph and in functions, whose op is
// op, sorted by location (main graph first, then function name, then node
// name).
func (g *Graph) Ops(op string) []NodeRef {
	m := g.opEntries(op)
	out := make([]NodeRef, 0, len(m))
	for _, e := range m {
		out = append(out, NodeRef{e.body, e.def})
	}
	sortRefs(out)
	return out
}

// opEntries returns the nodes whose op is op, in no particular order.
func (g *Graph) opEntries(op string) []*entry {
	if grp := g.byOp[op]; grp != nil {
		return grp.entries
	}
	return nil
}

// OpTypes returns every op type in use, sorted.
func (g *Graph) OpTypes() []string {
	out := make([]string, 0, len(g.byOp))
	for op := range g.byOp {
		out = append(out, op)
	}
	slices.Sort(out)
	return out
}

func sortRefs(s []NodeRef) {
	slices.SortFunc(s, func(a, b NodeRef) int {
		if c := strings.Compare(a.Body.name, b.Body.name); c != 0 {
			return c
		}
		return strings.Compare(a.Node.GetName(), b.Node.GetName())
	})
}

// Graph returns the Graph that b belongs to.
func (b *Body) Graph() *Graph { return b.g }

// Name returns the function name, or "" for the main graph.
func (b *Body) Name() string { return b.name }

// FunctionDef returns the function, or nil for the main graph.
func (b *Body) FunctionDef() *fnpb.FunctionDef { return b.fn }

// IsFunction reports whether b is a function body.
func (b *Body) IsFunction() bool { return b.fn != nil }

// Len returns the number of indexed nodes.
func (b *Body) Len() int { return len(b.nodes) }

// position returns where e's node is in the node list: the recorded
// position if still right (it is unless nodes before it were removed),
// else found by a scan, which is then recorded.
func (b *Body) position(e *entry) int {
	list := b.Nodes()
	if p := int(e.pos); p >= 0 && p < len(list) && list[p] == e.def {
		return p
	}
	e.pos = int32(slices.Index(list, e.def))
	return int(e.pos)
}

// Nodes returns the body's node list as stored in the proto (GraphDef.node
// or FunctionDef.node_def). The slice must not be modified.
func (b *Body) Nodes() []*nodepb.NodeDef {
	if b.fn != nil {
		return b.fn.NodeDef
	}
	return b.g.def.Node
}

func (b *Body) setNodes(s []*nodepb.NodeDef) {
	if b.fn != nil {
		b.fn.NodeDef = s
	} else {
		b.g.def.Node = s
	}
}

// Node returns the named node, or nil.
func (b *Body) Node(name string) *nodepb.NodeDef {
	if e := b.nodes[name]; e != nil {
		return e.def
	}
	return nil
}

// InputNode returns the node of b that data input i of n reads, or nil when
// n has no data input i or it reads a function argument or a missing node.
// Its signature is that of ops.Resolver.
func (b *Body) InputNode(n *nodepb.NodeDef, i int) *nodepb.NodeDef {
	for _, s := range n.GetInput() {
		if strings.HasPrefix(s, "^") {
			continue
		}
		if i > 0 {
			i--
			continue
		}
		return b.Node(Producer(s))
	}
	return nil
}

// Arg returns the position of the named function input argument.
func (b *Body) Arg(name string) (int, bool) {
	i, ok := b.args[name]
	return i, ok
}

// ParseInput parses s with the grammar of this body (graph or function).
func (b *Body) ParseInput(s string) (Input, error) {
	return parseInput(s, b.fn != nil)
}

// Inputs returns the parsed inputs of the named node.
func (b *Body) Inputs(name string) ([]Input, error) {
	e := b.nodes[name]
	if e == nil {
		return nil, &NotFoundError{Location{b.name, name}}
	}
	out := make([]Input, len(e.def.Input))
	for i, s := range e.def.Input {
		in, err := b.ParseInput(s)
		if err != nil {
			return nil, fmt.Errorf("%s input %d: %w", Location{b.name, name}, i, err)
		}
		out[i] = in
	}
	return out, nil
}

// Use is one reference to a node or argument: input Slot of Node, whose
// text parses as Input.
type Use struct {
	Node  *nodepb.NodeDef
	Slot  int
	Input Input
}

// Consumers returns every input (data and control) that references name, a
// node or, in a function, an argument; sorted by consumer name and slot.
// Returns and control returns of a function are reported by RetUses.
func (b *Body) Consumers(name string) []Use {
	var out []Use
	seen := map[*nodepb.NodeDef]bool{}
	for _, n := range b.users[name] {
		if seen[n] {
			continue
		}
		seen[n] = true
		for i, s := range n.Input {
			if Producer(s) != name {
				continue
			}
			in, err := b.ParseInput(s)
			if err != nil {
				continue
			}
			out = append(out, Use{Node: n, Slot: i, Input: in})
		}
	}
	slices.SortFunc(out, func(a, c Use) int {
		if x := strings.Compare(a.Node.GetName(), c.Node.GetName()); x != 0 {
			return x
		}
		return a.Slot - c.Slot
	})
	return out
}

// ConsumersOf returns the data inputs that read tensor t (t.Node's output
// t.Output:t.Index; "n" and "n:0" match alike).
func (b *Body) ConsumersOf(t Input) []Use {
	var out []Use
	for _, u := range b.Consumers(t.Node) {
		if u.Input.SameTensor(t) {
			out = append(out, u)
		}
	}
	return out
}

// HasConsumers reports whether any node input references name. It is O(1).
func (b *Body) HasConsumers(name string) bool { return len(b.users[name]) > 0 }

// RetUses returns the keys of the function's ret entries that read from
// name and of its control_ret entries that name it, sorted. It is empty for
// the main graph.
func (b *Body) RetUses(name string) (ret, controlRet []string) {
	if b.fn == nil {
		return nil, nil
	}
	for k, v := range b.fn.Ret {
		if Producer(v) == name {
			ret = append(ret, k)
		}
	}
	for k, v := range b.fn.ControlRet {
		if v == name {
			controlRet = append(controlRet, k)
		}
	}
	slices.Sort(ret)
	slices.Sort(controlRet)
	return ret, controlRet
}

// Colocated returns the nodes whose _class attr holds "loc:@name".
func (b *Body) Colocated(name string) []*nodepb.NodeDef {
	return slices.Clone(b.coloc[name])
}

// NotFoundError reports a node or function that does not exist.
type NotFoundError struct {
	Loc Location
}

func (e *NotFoundError) Error() string {
	if e.Loc.Node == "" {
		return fmt.Sprintf("graphdef: function %q not found", e.Loc.Function)
	}
	return fmt.Sprintf("graphdef: node %s not found", e.Loc)
}
