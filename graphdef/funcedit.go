package graphdef

import (
	"fmt"
	"slices"
	"strings"

	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// AddFunction appends fd to the library (creating it if needed) and
// indexes it. Its name must be new.
func (g *Graph) AddFunction(fd *fnpb.FunctionDef) (*Body, error) {
	g.edited()
	name := fd.GetSignature().GetName()
	if name == "" {
		return nil, fmt.Errorf("graphdef: function without a signature name")
	}
	if g.funcs[name] != nil {
		return nil, fmt.Errorf("%w: function %s", ErrExists, name)
	}
	if g.def.Library == nil {
		g.def.Library = &fnpb.FunctionDefLibrary{}
	}
	g.def.Library.Function = append(g.def.Library.Function, fd)
	return g.indexFunction(fd, nil), nil
}

// RemoveFunctions deletes the named functions from the library, with the
// library.gradient entries that name them (either side). It refuses, and
// changes nothing, if a node outside the removed functions still calls one
// of them; remove or rewrite those callers first.
func (g *Graph) RemoveFunctions(names ...string) error {
	g.edited()
	gone := map[string]bool{}
	for _, name := range names {
		if g.funcs[name] == nil {
			return &NotFoundError{Location{Function: name}}
		}
		gone[name] = true
	}
	var refs []string
	for name := range gone {
		for _, c := range g.Callers(name) {
			if !gone[c.Body.name] {
				refs = append(refs, fmt.Sprintf("%s calls %s", c.Location(), name))
			}
		}
	}
	if len(refs) > 0 {
		slices.Sort(refs)
		return fmt.Errorf("graphdef: cannot remove functions still called: %s", strings.Join(refs, "; "))
	}
	for name := range gone {
		b := g.funcs[name]
		for _, e := range b.nodes {
			b.unindex(e)
		}
		delete(g.funcs, name)
	}
	lib := g.def.Library
	lib.Function = slices.DeleteFunc(lib.Function, func(fd *fnpb.FunctionDef) bool {
		return gone[fd.GetSignature().GetName()]
	})
	lib.Gradient = slices.DeleteFunc(lib.Gradient, func(gr *fnpb.GradientDef) bool {
		return gone[gr.GetFunctionName()] || gone[gr.GetGradientFunc()]
	})
	for f, gr := range g.grads {
		if gone[f] || gone[gr] {
			delete(g.grads, f)
		}
	}
	// A duplicate definition of a removed name may remain; index it.
	for _, fd := range lib.Function {
		if name := fd.GetSignature().GetName(); gone[name] && g.funcs[name] == nil {
			g.indexFunction(fd, nil)
		}
	}
	return nil
}

// callOps are the ops whose "f" attr names the function they call with
// data inputs "args: Tin" (TPUPartitionedCall adds a trailing ordinal).
var callOps = map[string]bool{"PartitionedCall": true, "StatefulPartitionedCall": true, "TPUPartitionedCall": true}

// RemoveArg deletes the function input argument name, which must be
// unused (no input and no ret reads it). It keeps arg_attr and
// resource_arg_unique_id (keyed by argument position) in step, and fixes
// every call site: nodes whose op is the function lose that data input,
// and PartitionedCall/StatefulPartitionedCall/TPUPartitionedCall nodes
// whose "f" is the function lose that input, its "Tin" entry, and have
// "_read_only_resource_inputs" renumbered. Any other caller (If, While,
// Case, ...) makes it an error, as do list-valued arguments. On error
// nothing changed.
func (b *Body) RemoveArg(name string) error {
	b.g.edited()
	if b.fn == nil {
		return fmt.Errorf("graphdef: RemoveArg on the main graph")
	}
	pos, ok := b.args[name]
	if !ok {
		return &NotFoundError{Location{b.name, name}}
	}
	if b.HasConsumers(name) {
		return &DanglingRefError{Function: b.name, Refs: []string{"argument " + name + " is still read"}}
	}
	if ret, _ := b.RetUses(name); len(ret) > 0 {
		return &DanglingRefError{Function: b.name, Refs: []string{"argument " + name + " is returned by " + strings.Join(ret, ", ")}}
	}
	for _, a := range b.fn.GetSignature().GetInputArg()[:pos+1] {
		if a.GetNumberAttr() != "" || a.GetTypeListAttr() != "" {
			return fmt.Errorf("graphdef: function %s: argument %s: list arguments before or at the removed one are not supported", b.name, a.GetName())
		}
	}
	callers := b.g.Callers(b.name)
	for _, c := range callers {
		direct := c.Node.GetOp() == b.name
		if !direct && !(callOps[c.Node.GetOp()] && c.Node.GetAttr()["f"].GetFunc().GetName() == b.name) {
			return fmt.Errorf("graphdef: function %s: cannot remove argument %s: called by %s (%s)", b.name, name, c.Location(), c.Node.GetOp())
		}
		if dataInputs(c.Node) <= pos {
			return fmt.Errorf("graphdef: function %s: caller %s has only %d data inputs", b.name, c.Location(), dataInputs(c.Node))
		}
	}
	for _, c := range callers {
		n := c.Node
		in := slices.Delete(slices.Clone(n.Input), pos, pos+1)
		if c.Node.GetOp() != b.name {
			if tin := n.Attr["Tin"].GetList(); tin != nil && pos < len(tin.Type) {
				tin.Type = slices.Delete(tin.Type, pos, pos+1)
			}
			if ro := n.Attr["_read_only_resource_inputs"].GetList(); ro != nil {
				ro.I = shiftIndices(ro.I, pos)
			}
		}
		c.Body.setInputs(n, in)
	}
	sig := b.fn.Signature
	sig.InputArg = slices.Delete(sig.InputArg, pos, pos+1)
	b.fn.ArgAttr = shiftKeys(b.fn.ArgAttr, pos)
	b.fn.ResourceArgUniqueId = shiftKeys(b.fn.ResourceArgUniqueId, pos)
	delete(b.args, name)
	for a, i := range b.args {
		if i > pos {
			b.args[a] = i - 1
		}
	}
	return nil
}

func dataInputs(n *nodepb.NodeDef) int {
	c := 0
	for _, s := range n.Input {
		if !strings.HasPrefix(s, "^") {
			c++
		}
	}
	return c
}

// shiftIndices drops pos from a list of input indices and renumbers the
// ones after it.
func shiftIndices(s []int64, pos int) []int64 {
	out := s[:0]
	for _, i := range s {
		switch {
		case i == int64(pos):
		case i > int64(pos):
			out = append(out, i-1)
		default:
			out = append(out, i)
		}
	}
	return out
}

// shiftKeys drops key pos from a map keyed by argument position and
// renumbers the keys after it. A nil or empty map stays as it is.
func shiftKeys[V any](m map[uint32]V, pos int) map[uint32]V {
	if len(m) == 0 {
		return m
	}
	out := make(map[uint32]V, len(m))
	for k, v := range m {
		switch {
		case k == uint32(pos):
		case k > uint32(pos):
			out[k-1] = v
		default:
			out[k] = v
		}
	}
	return out
}
