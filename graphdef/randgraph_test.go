package graphdef

import (
	"math/rand/v2"
	"strconv"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// randGraph returns a small GraphDef drawn from seed, dense in what the
// index and Validate care about: duplicate and empty node and function
// names, names equal to arguments, inputs in every grammar form (good and
// bad, dangling, forward, control before data), func and list(func) attrs
// on any op (nested, missing, repeated), _class attrs (repeated, not
// "loc:@", not a list), ops with known outputs, calls, rets, control
// rets and gradients.
func randGraph(seed uint64) *graphpb.GraphDef {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	nfn := r.IntN(4)
	fname := func() string { return "f" + strconv.Itoa(r.IntN(nfn+2)) } // may be missing
	nodeName := func(k int) string { return "n" + strconv.Itoa(r.IntN(k+2)) }
	funcVal := func() *attrpb.NameAttrList {
		f := &attrpb.NameAttrList{Name: pick(fname(), fname(), "")}
		if r.IntN(4) == 0 {
			f.Attr = map[string]*attrpb.AttrValue{"inner": funcAttr(fname()), "t": typeAttr(1)}
		}
		return f
	}
	body := func(k int, args []string) []*nodepb.NodeDef {
		var out []*nodepb.NodeDef
		for i := 0; i < k; i++ {
			name := "n" + strconv.Itoa(i)
			switch r.IntN(12) {
			case 0:
				name = nodeName(k) // maybe a duplicate
			case 1:
				if len(args) > 0 {
					name = args[0]
				}
			case 2:
				name = pick("", "x/y", "n"+strconv.Itoa(i)+"/replica_1")
			}
			op := pick("MatMul", "Identity", "Const", "Placeholder", "ReadVariableOp", "VarHandleOp",
				"StatefulPartitionedCall", "PartitionedCall", "IdentityN", "NoOp", "CollectiveReduceV2",
				"AssignVariableOp", "CustomOp", fname())
			n := node(name, op)
			for j := r.IntN(4); j > 0; j-- {
				src := nodeName(k)
				if len(args) > 0 && r.IntN(3) == 0 {
					src = args[r.IntN(len(args))]
				}
				n.Input = append(n.Input, pick(src, src, "^"+src, src+":"+strconv.Itoa(r.IntN(3)),
					src+":output:"+strconv.Itoa(r.IntN(2)), src+":data:0", src+":output", "dangling",
					"", "^", ":0", src+":01", src+":a:b", "^"+src+":0"))
			}
			for j := r.IntN(5); j > 0; j-- {
				switch r.IntN(8) {
				case 0:
					withAttr(n, "f", &attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: funcVal()}})
				case 1:
					l := &attrpb.AttrValue_ListValue{}
					for m := r.IntN(3); m > 0; m-- {
						l.Func = append(l.Func, funcVal())
					}
					withAttr(n, pick("branches", "_any"), &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: l}})
				case 2, 3:
					targets := []string{nodeName(k), nodeName(k)}
					a := colocAttr(targets...)
					if r.IntN(3) == 0 {
						a.GetList().S = append(a.GetList().S, []byte("other"), []byte(ColocPrefix))
					}
					if r.IntN(5) == 0 {
						a = funcAttr(fname()) // a _class of the wrong type
					}
					withAttr(n, ClassAttr, a)
				case 4:
					withAttr(n, "value", &attrpb.AttrValue{})
				case 5:
					l := &attrpb.AttrValue_ListValue{}
					for m := r.IntN(3); m > 0; m-- {
						l.Type = append(l.Type, typespb.DataType_DT_FLOAT)
					}
					withAttr(n, pick("Tout", "T"), &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: l}})
				default:
					withAttr(n, pick("T", "dtype", "_xla"), typeAttr(1))
				}
			}
			out = append(out, n)
		}
		return out
	}
	gd := &graphpb.GraphDef{Node: body(r.IntN(12), nil)}
	if nfn == 0 {
		return gd
	}
	gd.Library = &fnpb.FunctionDefLibrary{}
	for i := 0; i < nfn; i++ {
		name := "f" + strconv.Itoa(i)
		if r.IntN(8) == 0 {
			name = pick("", "f0")
		}
		args := []string{"a0", "a1"}[:r.IntN(3)]
		fd := function(name, args, []string{"y", "z"}[:r.IntN(3)], nil, body(r.IntN(10), args)...)
		fd.Ret = map[string]string{}
		for _, k := range []string{"y", "z", "extra"} {
			if r.IntN(4) > 0 {
				fd.Ret[k] = pick("n0:output:0", "n1", "a0", "^n0", "a0:1", "n2:data:0", ":")
			}
		}
		if r.IntN(2) == 0 {
			fd.Signature.ControlOutput = []string{"c"}
			fd.ControlRet = map[string]string{pick("c", "d"): pick("n0", "nope")}
		}
		gd.Library.Function = append(gd.Library.Function, fd)
	}
	for i := r.IntN(3); i > 0; i-- {
		gd.Library.Gradient = append(gd.Library.Gradient, &fnpb.GradientDef{FunctionName: fname(), GradientFunc: fname()})
	}
	return gd
}
