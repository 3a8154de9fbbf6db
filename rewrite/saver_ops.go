package rewrite

import (
	"fmt"
	"slices"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// saverOp is a SaveV2 or RestoreV2 node with its tensor_names and
// shape_and_slices Consts decoded.
type saverOp struct {
	body    *graphdef.Body
	node    *nodepb.NodeDef
	restore bool
	names   []string // checkpoint keys, one per slot
	specs   []string // shape_and_slices, one per slot ("" for a full tensor)
	namesC  *nodepb.NodeDef
	specsC  *nodepb.NodeDef
}

// dtypes returns the op's dtypes attr (one per slot).
func (op *saverOp) dtypes() []typespb.DataType {
	return op.node.GetAttr()["dtypes"].GetList().GetType()
}

// loadSaverOp decodes a SaveV2 or RestoreV2 node of body b.
func loadSaverOp(b *graphdef.Body, n *nodepb.NodeDef) (*saverOp, error) {
	op := &saverOp{body: b, node: n, restore: n.GetOp() == "RestoreV2"}
	var err error
	if op.names, op.namesC, err = constInput(b, n, 1); err != nil {
		return nil, err
	}
	if op.specs, op.specsC, err = constInput(b, n, 2); err != nil {
		return nil, err
	}
	if len(op.names) != len(op.specs) || len(op.names) != len(op.dtypes()) {
		return nil, fmt.Errorf("%s has %d tensor names, %d shape_and_slices and %d dtypes", n.GetName(), len(op.names), len(op.specs), len(op.dtypes()))
	}
	if !op.restore && len(n.GetInput()) < 3+len(op.names) {
		return nil, fmt.Errorf("%s has %d inputs for %d tensors", n.GetName(), len(n.GetInput()), len(op.names))
	}
	return op, nil
}

// constStrings returns the strings of the Const that feeds data input i of
// node n in body b.
func constStrings(b *graphdef.Body, n *nodepb.NodeDef, i int) ([]string, error) {
	s, _, err := constInput(b, n, i)
	return s, err
}

func constInput(b *graphdef.Body, n *nodepb.NodeDef, i int) ([]string, *nodepb.NodeDef, error) {
	if i >= len(n.GetInput()) {
		return nil, nil, fmt.Errorf("%s has no input %d", n.GetName(), i)
	}
	in, err := b.ParseInput(n.GetInput()[i])
	if err != nil {
		return nil, nil, err
	}
	c := b.Node(in.Node)
	if c == nil || c.GetOp() != "Const" {
		return nil, nil, fmt.Errorf("input %d of %s (%q) is not a Const", i, n.GetName(), n.GetInput()[i])
	}
	t := c.GetAttr()["value"].GetTensor()
	if t.GetDtype() != typespb.DataType_DT_STRING {
		return nil, nil, fmt.Errorf("Const %s holds %v, not strings", c.GetName(), t.GetDtype())
	}
	out := make([]string, len(t.GetStringVal()))
	for j, s := range t.GetStringVal() {
		out[j] = string(s)
	}
	// A Const may store one value for a whole shape; expand it.
	if dims := t.GetTensorShape().GetDim(); len(dims) == 1 && len(out) == 1 && dims[0].GetSize() > 1 {
		for range dims[0].GetSize() - 1 {
			out = append(out, out[0])
		}
	}
	return out, c, nil
}

// setConstStrings stores strs in the rank-1 string Const c.
func setConstStrings(c *nodepb.NodeDef, strs []string) {
	t := c.GetAttr()["value"].GetTensor()
	t.StringVal = t.StringVal[:0]
	for _, s := range strs {
		t.StringVal = append(t.StringVal, []byte(s))
	}
	if dims := t.GetTensorShape().GetDim(); len(dims) == 1 {
		dims[0].Size = int64(len(strs))
	}
	if os := c.GetAttr()["_output_shapes"].GetList().GetShape(); len(os) == 1 && len(os[0].GetDim()) == 1 {
		os[0].GetDim()[0].Size = int64(len(strs))
	}
}

// consumersOnce reports whether Const c is read only by node n (the saver op
// about to edit it).
func consumersOnce(b *graphdef.Body, c *nodepb.NodeDef, n *nodepb.NodeDef) bool {
	for _, u := range b.Consumers(c.GetName()) {
		if u.Node != n {
			return false
		}
	}
	ret, cret := b.RetUses(c.GetName())
	return len(ret)+len(cret) == 0
}

// keep reduces the op to the slots whose index keep says to keep: Consts,
// dtypes, "_output_shapes", SaveV2 data inputs and, for RestoreV2, the
// consumers of later outputs (renumbered). The consumers of dropped
// RestoreV2 outputs must have been removed. It returns the new index of
// each old slot (-1 when dropped).
func (op *saverOp) keep(keep func(i int) bool) ([]int, error) {
	for _, c := range []*nodepb.NodeDef{op.namesC, op.specsC} {
		if !consumersOnce(op.body, c, op.node) {
			return nil, fmt.Errorf("Const %s is shared with other nodes; refusing to edit it in place", c.GetName())
		}
	}
	idx := make([]int, len(op.names))
	var names, specs []string
	var dts []typespb.DataType
	var shapes = op.node.GetAttr()["_output_shapes"].GetList().GetShape()
	var keptShapes = shapes[:0:0]
	inputs := slices.Clone(op.node.GetInput()[:3])
	for i := range op.names {
		if !keep(i) {
			idx[i] = -1
			continue
		}
		idx[i] = len(names)
		names = append(names, op.names[i])
		specs = append(specs, op.specs[i])
		dts = append(dts, op.dtypes()[i])
		if i < len(shapes) {
			keptShapes = append(keptShapes, shapes[i])
		}
		if !op.restore {
			inputs = append(inputs, op.node.GetInput()[3+i])
		}
	}
	if op.restore {
		if err := op.renumber(idx); err != nil {
			return nil, err
		}
	} else {
		inputs = append(inputs, op.node.GetInput()[3+len(op.names):]...) // control inputs
		op.node.Input = inputs
		if err := op.body.Update(op.node.GetName()); err != nil {
			return nil, err
		}
	}
	setConstStrings(op.namesC, names)
	setConstStrings(op.specsC, specs)
	op.node.Attr["dtypes"] = &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{Type: dts}}}
	if len(shapes) > 0 {
		op.node.Attr["_output_shapes"].GetList().Shape = keptShapes
	}
	op.names, op.specs = names, specs
	return idx, nil
}

// outputUse is one data input (or, with node nil, one function ret value
// named key) that reads output index of a RestoreV2.
type outputUse struct {
	node  *nodepb.NodeDef
	slot  int
	key   string
	index int
	in    graphdef.Input
}

// outputUses returns the references to the op's outputs by output index,
// found in one pass over the body (Body.ConsumersOf per output would cost
// the number of outputs squared).
func (op *saverOp) outputUses() map[int][]outputUse {
	out := map[int][]outputUse{}
	add := func(u outputUse, s string) {
		in, err := op.body.ParseInput(s)
		if err != nil || in.Control || in.Node != op.node.GetName() {
			return
		}
		if op.body.IsFunction() && in.Output != "tensors" {
			return
		}
		u.index, u.in = in.Index, in
		out[in.Index] = append(out[in.Index], u)
	}
	for _, n := range op.body.Nodes() {
		for i, s := range n.GetInput() {
			if graphdef.Producer(s) == op.node.GetName() {
				add(outputUse{node: n, slot: i}, s)
			}
		}
	}
	if fd := op.body.FunctionDef(); fd != nil {
		for k, v := range fd.GetRet() {
			add(outputUse{key: k}, v)
		}
	}
	return out
}

// renumber makes every reference to output i read output idx[i] instead
// (idx[i] >= 0), rewriting each consumer once.
func (op *saverOp) renumber(idx []int) error {
	changed := map[*nodepb.NodeDef]bool{}
	var order []*nodepb.NodeDef
	for i, uses := range op.outputUses() {
		if i >= len(idx) || idx[i] == i {
			continue
		}
		if idx[i] < 0 {
			return fmt.Errorf("output %d of %s is dropped but still read", i, op.node.GetName())
		}
		for _, u := range uses {
			in := u.in
			in.Index, in.HasIndex = idx[i], idx[i] > 0 || op.body.IsFunction()
			if u.node == nil {
				op.body.FunctionDef().Ret[u.key] = in.String()
				continue
			}
			u.node.Input[u.slot] = in.String()
			if !changed[u.node] {
				changed[u.node] = true
				order = append(order, u.node)
			}
		}
	}
	for _, n := range order {
		if err := op.body.Update(n.GetName()); err != nil {
			return err
		}
	}
	return nil
}

// output returns the reference to RestoreV2 output slot i, written as TF
// writes it ("n" / "n:i" in graphs, "n:tensors:i" in functions).
func (op *saverOp) output(i int) graphdef.Input {
	if op.body.IsFunction() {
		return graphdef.Input{Node: op.node.GetName(), Output: "tensors", Index: i, HasIndex: true}
	}
	return graphdef.Input{Node: op.node.GetName(), Index: i, HasIndex: i > 0}
}
