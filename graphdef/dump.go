package graphdef

import (
	"bufio"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"google.golang.org/protobuf/proto"
)

// DumpOptions selects what Dump prints. The zero value prints everything.
type DumpOptions struct {
	// Bodies, if not empty, limits the dump to these bodies: "" is the main
	// graph, anything else a function name.
	Bodies []string
	// NoAttrs leaves node attrs out.
	NoAttrs bool
}

// Dump writes a stable, sorted text form of gd: the main graph, then every
// function by name, then library.gradient. Nodes are sorted by name, attrs
// by key; each node reads
//
//	name = Op(input, ..., ^control) @"device"
//	    attr = value
//
// Tensor attrs print as dtype, shape, size and an FNV-64a hash of their
// deterministic encoding. The form is for debugging and golden tests, not
// for parsing back.
func Dump(w io.Writer, gd *graphpb.GraphDef, opts DumpOptions) error {
	bw := bufio.NewWriter(w)
	want := func(name string) bool { return len(opts.Bodies) == 0 || slices.Contains(opts.Bodies, name) }
	if want("") {
		fmt.Fprintf(bw, "graph: %d nodes\n", len(gd.GetNode()))
		dumpNodes(bw, gd.GetNode(), opts)
	}
	fns := slices.Clone(gd.GetLibrary().GetFunction())
	slices.SortStableFunc(fns, func(a, b *fnpb.FunctionDef) int {
		return strings.Compare(a.GetSignature().GetName(), b.GetSignature().GetName())
	})
	for _, fd := range fns {
		sig := fd.GetSignature()
		if !want(sig.GetName()) {
			continue
		}
		fmt.Fprintf(bw, "\nfunction %s(%s) -> (%s)", sig.GetName(), args(sig.GetInputArg()), args(sig.GetOutputArg()))
		if len(sig.GetControlOutput()) > 0 {
			fmt.Fprintf(bw, " control(%s)", strings.Join(sig.GetControlOutput(), ", "))
		}
		if sig.GetIsStateful() {
			bw.WriteString(" stateful")
		}
		fmt.Fprintf(bw, ": %d nodes\n", len(fd.GetNodeDef()))
		if !opts.NoAttrs {
			for _, k := range sortedKeys(fd.GetAttr()) {
				fmt.Fprintf(bw, "  attr %s = %s\n", k, attrString(fd.Attr[k]))
			}
			for _, i := range slices.Sorted(maps.Keys(fd.GetArgAttr())) {
				for _, k := range sortedKeys(fd.ArgAttr[i].GetAttr()) {
					fmt.Fprintf(bw, "  arg_attr %d %s = %s\n", i, k, attrString(fd.ArgAttr[i].Attr[k]))
				}
			}
		}
		for _, i := range slices.Sorted(maps.Keys(fd.GetResourceArgUniqueId())) {
			fmt.Fprintf(bw, "  resource_arg_unique_id %d = %d\n", i, fd.ResourceArgUniqueId[i])
		}
		dumpNodes(bw, fd.GetNodeDef(), opts)
		for _, k := range sortedKeys(fd.GetRet()) {
			fmt.Fprintf(bw, "  ret %s = %s\n", k, fd.Ret[k])
		}
		for _, k := range sortedKeys(fd.GetControlRet()) {
			fmt.Fprintf(bw, "  control_ret %s = %s\n", k, fd.ControlRet[k])
		}
	}
	if grads := gd.GetLibrary().GetGradient(); len(grads) > 0 && len(opts.Bodies) == 0 {
		var lines []string
		for _, gr := range grads {
			lines = append(lines, fmt.Sprintf("  %s -> %s\n", gr.GetFunctionName(), gr.GetGradientFunc()))
		}
		slices.Sort(lines)
		bw.WriteString("\ngradients\n")
		for _, l := range lines {
			bw.WriteString(l)
		}
	}
	return bw.Flush()
}

func args(a []*opdefpb.OpDef_ArgDef) string {
	var s []string
	for _, x := range a {
		t := x.GetType().String()
		switch {
		case x.GetTypeAttr() != "":
			t = x.GetTypeAttr()
		case x.GetTypeListAttr() != "":
			t = "list " + x.GetTypeListAttr()
		}
		if x.GetNumberAttr() != "" {
			t = x.GetNumberAttr() + "*" + t
		}
		if x.GetIsRef() {
			t = "ref " + t
		}
		s = append(s, x.GetName()+": "+t)
	}
	return strings.Join(s, ", ")
}

func dumpNodes(w *bufio.Writer, nodes []*nodepb.NodeDef, opts DumpOptions) {
	sorted := slices.Clone(nodes)
	slices.SortStableFunc(sorted, func(a, b *nodepb.NodeDef) int { return strings.Compare(a.GetName(), b.GetName()) })
	for _, n := range sorted {
		fmt.Fprintf(w, "  %s = %s(%s)", n.GetName(), n.GetOp(), strings.Join(n.GetInput(), ", "))
		if n.GetDevice() != "" {
			fmt.Fprintf(w, " @%q", n.GetDevice())
		}
		w.WriteByte('\n')
		if opts.NoAttrs {
			continue
		}
		for _, k := range sortedKeys(n.GetAttr()) {
			fmt.Fprintf(w, "      %s = %s\n", k, attrString(n.Attr[k]))
		}
	}
}

func attrString(v *attrpb.AttrValue) string {
	switch x := v.GetValue().(type) {
	case *attrpb.AttrValue_S:
		return strconv.Quote(string(x.S))
	case *attrpb.AttrValue_I:
		return strconv.FormatInt(x.I, 10)
	case *attrpb.AttrValue_F:
		return strconv.FormatFloat(float64(x.F), 'g', -1, 32)
	case *attrpb.AttrValue_B:
		return strconv.FormatBool(x.B)
	case *attrpb.AttrValue_Type:
		return x.Type.String()
	case *attrpb.AttrValue_Shape:
		return shapeString(x.Shape)
	case *attrpb.AttrValue_Tensor:
		return tensorString(x.Tensor)
	case *attrpb.AttrValue_Func:
		return "func " + nameAttrString(x.Func)
	case *attrpb.AttrValue_Placeholder:
		return "placeholder " + x.Placeholder
	case *attrpb.AttrValue_List:
		return listString(x.List)
	}
	return "<unset>"
}

func listString(l *attrpb.AttrValue_ListValue) string {
	var s []string
	for _, v := range l.GetS() {
		s = append(s, strconv.Quote(string(v)))
	}
	for _, v := range l.GetI() {
		s = append(s, strconv.FormatInt(v, 10))
	}
	for _, v := range l.GetF() {
		s = append(s, strconv.FormatFloat(float64(v), 'g', -1, 32))
	}
	for _, v := range l.GetB() {
		s = append(s, strconv.FormatBool(v))
	}
	for _, v := range l.GetType() {
		s = append(s, v.String())
	}
	for _, v := range l.GetShape() {
		s = append(s, shapeString(v))
	}
	for _, v := range l.GetTensor() {
		s = append(s, tensorString(v))
	}
	for _, v := range l.GetFunc() {
		s = append(s, "func "+nameAttrString(v))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func nameAttrString(f *attrpb.NameAttrList) string {
	if len(f.GetAttr()) == 0 {
		return f.GetName()
	}
	var s []string
	for _, k := range sortedKeys(f.GetAttr()) {
		s = append(s, k+"="+attrString(f.Attr[k]))
	}
	return f.GetName() + "{" + strings.Join(s, ", ") + "}"
}

func shapeString(s *shapepb.TensorShapeProto) string {
	if s.GetUnknownRank() {
		return "<unknown rank>"
	}
	var d []string
	for _, x := range s.GetDim() {
		d = append(d, strconv.FormatInt(x.GetSize(), 10))
	}
	return "[" + strings.Join(d, ",") + "]"
}

func tensorString(t *tensorpb.TensorProto) string {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(t)
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("tensor %s %s %dB %016x", t.GetDtype(), shapeString(t.GetTensorShape()), len(b), h.Sum64())
}
