package graphdef

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// ErrExists reports that a node, argument or function name is taken.
var ErrExists = errors.New("graphdef: name already exists")

// Dangling says what Remove does with references to removed nodes from
// nodes that stay.
type Dangling int

const (
	// DanglingError refuses the removal if any remaining input, ret or
	// control_ret references a removed node. It is the zero value.
	DanglingError Dangling = iota
	// DanglingDropControl drops control inputs and control_ret entries
	// (with their signature control_output) that name removed nodes. Data
	// references are still an error.
	DanglingDropControl
	// DanglingForwardControl is DanglingDropControl, except that each
	// control consumer of a removed node gets control inputs on what the
	// removed node depended on (its data producers and control inputs,
	// through chains of removed nodes), so execution order is kept.
	DanglingForwardControl
)

// DanglingRefError lists the references that stop an edit.
type DanglingRefError struct {
	Function string
	// Refs are "consumer input N \"text\"" or "ret key" descriptions.
	Refs []string
}

func (e *DanglingRefError) Error() string {
	where := "main graph"
	if e.Function != "" {
		where = "function " + e.Function
	}
	return fmt.Sprintf("graphdef: %s: edit would leave %d dangling reference(s): %s",
		where, len(e.Refs), strings.Join(e.Refs, "; "))
}

// Update re-indexes the named node after the caller changed its inputs,
// op, func attrs or _class attr in place. Its name must not have changed;
// use Rename for that.
func (b *Body) Update(name string) error {
	b.g.edited()
	e := b.nodes[name]
	if e == nil {
		return &NotFoundError{Location{b.name, name}}
	}
	if e.def.GetName() != name {
		return fmt.Errorf("graphdef: %s: node renamed to %q in place; use Rename", Location{b.name, name}, e.def.GetName())
	}
	b.reindex(e)
	return nil
}

func (b *Body) reindex(e *entry) {
	b.unindex(e)
	b.index(e.def, int(e.pos))
}

// Add appends n to the body. Its name must be new (and, in a function,
// differ from every argument name). Inputs are not checked; Validate does.
func (b *Body) Add(n *nodepb.NodeDef) error {
	b.g.edited()
	if err := b.free(n.GetName()); err != nil {
		return err
	}
	b.setNodes(append(b.Nodes(), n))
	b.index(n, len(b.Nodes())-1)
	return nil
}

func (b *Body) free(name string) error {
	if name == "" || strings.Contains(name, ":") || strings.HasPrefix(name, "^") {
		return fmt.Errorf("graphdef: %s: invalid node name %q", b.where(), name)
	}
	if _, ok := b.nodes[name]; ok {
		return fmt.Errorf("%w: %s", ErrExists, Location{b.name, name})
	}
	if _, ok := b.args[name]; ok {
		return fmt.Errorf("%w: argument %s", ErrExists, Location{b.name, name})
	}
	return nil
}

func (b *Body) where() string {
	if b.fn == nil {
		return "main graph"
	}
	return "function " + b.name
}

// Remove deletes the named nodes. References to them from nodes that stay
// are handled by policy; "_class" entries naming them are dropped (and the
// attr deleted when empty). The whole removal is checked first: on error
// nothing changed. Cost: the removed nodes' and their consumers' inputs,
// plus one pass over this body's node list, so remove in batches.
func (b *Body) Remove(policy Dangling, names ...string) error {
	b.g.edited()
	gone := make(map[string]bool, len(names))
	for _, name := range names {
		if b.nodes[name] == nil {
			return &NotFoundError{Location{b.name, name}}
		}
		gone[name] = true
	}
	// Every node that stays and reads a removed one, each looked at once
	// (a node reading thousands of removed nodes, such as a saver's
	// NoOp, must not be scanned once per removed node), and the function's
	// rets, scanned once.
	var refs []string
	affected := map[*nodepb.NodeDef]bool{}
	seen := map[*nodepb.NodeDef]bool{}
	for name := range gone {
		for _, n := range b.users[name] {
			if seen[n] || gone[n.GetName()] {
				continue
			}
			seen[n] = true
			for i, s := range n.Input {
				if !gone[Producer(s)] {
					continue
				}
				in, err := b.ParseInput(s)
				if err != nil {
					continue
				}
				if in.Control && policy != DanglingError {
					affected[n] = true
					continue
				}
				refs = append(refs, fmt.Sprintf("%s input %d %q", n.GetName(), i, s))
			}
		}
	}
	if b.fn != nil {
		for k, v := range b.fn.Ret {
			if gone[Producer(v)] {
				refs = append(refs, fmt.Sprintf("ret %s = %q", k, v))
			}
		}
		if policy == DanglingError {
			for k, v := range b.fn.ControlRet {
				if gone[v] {
					refs = append(refs, fmt.Sprintf("control_ret %s = %q", k, v))
				}
			}
		}
	}
	if len(refs) > 0 {
		slices.Sort(refs)
		return &DanglingRefError{Function: b.name, Refs: refs}
	}
	forward := map[string][]string{}
	var fwd func(name string, seen map[string]bool) []string
	fwd = func(name string, seen map[string]bool) []string {
		if f, ok := forward[name]; ok {
			return f
		}
		if seen[name] {
			return nil
		}
		seen[name] = true
		var out []string
		for _, p := range b.nodes[name].refs {
			if gone[p] {
				out = append(out, fwd(p, seen)...)
			} else {
				out = append(out, p)
			}
		}
		forward[name] = out
		return out
	}
	for n := range affected {
		var in []string
		for _, s := range n.Input {
			p := Producer(s)
			if !gone[p] {
				in = append(in, s)
				continue
			}
			if policy == DanglingForwardControl {
				for _, q := range fwd(p, map[string]bool{}) {
					if q != n.GetName() {
						in = append(in, "^"+q)
					}
				}
			}
		}
		b.setInputs(n, in)
	}
	if b.fn != nil {
		dropped := map[string]bool{}
		for k, v := range b.fn.ControlRet {
			if gone[v] {
				delete(b.fn.ControlRet, k)
				dropped[k] = true
			}
		}
		if sig := b.fn.GetSignature(); sig != nil && len(dropped) > 0 {
			sig.ControlOutput = slices.DeleteFunc(sig.ControlOutput, func(s string) bool { return dropped[s] })
		}
	}
	for name := range gone {
		for _, n := range slices.Clone(b.coloc[name]) {
			if !gone[n.GetName()] {
				editColoc(n, name, "")
				b.reindex(b.nodes[n.GetName()])
			}
		}
	}
	for name := range gone {
		b.unindex(b.nodes[name])
	}
	b.setNodes(slices.DeleteFunc(b.Nodes(), func(n *nodepb.NodeDef) bool {
		e := b.nodes[n.GetName()]
		return e == nil || e.def != n
	}))
	return nil
}

// setInputs replaces n's inputs by in, normalized (data inputs first,
// duplicate control inputs and control inputs on a node already read as
// data dropped), and re-indexes n.
func (b *Body) setInputs(n *nodepb.NodeDef, in []string) {
	data := make([]string, 0, len(in))
	var ctl []string
	readers := map[string]bool{}
	for _, s := range in {
		if !strings.HasPrefix(s, "^") {
			data = append(data, s)
			readers[Producer(s)] = true
		}
	}
	seen := map[string]bool{} // a node may hold thousands of control inputs
	for _, s := range in {
		if strings.HasPrefix(s, "^") && !readers[s[1:]] && !seen[s] {
			seen[s] = true
			ctl = append(ctl, s)
		}
	}
	n.Input = append(data, ctl...)
	b.reindex(b.nodes[n.GetName()])
}

// Remap maps a data reference to the replaced node to the tensor to read
// instead.
type Remap func(Input) (Input, error)

// Replace puts n in the place of the node named old (same position in the
// node list) and rewires every reference to old: data inputs and ret values
// through remap, control inputs and control_ret entries to n, "_class"
// entries to n. A nil remap keeps the output name and index and only
// changes the node name, which is right when n has the same outputs. n may
// keep old's name. On error nothing changed.
func (b *Body) Replace(old string, n *nodepb.NodeDef, remap Remap) error {
	b.g.edited()
	e := b.nodes[old]
	if e == nil {
		return &NotFoundError{Location{b.name, old}}
	}
	if n.GetName() != old {
		if err := b.free(n.GetName()); err != nil {
			return err
		}
	}
	if remap == nil {
		remap = func(in Input) (Input, error) { in.Node = n.GetName(); return in, nil }
	}
	// Compute every new reference before changing anything.
	type change struct {
		node *nodepb.NodeDef
		slot int
		text string
	}
	var changes []change
	for _, u := range b.Consumers(old) {
		if u.Node == e.def {
			continue // a self-reference is replaced with the node
		}
		text := "^" + n.GetName()
		if !u.Input.Control {
			to, err := remap(u.Input)
			if err != nil {
				return fmt.Errorf("graphdef: %s: remap %q: %w", Location{b.name, u.Node.GetName()}, u.Node.Input[u.Slot], err)
			}
			text = to.String()
		}
		changes = append(changes, change{u.Node, u.Slot, text})
	}
	rets := map[string]string{}
	ret, cret := b.RetUses(old)
	for _, k := range ret {
		in, err := b.ParseInput(b.fn.Ret[k])
		if err != nil {
			return fmt.Errorf("graphdef: %s: ret %s: %w", b.where(), k, err)
		}
		to, err := remap(in)
		if err != nil {
			return fmt.Errorf("graphdef: %s: remap ret %s %q: %w", b.where(), k, b.fn.Ret[k], err)
		}
		rets[k] = to.String()
	}
	// Apply.
	i := b.position(e)
	if i < 0 {
		return fmt.Errorf("graphdef: %s: node list changed behind the index", Location{b.name, old})
	}
	b.Nodes()[i] = n
	b.unindex(e)
	b.index(n, i)
	byNode := map[*nodepb.NodeDef][]change{}
	for _, c := range changes {
		byNode[c.node] = append(byNode[c.node], c)
	}
	for m, cs := range byNode {
		in := slices.Clone(m.Input)
		for _, c := range cs {
			in[c.slot] = c.text
		}
		b.setInputs(m, in)
	}
	for k, v := range rets {
		b.fn.Ret[k] = v
	}
	for _, k := range cret {
		b.fn.ControlRet[k] = n.GetName()
	}
	if n.GetName() != old {
		b.moveColoc(old, n.GetName())
	}
	return nil
}

// moveColoc rewrites "loc:@from" to "loc:@to" in every _class attr.
func (b *Body) moveColoc(from, to string) {
	for _, m := range slices.Clone(b.coloc[from]) {
		editColoc(m, from, to)
		b.reindex(b.nodes[m.GetName()])
	}
}

// Rename renames a node and every reference to it: inputs, ret and
// control_ret values, and "_class" entries. In the main graph, tensor
// names held outside the GraphDef (signatures, SaverDef, collections) are
// the caller's to update.
func (b *Body) Rename(old, name string) error {
	b.g.edited()
	e := b.nodes[old]
	if e == nil {
		return &NotFoundError{Location{b.name, old}}
	}
	if old == name {
		return nil
	}
	if err := b.free(name); err != nil {
		return err
	}
	e.def.Name = name
	b.nodes[name] = e
	delete(b.nodes, old)
	e.name = name
	b.redirectNode(old, name)
	// redirectNode reindexed the node if it reads itself: use its new entry.
	e = b.nodes[name]
	// Self references (a node's own control input) follow too.
	for i, s := range e.def.Input {
		if Producer(s) == old {
			e.def.Input[i] = renameRef(s, name)
		}
	}
	b.reindex(e)
	return nil
}

// renameRef replaces the node part of an input string.
func renameRef(s, to string) string {
	ctl := strings.HasPrefix(s, "^")
	rest := strings.TrimPrefix(s, "^")
	if i := strings.IndexByte(rest, ':'); i >= 0 {
		rest = to + rest[i:]
	} else {
		rest = to
	}
	if ctl {
		return "^" + rest
	}
	return rest
}

// RedirectNode makes every reference to node (or argument) from refer to
// node or argument to instead, keeping output names and indices: data and
// control inputs, ret and control_ret values, and "_class" entries. It is
// how consumers of a per-replica variable handle are moved to the primary
// one. It returns the number of inputs changed. from itself is left in
// place, now unused except by its own inputs.
func (b *Body) RedirectNode(from, to string) (int, error) {
	b.g.edited()
	if err := b.exists(to); err != nil {
		return 0, err
	}
	return b.redirectNode(from, to), nil
}

// exists reports a NotFoundError unless name is a node or argument.
func (b *Body) exists(name string) error {
	if b.nodes[name] == nil {
		if _, ok := b.args[name]; !ok {
			return &NotFoundError{Location{b.name, name}}
		}
	}
	return nil
}

func (b *Body) redirectNode(from, to string) int {
	count := 0
	for _, n := range slices.Clone(b.users[from]) {
		if n.GetName() == from || (b.nodes[n.GetName()] == nil) {
			continue
		}
		in := slices.Clone(n.Input)
		for i, s := range in {
			if Producer(s) == from {
				in[i] = renameRef(s, to)
				count++
			}
		}
		b.setInputs(n, in)
	}
	if b.fn != nil {
		for k, v := range b.fn.Ret {
			if Producer(v) == from {
				b.fn.Ret[k] = renameRef(v, to)
			}
		}
		for k, v := range b.fn.ControlRet {
			if v == from {
				b.fn.ControlRet[k] = to
			}
		}
	}
	b.moveColoc(from, to)
	return count
}

// Redirect makes every data input and ret value that reads tensor from
// read tensor to instead ("n" and "n:0" count as the same tensor). It
// returns the number of references changed. to is written as given (set
// HasIndex to write the index explicitly).
func (b *Body) Redirect(from, to Input) (int, error) {
	b.g.edited()
	if to.Control || from.Control {
		return 0, fmt.Errorf("graphdef: %s: Redirect takes data tensors, got %q -> %q", b.where(), from, to)
	}
	if err := b.exists(to.Node); err != nil {
		return 0, err
	}
	count := 0
	for _, u := range b.ConsumersOf(from) {
		in := slices.Clone(u.Node.Input)
		in[u.Slot] = to.String()
		b.setInputs(u.Node, in)
		count++
	}
	if b.fn != nil {
		for k, v := range b.fn.Ret {
			if in, err := b.ParseInput(v); err == nil && in.SameTensor(from) {
				b.fn.Ret[k] = to.String()
				count++
			}
		}
	}
	return count, nil
}
