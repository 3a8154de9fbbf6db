package rewrite

import (
	"slices"
	"strconv"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
)

// partSlice says where a partition handle's rows sit in its full variable.
type partSlice struct {
	full  string // main-graph node of the full variable's handle
	dtype typespb.DataType
	rank  int
	start int64 // along axis 0
	len   int64
}

// rewritePartReads makes every use of a partition handle of meta graph mg
// (a function traced before the save captured the parts) use the full
// variable instead, reading the part's rows out of it.
//
// A concrete function that captured a ShardedVariable's parts is saved
// with bound_inputs naming the one full-shape SavedVariable for every part,
// while the main graph's call node passes the part handles, which the saver
// never restores. So Python's loader binds the full variable to every
// part's argument and the function silently reads the wrong rows (TF 2.18
// does this), and the C++ loader fails with "Could not find variable". The
// pass finds the full variable of each captured part through bound_inputs
// and the checkpoint (the key of that SavedVariable, the handle the restore
// function assigns it to), passes the full handle instead of the part, and
// inside the functions (following nested calls) turns each use of that
// argument into a use of the part's rows:
//
//	ReadVariableOp(arg)          -> Slice(ReadVariableOp(arg), [start,0..], [len,-1..])
//	ResourceGather(arg, ids)     -> GatherV2(Slice(ReadVariableOp(arg), ...), ids, 0)
//
// ShardedVariable partitions along axis 0 only (sharded_variable.py), and
// the parts' offsets are their row counts in "part_<i>" order, checked
// against the full shape. Other uses (writes, a function with callers that
// pass other values) are an error naming them.
func rewritePartReads(c *Context, mg int) error {
	meta := c.MetaGraphs()[mg]
	og := meta.GetObjectGraphDef()
	g := c.Graph(mg)
	main := g.Main()
	parts := map[string]partSlice{}
	for _, n := range slices.Clone(main.Nodes()) {
		if !isCall(n) {
			continue
		}
		data := graphdef.DataInputs(n)
		for pos, in := range data {
			p := graphdef.Producer(in)
			pn := main.Node(p)
			if pn == nil || !isVariableOp(pn.GetOp()) || !partName.MatchString(p) {
				continue
			}
			ps, ok := parts[p]
			if !ok {
				ps, ok = partFromBinding(c, mg, og, n, pos, len(data), p, parts)
			}
			if !ok {
				c.Notef(Node(mg, "", n.GetName()), "passes partition handle %s, whose full variable the pass cannot tell; left as is", p)
				continue
			}
			fns := g.Calls(n)
			if len(fns) != 1 || g.Function(fns[0]) == nil {
				return c.Errorf(Node(mg, "", n.GetName()), "passes partition handle %s to a call the pass cannot follow", p)
			}
			if err := slicePartArg(c, mg, g.Function(fns[0]), pos, ps); err != nil {
				return err
			}
			n.Input[inputIndex(n, pos)] = ps.full
			if err := main.Update(n.GetName()); err != nil {
				return c.Errorf(Node(mg, "", n.GetName()), "%w", err)
			}
			c.Changef(Node(mg, "", n.GetName()), "input %d: passes full variable %s instead of partition handle %s (rows %d..%d)", pos, ps.full, p, ps.start, ps.start+ps.len)
		}
	}
	return nil
}

func isCall(n *nodepb.NodeDef) bool {
	return n.GetOp() == "StatefulPartitionedCall" || n.GetOp() == "PartitionedCall"
}

// inputIndex returns the index in n.Input of data input pos.
func inputIndex(n *nodepb.NodeDef, pos int) int {
	k := 0
	for i, s := range n.GetInput() {
		if len(s) > 0 && s[0] == '^' {
			continue
		}
		if k == pos {
			return i
		}
		k++
	}
	return -1
}

// partFromBinding finds the full variable of partition handle p, passed as
// data input pos of call node n (with nData data inputs), through the
// concrete function's bound_inputs, and records the slices of every part
// of the same variable in parts.
func partFromBinding(c *Context, mg int, og *tfpb.SavedObjectGraph, n *nodepb.NodeDef, pos, nData int, p string, parts map[string]partSlice) (partSlice, bool) {
	g := c.Graph(mg)
	fns := g.Calls(n)
	if og == nil || len(fns) != 1 {
		return partSlice{}, false
	}
	cf := og.GetConcreteFunctions()[fns[0]]
	bound := cf.GetBoundInputs()
	first := nData - len(bound)
	if cf == nil || pos < first || first < 0 {
		return partSlice{}, false
	}
	id := bound[pos-first]
	if id < 0 || int(id) >= len(og.GetNodes()) || og.GetNodes()[id].GetVariable() == nil {
		return partSlice{}, false
	}
	v := og.GetNodes()[id].GetVariable()
	key := objectCheckpointKey(c, og, int(id))
	full := restoredHandle(c, mg, key)
	fn := g.Main().Node(full)
	if key == "" || fn == nil {
		return partSlice{}, false
	}
	base := partName.FindStringSubmatch(p)[1]
	dims := make([]int64, len(v.GetShape().GetDim()))
	for i, d := range v.GetShape().GetDim() {
		dims[i] = d.GetSize()
	}
	if len(dims) == 0 {
		return partSlice{}, false
	}
	type part struct {
		name string
		i    int
		rows int64
	}
	var group []part
	for _, m := range g.Main().Nodes() {
		sm := partName.FindStringSubmatch(m.GetName())
		if sm == nil || sm[1] != base || !isVariableOp(m.GetOp()) {
			continue
		}
		i, _ := strconv.Atoi(m.GetName()[len(base)+len("/part_"):])
		shape := m.GetAttr()["shape"].GetShape().GetDim()
		if len(shape) != len(dims) || m.GetAttr()["dtype"].GetType() != v.GetDtype() {
			return partSlice{}, false
		}
		for d := 1; d < len(dims); d++ {
			if shape[d].GetSize() != dims[d] {
				return partSlice{}, false
			}
		}
		group = append(group, part{m.GetName(), i, shape[0].GetSize()})
	}
	slices.SortFunc(group, func(a, b part) int { return a.i - b.i })
	start := int64(0)
	for k, q := range group {
		if q.i != k {
			return partSlice{}, false
		}
		parts[q.name] = partSlice{full: full, dtype: v.GetDtype(), rank: len(dims), start: start, len: q.rows}
		start += q.rows
	}
	if start != dims[0] {
		for _, q := range group {
			delete(parts, q.name)
		}
		return partSlice{}, false
	}
	ps, ok := parts[p]
	return ps, ok
}

// objectCheckpointKey returns the checkpoint key of the VARIABLE_VALUE of
// SavedObjectGraph node id: the attribute of the checkpoint object graph
// node at the same path of child names.
func objectCheckpointKey(c *Context, og *tfpb.SavedObjectGraph, id int) string {
	ck, err := c.Model.OutputObjectGraph()
	if err != nil || ck == nil {
		return ""
	}
	paths := objectPaths(og.GetNodes(), func(i int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
		return og.GetNodes()[i].GetChildren()
	})
	ckPaths := objectPaths(ck.GetNodes(), func(i int) []*tfpb.TrackableObjectGraph_TrackableObject_ObjectReference {
		return ck.GetNodes()[i].GetChildren()
	})
	for i, p := range ckPaths {
		if p != paths[id] || p == "?" {
			continue
		}
		for _, a := range ck.GetNodes()[i].GetAttributes() {
			if a.GetName() == "VARIABLE_VALUE" {
				return a.GetCheckpointKey()
			}
		}
	}
	return ""
}

// restoredHandle returns the main-graph variable node that the saver of
// meta graph mg restores checkpoint key into, or "".
func restoredHandle(c *Context, mg int, key string) string {
	for v, keys := range restoredKeys(c, mg) {
		if slices.Contains(keys, key) {
			return v
		}
	}
	return ""
}

// slicePartArg rewrites the uses of argument pos of function body b, which
// now receives the full variable instead of a part, to use the part's rows.
func slicePartArg(c *Context, mg int, b *graphdef.Body, pos int, ps partSlice) error {
	args := b.FunctionDef().GetSignature().GetInputArg()
	if pos >= len(args) {
		return c.Errorf(Node(mg, b.Name(), ""), "has no argument %d for a partition handle", pos)
	}
	arg := args[pos].GetName()
	if callers := b.Graph().Callers(b.Name()); len(callers) != 1 {
		return c.Errorf(Node(mg, b.Name(), arg), "receives a partition handle but has %d callers; rewriting it for one would change the others", len(callers))
	}
	for _, u := range b.Consumers(arg) {
		n := u.Node
		if u.Input.Control {
			continue
		}
		switch {
		case n.GetOp() == "ReadVariableOp":
			if err := sliceRead(c, mg, b, n, arg, ps); err != nil {
				return err
			}
		case n.GetOp() == "ResourceGather" && u.Slot == 0:
			if err := sliceGather(c, mg, b, n, arg, ps); err != nil {
				return err
			}
		case isCall(n):
			fns := b.Graph().Calls(n)
			inner := b.Graph().Function(fns[0])
			if len(fns) != 1 || inner == nil {
				return c.Errorf(Node(mg, b.Name(), n.GetName()), "passes partition argument %s to a call the pass cannot follow", arg)
			}
			if err := slicePartArg(c, mg, inner, u.Slot, ps); err != nil {
				return err
			}
		default:
			return c.Errorf(Node(mg, b.Name(), n.GetName()), "uses partition argument %s as input %d of %s, which the pass cannot rewrite to the full variable", arg, u.Slot, n.GetOp())
		}
	}
	return nil
}

// sliceNodes adds, in body b, a read of the full variable arg and the
// Slice of the part's rows, named after node name; it returns the Slice's
// output reference.
func sliceNodes(b *graphdef.Body, name, arg string, ps partSlice, device string) (string, error) {
	begin := make([]int32, ps.rank)
	size := make([]int32, ps.rank)
	for i := range size {
		size[i] = -1
	}
	begin[0], size[0] = int32(ps.start), int32(ps.len)
	read := &nodepb.NodeDef{Name: name + "/unmirror_full_read", Op: "ReadVariableOp", Input: []string{arg}, Device: device,
		Attr: map[string]*attrpb.AttrValue{"dtype": typeAttr(ps.dtype)}}
	nodes := []*nodepb.NodeDef{
		read,
		int32sConst(name+"/unmirror_begin", begin, device),
		int32sConst(name+"/unmirror_size", size, device),
		{Name: name + "/unmirror_rows", Op: "Slice", Device: device,
			Input: []string{ref(b, read.Name, "value"), ref(b, name+"/unmirror_begin", "output"), ref(b, name+"/unmirror_size", "output")},
			Attr:  map[string]*attrpb.AttrValue{"T": typeAttr(ps.dtype), "Index": typeAttr(typespb.DataType_DT_INT32)}},
	}
	for _, n := range nodes {
		if err := b.Add(n); err != nil {
			return "", err
		}
	}
	return ref(b, name+"/unmirror_rows", "output"), nil
}

// sliceRead replaces ReadVariableOp n of the part by an Identity of the
// part's rows of the full variable, keeping its name.
func sliceRead(c *Context, mg int, b *graphdef.Body, n *nodepb.NodeDef, arg string, ps partSlice) error {
	rows, err := sliceNodes(b, n.GetName(), arg, ps, n.GetDevice())
	if err != nil {
		return c.Errorf(Node(mg, b.Name(), n.GetName()), "%w", err)
	}
	id := &nodepb.NodeDef{Name: n.GetName(), Op: "Identity", Device: n.GetDevice(), Input: append([]string{rows}, graphdef.ControlInputs(n)...),
		Attr: map[string]*attrpb.AttrValue{"T": typeAttr(ps.dtype)}}
	remap := func(in graphdef.Input) (graphdef.Input, error) {
		if b.IsFunction() {
			in.Output = "output"
		}
		return in, nil
	}
	if err := b.Replace(n.GetName(), id, remap); err != nil {
		return c.Errorf(Node(mg, b.Name(), n.GetName()), "%w", err)
	}
	c.Changef(Node(mg, b.Name(), n.GetName()), "reads rows %d..%d of the full variable instead of a partition", ps.start, ps.start+ps.len)
	return nil
}

// sliceGather replaces ResourceGather n of the part by a GatherV2 from the
// part's rows of the full variable, keeping its name.
func sliceGather(c *Context, mg int, b *graphdef.Body, n *nodepb.NodeDef, arg string, ps partSlice) error {
	if n.GetAttr()["batch_dims"].GetI() != 0 {
		return c.Errorf(Node(mg, b.Name(), n.GetName()), "ResourceGather with batch_dims of a partition is not supported")
	}
	rows, err := sliceNodes(b, n.GetName(), arg, ps, n.GetDevice())
	if err != nil {
		return c.Errorf(Node(mg, b.Name(), n.GetName()), "%w", err)
	}
	axis := int32sConst(n.GetName()+"/unmirror_axis", nil, n.GetDevice())
	if err := b.Add(axis); err != nil {
		return c.Errorf(Node(mg, b.Name(), n.GetName()), "%w", err)
	}
	tind := n.GetAttr()["Tindices"]
	if tind == nil {
		tind = typeAttr(typespb.DataType_DT_INT32)
	}
	data := graphdef.DataInputs(n)
	gather := &nodepb.NodeDef{Name: n.GetName(), Op: "GatherV2", Device: n.GetDevice(),
		Input: append([]string{rows, data[1], ref(b, axis.Name, "output")}, graphdef.ControlInputs(n)...),
		Attr:  map[string]*attrpb.AttrValue{"Tparams": typeAttr(ps.dtype), "Tindices": tind, "Taxis": typeAttr(typespb.DataType_DT_INT32)}}
	if err := b.Replace(n.GetName(), gather, nil); err != nil {
		return c.Errorf(Node(mg, b.Name(), n.GetName()), "%w", err)
	}
	c.Changef(Node(mg, b.Name(), n.GetName()), "gathers from rows %d..%d of the full variable instead of a partition", ps.start, ps.start+ps.len)
	return nil
}

// ref writes output 0 of node in b's grammar ("n" in graphs, "n:out:0" in
// functions).
func ref(b *graphdef.Body, node, out string) string {
	if b.IsFunction() {
		return node + ":" + out + ":0"
	}
	return node
}

func typeAttr(t typespb.DataType) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: t}}
}

// int32sConst returns a DT_INT32 Const holding v (a rank-1 tensor), or the
// scalar 0 when v is nil.
func int32sConst(name string, v []int32, device string) *nodepb.NodeDef {
	t := &tensorpb.TensorProto{Dtype: typespb.DataType_DT_INT32, TensorShape: &tsp.TensorShapeProto{}}
	if v == nil {
		t.IntVal = []int32{0}
	} else {
		t.TensorShape.Dim = []*tsp.TensorShapeProto_Dim{{Size: int64(len(v))}}
		t.IntVal = v
	}
	return &nodepb.NodeDef{Name: name, Op: "Const", Device: device, Attr: map[string]*attrpb.AttrValue{
		"dtype": typeAttr(typespb.DataType_DT_INT32),
		"value": {Value: &attrpb.AttrValue_Tensor{Tensor: t}},
	}}
}
