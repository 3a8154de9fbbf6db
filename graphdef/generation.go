package graphdef

import (
	"bytes"
	"slices"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// Generation counts the edits made through g and its bodies (Add, Remove,
// Replace, Rename, Redirect, RedirectNode, Update, SetColocation,
// ReplaceByIdentity, AddFunction, RemoveFunctions, RemoveArg), failed
// ones included. Two equal generations of one Graph mean that nothing was
// edited through it in between; they say nothing about edits made to the
// protos directly, which Stale detects.
func (g *Graph) Generation() uint64 { return g.gen }

// edited records an edit through the index.
func (g *Graph) edited() { g.gen++ }

// Stale reports whether the protos no longer match the index: a node or
// function added, removed, renamed or moved to another body, or a node's
// op, inputs, func attrs or _class changed without Body.Update, or the
// library's functions, arguments or gradients changed, all directly in
// the protos. It reads every node once and allocates only for nodes with
// func attrs, about a fifth of the cost of New. A graph with duplicate
// node or function names is always reported stale (its index cannot be
// checked cheaply); a fresh New of it is never wrong.
//
// What the index does not hold (devices, most attrs, a function's ret and
// control_ret) is read from the protos by every query and check, so a
// change to it never makes the index stale.
func (g *Graph) Stale() bool {
	if len(g.dupFuncs) > 0 || g.unnamed > 0 {
		return true
	}
	lib := g.def.GetLibrary()
	if len(lib.GetFunction()) != len(g.funcs) || g.main.stale() {
		return true
	}
	for _, fd := range lib.GetFunction() {
		b := g.funcs[fd.GetSignature().GetName()]
		if b == nil || b.fn != fd || b.staleArgs() || b.stale() {
			return true
		}
	}
	if len(lib.GetGradient()) != len(g.grads) {
		return true
	}
	for _, gr := range lib.GetGradient() {
		if f, ok := g.grads[gr.GetFunctionName()]; !ok || f != gr.GetGradientFunc() {
			return true
		}
	}
	return false
}

// staleArgs reports whether function b's input arguments differ from the
// indexed ones.
func (b *Body) staleArgs() bool {
	args := b.fn.GetSignature().GetInputArg()
	if len(args) != len(b.args) {
		return true
	}
	for i, a := range args {
		if p, ok := b.args[a.GetName()]; !ok || p != i {
			return true
		}
	}
	return false
}

// stale reports whether b's node list differs from its index.
func (b *Body) stale() bool {
	nodes := b.Nodes()
	if len(b.dups) > 0 || len(nodes) != len(b.nodes) {
		return true
	}
	for _, n := range nodes {
		e := b.nodes[n.GetName()]
		if e == nil || e.def != n || e.opName() != n.GetOp() || len(e.refs) != len(n.Input) {
			return true
		}
		for i, in := range n.Input {
			if e.refs[i] != Producer(in) {
				return true
			}
		}
		if staleAttrs(e, n) {
			return true
		}
	}
	return false
}

// staleAttrs reports whether n's func attrs or _class entries differ from
// what e recorded. attrRefs allocates only for a node with func attrs.
func staleAttrs(e *entry, n *nodepb.NodeDef) bool {
	calls, class := attrRefs(n, true)
	if !slices.Equal(calls, e.calls()) {
		return true
	}
	coloc := e.coloc()
	k := 0 // colocation names matched so far, as colocList lists them
	for _, s := range class.GetS() {
		rest, ok := bytes.CutPrefix(s, []byte(ColocPrefix))
		if !ok || slices.ContainsFunc(coloc[:k], func(c string) bool { return c == string(rest) }) {
			continue
		}
		if k == len(coloc) || coloc[k] != string(rest) {
			return true
		}
		k++
	}
	return k != len(coloc)
}
