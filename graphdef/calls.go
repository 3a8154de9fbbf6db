package graphdef

import (
	"slices"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// Calls returns the library functions node n of body b calls: its op if
// that names a library function, then every function named by its func and
// list(func) attrs (see FuncAttrs), without duplicates. Functions named in
// attrs are listed even if the library lacks them (Validate reports those).
func (g *Graph) Calls(n *nodepb.NodeDef) []string {
	var out []string
	if _, ok := g.funcs[n.GetOp()]; ok {
		out = append(out, n.GetOp())
	}
	for _, f := range funcAttrNames(n) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Callers returns every node, in the main graph or any function, that calls
// function fn (by op type or by a func attr), sorted by location.
func (g *Graph) Callers(fn string) []NodeRef {
	var out []NodeRef
	seen := map[*nodepb.NodeDef]bool{}
	if _, ok := g.funcs[fn]; ok {
		for _, e := range g.opEntries(fn) {
			seen[e.def] = true
			out = append(out, NodeRef{e.body, e.def})
		}
	}
	for n, b := range g.attrCallers[fn] {
		if !seen[n] {
			out = append(out, NodeRef{b, n})
		}
	}
	sortRefs(out)
	return out
}

// Callees returns the functions the body of function fn calls (through
// any of its nodes), followed by its gradient function from
// library.gradient if any; sorted, without duplicates. For fn == "" it
// returns the functions the main graph calls.
func (g *Graph) Callees(fn string) []string {
	b := g.Body(fn)
	if b == nil {
		return nil
	}
	set := map[string]bool{}
	for _, n := range b.Nodes() {
		for _, f := range g.Calls(n) {
			set[f] = true
		}
	}
	if gr := g.grads[fn]; fn != "" && gr != "" {
		set[gr] = true
	}
	return sortedKeys(set)
}

// CallGraph returns, for the main graph ("") and every library function,
// the functions it calls (see Callees). It is linear in the graph size.
func (g *Graph) CallGraph() map[string][]string {
	out := map[string][]string{"": g.Callees("")}
	for name := range g.funcs {
		out[name] = g.Callees(name)
	}
	return out
}
