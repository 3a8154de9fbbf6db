package rewrite

import (
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
