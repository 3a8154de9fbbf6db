package graphdef

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/internal/tftree"
)

// realModel is one MetaGraphDef of a SavedModel from TF's own test data.
type realModel struct {
	name string // path relative to the TF tree, plus "#i" for meta graph i
	mg   *tfpb.MetaGraphDef
}

func loadSavedModel(t testing.TB, dir string) *tfpb.SavedModel {
	t.Helper()
	sm := &tfpb.SavedModel{}
	if b, err := os.ReadFile(filepath.Join(dir, "saved_model.pb")); err == nil {
		if err := proto.Unmarshal(b, sm); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		return sm
	}
	b, err := os.ReadFile(filepath.Join(dir, "saved_model.pbtxt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := prototext.Unmarshal(b, sm); err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	return sm
}

var (
	modelsOnce sync.Once
	models     []realModel
)

// realModels loads every MetaGraph once per test binary. Tests must not
// modify them (clone first).
func realModels(t testing.TB) []realModel {
	t.Helper()
	modelsOnce.Do(func() { models = loadRealModels(t) })
	if len(models) == 0 {
		t.Fatal("no real models loaded")
	}
	return models
}

func loadRealModels(t testing.TB) []realModel {
	t.Helper()
	root := tftree.Dir(t)
	var out []realModel
	for _, dir := range tftree.SavedModels(t) {
		sm := loadSavedModel(t, dir)
		rel, _ := filepath.Rel(root, dir)
		for i, mg := range sm.GetMetaGraphs() {
			name := rel
			if len(sm.GetMetaGraphs()) > 1 {
				name += "#" + string(rune('0'+i))
			}
			out = append(out, realModel{name, mg})
		}
	}
	return out
}

// Helpers to build small graphs by hand.

func node(name, op string, inputs ...string) *nodepb.NodeDef {
	return &nodepb.NodeDef{Name: name, Op: op, Input: inputs}
}

func withAttr(n *nodepb.NodeDef, k string, v *attrpb.AttrValue) *nodepb.NodeDef {
	if n.Attr == nil {
		n.Attr = map[string]*attrpb.AttrValue{}
	}
	n.Attr[k] = v
	return n
}

func funcAttr(name string) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Func{Func: &attrpb.NameAttrList{Name: name}}}
}

func colocAttr(names ...string) *attrpb.AttrValue {
	l := &attrpb.AttrValue_ListValue{}
	for _, n := range names {
		l.S = append(l.S, []byte(ColocPrefix+n))
	}
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: l}}
}

func typeAttr(t int32) *attrpb.AttrValue {
	return &attrpb.AttrValue{Value: &attrpb.AttrValue_Type{Type: typespb.DataType(t)}}
}

// konst is a Const node with an (empty) value, as the loader requires.
func konst(name string) *nodepb.NodeDef {
	return withAttr(node(name, "Const"), "value", &attrpb.AttrValue{Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{Dtype: 1}}})
}

func withDevice(n *nodepb.NodeDef, d string) *nodepb.NodeDef {
	n.Device = d
	return n
}

// function builds a FunctionDef: ins and outs are argument names, ret maps
// output names to tensors, nodes are the body.
func function(name string, ins, outs []string, ret map[string]string, nodes ...*nodepb.NodeDef) *fnpb.FunctionDef {
	sig := &opdefpb.OpDef{Name: name}
	for _, a := range ins {
		sig.InputArg = append(sig.InputArg, &opdefpb.OpDef_ArgDef{Name: a, Type: 1})
	}
	for _, a := range outs {
		sig.OutputArg = append(sig.OutputArg, &opdefpb.OpDef_ArgDef{Name: a, Type: 1})
	}
	return &fnpb.FunctionDef{Signature: sig, NodeDef: nodes, Ret: ret}
}

func graphOf(nodes []*nodepb.NodeDef, fns ...*fnpb.FunctionDef) *graphpb.GraphDef {
	gd := &graphpb.GraphDef{Node: nodes}
	if len(fns) > 0 {
		gd.Library = &fnpb.FunctionDefLibrary{Function: fns}
	}
	return gd
}

func names(ns []*nodepb.NodeDef) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.GetName())
	}
	return strings.Join(s, ",")
}
