package graphdef

import (
	"bytes"
	"slices"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// bulk indexes a whole node list at once (New), giving the same index as
// entering the nodes one by one through Body.index (the path edits use),
// with a few allocations per body instead of several per node:
//
//   - entries, refs, users and colocation lists each come from one slab;
//   - node names are entered last node first, one map write per node, so
//     that the first definition of a duplicated name is the one indexed;
//   - every input is assigned the group of its producer name (group i is
//     node i, then one group per function argument, then names nothing
//     defines), and each group's users are a full-capacity sub-slice of
//     one slab, in node and input order, as appending would give; the
//     colocation map is built the same way from (name, node) pairs.
//
// Full-capacity sub-slices make later edits safe: an append reallocates
// instead of writing into the next group. One bulk serves all the bodies
// of a GraphDef: its scratch buffers are reused, and the colocation arena
// is shared.
type bulk struct {
	b      *Body
	nodes  []*nodepb.NodeDef
	slab   []entry
	group  []int32          // producer group of each indexed input, in order
	uses   []int32          // number of inputs per group
	other  map[string]int32 // group of each name no node or argument has
	others []string         // their names, for groups after the arguments
	locs   []string         // arena for the entries' colocation lists
	attrs  []attrNames      // arena for the entries' attrNames
	pairs  []colocPair      // (colocation name, node position), in node order
}

type colocPair struct {
	name string
	pos  int
}

// index indexes nodes, b's whole node list, into b (whose args are set).
func (x *bulk) index(b *Body, nodes []*nodepb.NodeDef) {
	x.b, x.nodes, x.slab = b, nodes, make([]entry, len(nodes))
	x.others, x.pairs = x.others[:0], x.pairs[:0]
	clear(x.other)
	b.nodes = make(map[string]*entry, len(nodes))
	inputs := 0
	for i := len(nodes) - 1; i >= 0; i-- {
		e := &x.slab[i]
		e.pos, e.name = int32(i), nodes[i].GetName()
		b.nodes[e.name] = e
		inputs += len(nodes[i].Input)
	}
	dups := len(b.nodes) < len(nodes)
	refs := make([]string, inputs)
	x.group = slices.Grow(x.group[:0], inputs)
	groups := len(nodes) + len(b.fn.GetSignature().GetInputArg())
	x.uses = slices.Grow(x.uses[:0], groups)[:groups]
	clear(x.uses)
	for i, n := range nodes {
		e := &x.slab[i]
		if dups && b.nodes[n.GetName()] != e {
			b.dups = append(b.dups, n.GetName())
			continue
		}
		k := len(n.Input)
		e.refs, refs = refs[:k:k], refs[k:]
		for j, in := range n.Input {
			p := Producer(in)
			e.refs[j] = p
			x.addUse(p)
		}
		calls, class := attrRefs(n, true)
		b.enter(e, n, i, x.attrNames(calls, x.colocation(class, i)))
	}
	b.users = x.users()
	b.coloc = x.coloc()
	x.b, x.nodes, x.slab = nil, nil, nil
}

func (x *bulk) addUse(p string) {
	var id int32
	if e := x.b.nodes[p]; e != nil {
		id = e.pos
	} else if a, ok := x.b.args[p]; ok {
		id = int32(len(x.nodes) + a)
	} else {
		if id, ok = x.other[p]; !ok {
			if x.other == nil {
				x.other = map[string]int32{}
			}
			id = int32(len(x.uses))
			x.other[p] = id
			x.others = append(x.others, p)
			x.uses = append(x.uses, 0)
		}
	}
	x.group = append(x.group, id)
	x.uses[id]++
}

// groupName returns the name of users group id.
func (x *bulk) groupName(id int) string {
	if id < len(x.nodes) {
		return x.nodes[id].GetName()
	}
	id -= len(x.nodes)
	if args := x.b.fn.GetSignature().GetInputArg(); id < len(args) {
		return args[id].GetName()
	}
	return x.others[id-len(x.b.fn.GetSignature().GetInputArg())]
}

// users lays the groups out in one slab and returns the users map.
func (x *bulk) users() map[string][]*nodepb.NodeDef {
	// end[id] is one past group id's last slot; filling the slab from the
	// last input backwards leaves it at the group's first slot.
	end := x.uses
	groups := 0
	off := int32(0)
	for id, c := range end {
		off += c
		end[id] = off
		if c > 0 {
			groups++
		}
	}
	all := make([]*nodepb.NodeDef, len(x.group))
	k := len(x.group)
	for i := len(x.nodes) - 1; i >= 0; i-- {
		n := x.nodes[i]
		if x.slab[i].def != n {
			continue // a duplicate, not indexed
		}
		for range n.Input {
			k--
			id := x.group[k]
			end[id]--
			all[end[id]] = n
		}
	}
	users := make(map[string][]*nodepb.NodeDef, groups)
	for id, start := range end {
		stop := int32(len(all))
		if id+1 < len(end) {
			stop = end[id+1]
		}
		if stop > start {
			users[x.groupName(id)] = all[start:stop:stop]
		}
	}
	return users
}

// attrNames is newAttrNames from an arena of chunks.
func (x *bulk) attrNames(calls, coloc []string) *attrNames {
	if len(calls) == 0 && len(coloc) == 0 {
		return nil
	}
	if len(x.attrs) == cap(x.attrs) {
		x.attrs = make([]attrNames, 0, 256)
	}
	x.attrs = append(x.attrs, attrNames{calls, coloc})
	return &x.attrs[len(x.attrs)-1]
}

// colocation returns the names in a _class list (as colocList does) for
// node pos, from the arena, reusing the name strings of the body's nodes,
// and records the pairs for coloc.
func (x *bulk) colocation(l *attrpb.AttrValue_ListValue, pos int) []string {
	start := len(x.locs)
	for _, s := range l.GetS() {
		if !bytes.HasPrefix(s, []byte(ColocPrefix)) {
			continue
		}
		var name string
		if e := x.b.nodes[string(s[len(ColocPrefix):])]; e != nil {
			name = e.name
		} else {
			name = string(s[len(ColocPrefix):])
		}
		if !slices.Contains(x.locs[start:], name) {
			x.locs = append(x.locs, name)
			x.pairs = append(x.pairs, colocPair{name, pos})
		}
	}
	if len(x.locs) == start {
		return nil
	}
	return x.locs[start:len(x.locs):len(x.locs)]
}

// coloc returns the colocation map: for each name, the nodes naming it,
// in node order (the sort is stable).
func (x *bulk) coloc() map[string][]*nodepb.NodeDef {
	if len(x.pairs) == 0 {
		return nil
	}
	slices.SortStableFunc(x.pairs, func(a, b colocPair) int { return strings.Compare(a.name, b.name) })
	all := make([]*nodepb.NodeDef, len(x.pairs))
	m := map[string][]*nodepb.NodeDef{}
	for i := 0; i < len(x.pairs); {
		j := i
		for ; j < len(x.pairs) && x.pairs[j].name == x.pairs[i].name; j++ {
			all[j] = x.nodes[x.pairs[j].pos]
		}
		m[x.pairs[i].name] = all[i:j:j]
		i = j
	}
	return m
}
