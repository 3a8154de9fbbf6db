package rewrite

import (
	"bytes"
	"encoding/json"
	"testing"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// TestWhereShowsSliceKeys checks that a location in a slice of a tensor
// saved in slices prints the tensor and the slice, not the key's bytes.
func TestWhereShowsSliceKeys(t *testing.T) {
	slice := &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{
		{Start: 0, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: 3}}, {},
	}}
	for _, tt := range []struct {
		w    Where
		want string
	}{
		{Key("dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"), "checkpoint key dense/kernel/.ATTRIBUTES/VARIABLE_VALUE"},
		{Key(bundle.SliceKey("embedding/.ATTRIBUTES/VARIABLE_VALUE", slice)), "checkpoint key embedding/.ATTRIBUTES/VARIABLE_VALUE [0,3:-]"},
		{Node(0, "f", "n"), "meta_graph 0, function f, node n"},
	} {
		if got := tt.w.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.w, got, tt.want)
		}
	}
}

// TestWhereJSON checks Where's JSON: the same field names and values as
// the struct's tags give for a printable key and a node (HTML characters as
// the caller's encoder decides), and a slice key written readably, so that
// two slices of one tensor never print the same.
func TestWhereJSON(t *testing.T) {
	slice := func(start int64) *tslp.TensorSliceProto {
		return &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{
			{Start: start, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: 3}}}}
	}
	id := 5
	for _, tt := range []struct {
		w          Where
		escaped    string // json.Marshal
		notEscaped string // an Encoder with SetEscapeHTML(false), as the CLI's
	}{
		{Node(0, "__inference_<lambda>_30", "n"),
			`{"meta_graph":0,"function":"__inference_\u003clambda\u003e_30","node":"n"}`,
			`{"meta_graph":0,"function":"__inference_<lambda>_30","node":"n"}`},
		{Object(1, id), `{"meta_graph":1,"object_id":5}`, `{"meta_graph":1,"object_id":5}`},
		{Key("w/.ATTRIBUTES/VARIABLE_VALUE"), `{"meta_graph":-1,"checkpoint_key":"w/.ATTRIBUTES/VARIABLE_VALUE"}`,
			`{"meta_graph":-1,"checkpoint_key":"w/.ATTRIBUTES/VARIABLE_VALUE"}`},
		{Key(bundle.SliceKey("e", slice(0))), `{"meta_graph":-1,"checkpoint_key":"e [0,3]"}`, `{"meta_graph":-1,"checkpoint_key":"e [0,3]"}`},
		{Key(bundle.SliceKey("e", slice(3))), `{"meta_graph":-1,"checkpoint_key":"e [3,3]"}`, `{"meta_graph":-1,"checkpoint_key":"e [3,3]"}`},
	} {
		got, err := json.Marshal(tt.w)
		if err != nil || string(got) != tt.escaped {
			t.Errorf("json.Marshal(%+v) = %s, %v; want %s", tt.w, got, err, tt.escaped)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(Finding{Where: tt.w, What: "x"}); err != nil {
			t.Fatal(err)
		}
		if want := `{"where":` + tt.notEscaped + `,"what":"x"}` + "\n"; b.String() != want {
			t.Errorf("Encode(Finding) = %s, want %s", b.String(), want)
		}
	}
}
