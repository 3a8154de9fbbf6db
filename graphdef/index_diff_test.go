package graphdef

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"unsafe"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// perNodeIndex indexes gd the way New did before it built users in bulk:
// node by node through Body.index (the path edits use), which appends
// each input to users and enters each name in the node map as it goes.
func perNodeIndex(gd *graphpb.GraphDef) *Graph {
	g := New(nil) // the empty index, to be filled here
	g.def = gd
	body := func(b *Body, nodes []*nodepb.NodeDef) *Body {
		b.g, b.nodes, b.users = g, map[string]*entry{}, map[string][]*nodepb.NodeDef{}
		for i, n := range nodes {
			if b.nodes[n.GetName()] != nil {
				b.dups = append(b.dups, n.GetName())
				continue
			}
			b.index(n, i)
		}
		return b
	}
	g.main = body(&Body{}, gd.GetNode())
	for _, fd := range gd.GetLibrary().GetFunction() {
		name := fd.GetSignature().GetName()
		switch {
		case name == "":
			g.unnamed++
		case g.funcs[name] != nil:
			g.dupFuncs = append(g.dupFuncs, name)
		default:
			b := &Body{fn: fd, name: name, args: map[string]int{}}
			for i, a := range fd.GetSignature().GetInputArg() {
				b.args[a.GetName()] = i
			}
			g.funcs[name] = body(b, fd.GetNodeDef())
		}
	}
	for _, gr := range gd.GetLibrary().GetGradient() {
		g.grads[gr.GetFunctionName()] = gr.GetGradientFunc()
	}
	return g
}

// oracleFuncs and oracleColoc are FuncAttrs and Colocation written the
// plain way: every attr in name order, and a lookup of _class.
func oracleFuncs(n *nodepb.NodeDef) []string {
	var out []string
	for _, k := range sortedKeys(n.GetAttr()) {
		out = appendFuncs(out, n.Attr[k])
	}
	return out
}

func oracleColoc(n *nodepb.NodeDef) []string {
	var out []string
	for _, s := range n.GetAttr()[ClassAttr].GetList().GetS() {
		if name, ok := strings.CutPrefix(string(s), ColocPrefix); ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// diffIndexes returns how got differs from want, field by field and in
// order (users and colocation lists in node and input order), or "".
func diffIndexes(got, want *Graph) string {
	var d []string
	add := func(format string, args ...any) { d = append(d, fmt.Sprintf(format, args...)) }
	if got.unnamed != want.unnamed || !slices.Equal(got.dupFuncs, want.dupFuncs) || !maps.Equal(got.grads, want.grads) {
		add("library: unnamed %d/%d, dups %v/%v, grads %v/%v", got.unnamed, want.unnamed, got.dupFuncs, want.dupFuncs, got.grads, want.grads)
	}
	if !slices.Equal(sortedKeys(got.funcs), sortedKeys(want.funcs)) {
		add("functions %v, want %v", sortedKeys(got.funcs), sortedKeys(want.funcs))
		return strings.Join(d, "\n")
	}
	for _, wb := range append([]*Body{want.main}, slices.Collect(maps.Values(want.funcs))...) {
		gb := got.Body(wb.name)
		if gb.fn != wb.fn || !maps.Equal(gb.args, wb.args) || !slices.Equal(gb.dups, wb.dups) {
			add("%s: fn, args %v/%v or dups %v/%v", wb.where(), gb.args, wb.args, gb.dups, wb.dups)
		}
		if !slices.Equal(sortedKeys(gb.nodes), sortedKeys(wb.nodes)) {
			add("%s: nodes %v, want %v", wb.where(), sortedKeys(gb.nodes), sortedKeys(wb.nodes))
			continue
		}
		for name, we := range wb.nodes {
			ge := gb.nodes[name]
			if ge.body != gb || ge.def != we.def || ge.name != we.name || ge.opName() != we.opName() || ge.pos != we.pos ||
				!slices.Equal(ge.refs, we.refs) || !slices.Equal(ge.calls(), we.calls()) || !slices.Equal(ge.coloc(), we.coloc()) {
				add("%s: entry %q: %+v, want %+v", wb.where(), name, *ge, *we)
			}
			if !slices.Equal(ge.calls(), oracleFuncs(ge.def)) || !slices.Equal(ge.coloc(), oracleColoc(ge.def)) {
				add("%s: node %q: calls %v coloc %v, oracle %v %v", wb.where(), name, ge.calls(), ge.coloc(), oracleFuncs(ge.def), oracleColoc(ge.def))
			}
		}
		eq := func(a, b map[string][]*nodepb.NodeDef) bool { return maps.EqualFunc(a, b, slices.Equal) }
		if !eq(gb.users, wb.users) {
			add("%s: users differ", wb.where())
		}
		if len(gb.coloc) > 0 || len(wb.coloc) > 0 {
			if !eq(gb.coloc, wb.coloc) {
				add("%s: coloc differs", wb.where())
			}
		}
	}
	if !slices.Equal(got.OpTypes(), want.OpTypes()) {
		add("op types %v, want %v", got.OpTypes(), want.OpTypes())
	}
	defs := func(es []*entry) (out []*nodepb.NodeDef) {
		for _, e := range es {
			out = append(out, e.def)
		}
		return out
	}
	for op := range want.byOp {
		if !slices.Equal(defs(got.opEntries(op)), defs(want.opEntries(op))) {
			add("op %s: entries differ", op)
		}
	}
	byName := func(m map[*nodepb.NodeDef]*Body, n map[*nodepb.NodeDef]*Body) bool {
		return maps.EqualFunc(m, n, func(a, b *Body) bool { return a.name == b.name })
	}
	if !maps.EqualFunc(got.attrCallers, want.attrCallers, byName) {
		add("attr callers differ")
	}
	return strings.Join(d, "\n")
}

// checkNewMatchesPerNode indexes gd both ways and fails on any difference,
// including in Validate's problems.
func checkNewMatchesPerNode(t *testing.T, name string, gd *graphpb.GraphDef) {
	t.Helper()
	got, want := New(gd), perNodeIndex(gd)
	if d := diffIndexes(got, want); d != "" {
		t.Fatalf("%s: New differs from the per-node index:\n%s", name, d)
	}
	ge, we := fmt.Sprint(got.Validate()), fmt.Sprint(want.Validate())
	if ge != we {
		t.Fatalf("%s: Validate on New:\n%s\non the per-node index:\n%s", name, ge, we)
	}
}

// TestNewMatchesPerNode checks that New's bulk index equals the one built
// node by node, on every fixture, every TF test model, a synthetic graph
// and thousands of generated graphs full of duplicates and bad references.
func TestNewMatchesPerNode(t *testing.T) {
	for _, m := range fixtureModels(t) {
		checkNewMatchesPerNode(t, m.name, m.mg.GetGraphDef())
	}
	for _, m := range realModels(t) {
		checkNewMatchesPerNode(t, m.name, m.mg.GetGraphDef())
	}
	checkNewMatchesPerNode(t, "synth", synth(10_000))
	seeds := uint64(5000)
	if testing.Short() {
		seeds = 500
	}
	for s := range seeds {
		checkNewMatchesPerNode(t, fmt.Sprintf("randGraph(%d)", s), randGraph(s))
	}
}

// TestRandGraphCoverage keeps randGraph honest: across its seeds it must
// produce the cases TestNewMatchesPerNode is meant to cover.
func TestRandGraphCoverage(t *testing.T) {
	seen := map[string]bool{}
	for s := range uint64(500) {
		g := New(randGraph(s))
		for _, b := range g.Bodies() {
			seen["dup node"] = seen["dup node"] || len(b.dups) > 0
			seen["coloc"] = seen["coloc"] || len(b.coloc) > 0
			for name, us := range b.users {
				if b.nodes[name] == nil {
					seen["dangling or arg user"] = true
				}
				seen["repeated user"] = seen["repeated user"] || len(us) > 1
			}
		}
		seen["dup function"] = seen["dup function"] || len(g.dupFuncs) > 0
		seen["unnamed function"] = seen["unnamed function"] || g.unnamed > 0
		seen["func attr"] = seen["func attr"] || len(g.attrCallers) > 0
		if err := g.Validate(); err != nil {
			seen["problems"] = true
		} else {
			seen["valid"] = true
		}
	}
	for _, c := range []string{"dup node", "coloc", "dangling or arg user", "repeated user", "dup function",
		"unnamed function", "func attr", "problems", "valid"} {
		if !seen[c] {
			t.Errorf("randGraph never produced: %s", c)
		}
	}
}

// TestEntrySize guards the per-node cost of the index: New allocates one
// entry per node, and its bytes drive GC work on large graphs.
func TestEntrySize(t *testing.T) {
	if s := unsafe.Sizeof(entry{}); s > 88 {
		t.Errorf("entry is %d bytes, want at most 88", s)
	}
}
