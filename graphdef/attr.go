package graphdef

import (
	"slices"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// ClassAttr is the colocation attr; its list(string) holds "loc:@node".
const ClassAttr = "_class"

// ColocPrefix starts every entry of a _class attr.
const ColocPrefix = "loc:@"

// FuncAttrs returns the names of every function named by an attr of n of
// type func or list(func), including functions named inside the attrs of
// those NameAttrLists, in attr-name order, without duplicates and without
// empty names. It does not include n.Op even if that names a function.
func FuncAttrs(n *nodepb.NodeDef) []string { return funcAttrNames(n) }

func funcAttrNames(n *nodepb.NodeDef) []string {
	calls, _ := attrRefs(n, false)
	return calls
}

// attrRefs returns funcAttrNames(n) and, if coloc is set, the list value
// of n's _class attr (nil if absent or not a list), from one pass over
// n's attrs: Go map iteration is the main cost of indexing a node, and
// attrs of any op may hold functions (TF accepts "_"-prefixed attrs of any
// type on every op), so there is no shortcut by op type.
func attrRefs(n *nodepb.NodeDef, coloc bool) (calls []string, class *attrpb.AttrValue_ListValue) {
	if len(n.GetAttr()) == 0 {
		return nil, nil
	}
	has := false
	for k, v := range n.Attr {
		switch x := v.GetValue().(type) {
		case *attrpb.AttrValue_Func:
			has = true
		case *attrpb.AttrValue_List:
			has = has || len(x.List.GetFunc()) > 0
			if coloc && k == ClassAttr {
				class = x.List
			}
		}
	}
	if has {
		for _, k := range sortedKeys(n.Attr) {
			calls = appendFuncs(calls, n.Attr[k])
		}
	}
	return calls, class
}

func appendFuncs(out []string, v *attrpb.AttrValue) []string {
	switch x := v.GetValue().(type) {
	case *attrpb.AttrValue_Func:
		out = appendNameAttrList(out, x.Func)
	case *attrpb.AttrValue_List:
		for _, f := range x.List.GetFunc() {
			out = appendNameAttrList(out, f)
		}
	}
	return out
}

func appendNameAttrList(out []string, f *attrpb.NameAttrList) []string {
	if name := f.GetName(); name != "" && !slices.Contains(out, name) {
		out = append(out, name)
	}
	for _, k := range sortedKeys(f.GetAttr()) {
		out = appendFuncs(out, f.Attr[k])
	}
	return out
}

// renameFuncAttrs replaces function name from by to in every func attr of
// n, recursively; it reports whether anything changed.
func renameFuncAttrs(attrs map[string]*attrpb.AttrValue, from, to string) bool {
	changed := false
	var walk func(f *attrpb.NameAttrList)
	walk = func(f *attrpb.NameAttrList) {
		if f == nil {
			return
		}
		if f.Name == from {
			f.Name = to
			changed = true
		}
		for _, v := range f.Attr {
			visit(v, walk)
		}
	}
	for _, v := range attrs {
		visit(v, walk)
	}
	return changed
}

func visit(v *attrpb.AttrValue, walk func(*attrpb.NameAttrList)) {
	switch x := v.GetValue().(type) {
	case *attrpb.AttrValue_Func:
		walk(x.Func)
	case *attrpb.AttrValue_List:
		for _, f := range x.List.GetFunc() {
			walk(f)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Colocation returns the node names in n's _class attr ("loc:@name"
// entries), in attr order.
func Colocation(n *nodepb.NodeDef) []string { return colocNames(n) }

func colocNames(n *nodepb.NodeDef) []string {
	return colocList(n.GetAttr()[ClassAttr].GetList())
}

func colocList(l *attrpb.AttrValue_ListValue) []string {
	var out []string
	for _, s := range l.GetS() {
		if name, ok := strings.CutPrefix(string(s), ColocPrefix); ok && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// editColoc rewrites the "loc:@from" entries of n's _class attr to
// "loc:@to", or drops them when to is "". An attr left empty is deleted.
func editColoc(n *nodepb.NodeDef, from, to string) {
	v, ok := n.GetAttr()[ClassAttr]
	if !ok || v.GetList() == nil {
		return
	}
	l := v.GetList()
	want := ColocPrefix + from
	out := l.S[:0]
	seen := map[string]bool{}
	for _, s := range l.S {
		if string(s) == want {
			if to == "" {
				continue
			}
			s = []byte(ColocPrefix + to)
		}
		if seen[string(s)] {
			continue
		}
		seen[string(s)] = true
		out = append(out, s)
	}
	l.S = out
	if len(out) == 0 {
		delete(n.Attr, ClassAttr)
	}
}

// SetColocation sets the named node's _class attr to "loc:@t" for each
// target, in the given order, or deletes the attr when targets is empty,
// and re-indexes the node. Targets are not checked: name nodes of the
// same body that exist.
func (b *Body) SetColocation(node string, targets ...string) error {
	b.g.edited()
	e := b.nodes[node]
	if e == nil {
		return &NotFoundError{Location{b.name, node}}
	}
	n := e.def
	if len(targets) == 0 {
		delete(n.Attr, ClassAttr)
	} else {
		l := &attrpb.AttrValue_ListValue{}
		for _, t := range targets {
			l.S = append(l.S, []byte(ColocPrefix+t))
		}
		if n.Attr == nil {
			n.Attr = map[string]*attrpb.AttrValue{}
		}
		n.Attr[ClassAttr] = &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: l}}
	}
	b.reindex(e)
	return nil
}
