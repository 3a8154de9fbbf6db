package graphdef

import (
	"errors"
	"slices"
	"strings"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	fnpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/proto"
)

// brokenOnPurpose are TF test models made invalid on purpose, with the
// problem Validate must find.
var brokenOnPurpose = map[string]string{
	"tensorflow/cc/saved_model/testdata/fuzz_generated/const_with_no_value": "Const without a value attr",
	"tensorflow/cc/saved_model/testdata/fuzz_generated/bad_node_attr":       "Const without a value attr",
}

func TestValidateRealModels(t *testing.T) {
	for _, m := range realModels(t) {
		t.Run(m.name, func(t *testing.T) {
			orig := proto.Clone(m.mg.GetGraphDef())
			err := Validate(m.mg.GetGraphDef())
			if want, ok := brokenOnPurpose[m.name]; ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("Validate = %v, want a problem %q", err, want)
				}
				return
			}
			if err != nil {
				t.Error(err)
			}
			if !proto.Equal(orig, m.mg.GetGraphDef()) {
				t.Errorf("Validate changed the GraphDef")
			}
		})
	}
}

func TestValidateFindsEveryProblem(t *testing.T) {
	f := function("f", []string{"a"}, []string{"y", "z"}, map[string]string{"y": "n:out:0", "w": "a", "z": "^n"},
		node("n", "Identity", "a:out:0"),
		node("n", "Identity", "a"),
		node("m", "Identity", "n:0", "^a", "a"),
		node("k", "f"),
		withAttr(node("c", "PartitionedCall"), "f", funcAttr("missing")),
		node("a", "NoOp"),
		node("u", "g", "gn:bad:0", "gn:out"),
		node("gn", "g"),
	)
	f.ControlRet = map[string]string{"side": "nope", "extra": "n"}
	f.Signature.ControlOutput = []string{"side", "other"}
	gd := graphOf([]*nodepb.NodeDef{
		node("x", "Placeholder"),
		node("y", "Identity", "x:out"),
		node("z", "Identity", "ghost", "^x", "x::"),
		node("Const", "Const"),
		node("none", "NoOp"),
		withAttr(node("call", "StatefulPartitionedCall"), "Tout", &attrpb.AttrValue{Value: &attrpb.AttrValue_List{List: &attrpb.AttrValue_ListValue{Type: []typespb.DataType{1, 1}}}}),
		node("w", "IdentityN", "x:1", "none", "call:1", "call:2", "^none"),
	}, f, &fnpb.FunctionDef{}, function("g", nil, []string{"out"}, map[string]string{"out": "r:output:0"}, konst("r")), function("g", nil, nil, nil))
	gd.Library.Gradient = []*fnpb.GradientDef{{FunctionName: "f", GradientFunc: "fgrad"}}
	want := []string{
		`function g defined more than once`,
		`1 function(s) without a signature name`,
		`gradient entry f -> fgrad names missing function "fgrad"`,
		`node Const: Const without a value attr`,
		`node y: input 0: graphdef: bad input "x:out": invalid output index`,
		`node z: input 0 "ghost": no such node`,
		`node z: input 2: graphdef: bad input "x::": too many ':' in a graph input`,
		`function f: control output "other" has no control_ret entry`,
		`function f: control_ret "extra" is not a signature control output`,
		`function f: control_ret "side" = "nope": no such node`,
		`function f: ret "z" = "^n" is a control reference`,
		`function f: ret "y" = "n:out:0": Identity has no output "out" (its output is "output")`,
		`node w: input 0 "x:1": Placeholder has 1 output(s); index 1 is out of range`,
		`node w: input 1 "none": NoOp has no outputs`,
		`node w: input 3 "call:2": StatefulPartitionedCall has 2 output(s); index 2 is out of range`,
		`function f: node a: node name equals an argument name`,
		`function f: node c: calls function "missing", which is not in the library`,
		`function f: node k: function is self recursive (TensorFlow does not support this)`,
		`function f: node m: input 0 "n:0": "node:N" is graph syntax; a function body reads "node:out:N"`,
		`function f: node m: input 2 "a": data input after a control input`,
		`function f: node n: duplicate node name`,
		`function f: node n: input 0 "a:out:0": an argument has no named outputs`,
		`function f: node u: input 0 "gn:bad:0": function g has no output "bad"`,
	}
	err := Validate(gd)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
