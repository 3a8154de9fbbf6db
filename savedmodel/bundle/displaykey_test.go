package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
)

func TestDisplayKey(t *testing.T) {
	full := &tslp.TensorSliceProto_Extent{}
	ext := func(s, l int64) *tslp.TensorSliceProto_Extent {
		return &tslp.TensorSliceProto_Extent{Start: s, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: l}}
	}
	slice := func(es ...*tslp.TensorSliceProto_Extent) *tslp.TensorSliceProto {
		return &tslp.TensorSliceProto{Extent: es}
	}
	for _, tc := range []struct{ key, want string }{
		{"embedding/.ATTRIBUTES/VARIABLE_VALUE", "embedding/.ATTRIBUTES/VARIABLE_VALUE"},
		{SliceKey("embedding/.ATTRIBUTES/VARIABLE_VALUE", slice(ext(0, 3), full)), "embedding/.ATTRIBUTES/VARIABLE_VALUE [0,3:-]"},
		{SliceKey("v1/fc1/kernel", slice(ext(6, 5), ext(1, 3))), "v1/fc1/kernel [6,5:1,3]"},
		{SliceKey("x", slice(ext(0, -1))), "x [-]"},         // length -1 is a full extent
		{SliceKey("x", slice(ext(2, -1))), "x [2,-1]"},      // not full: kept as stored
		{SliceKey("x", slice()), "x []"},                    // rank 0
		{SliceKey("", slice(full)), `"" [-]`},               // empty name
		{SliceKey("a]", slice(full)), `"a]" [-]`},           // a name ending in ']' is quoted
		{SliceKey("a [0,1]", slice(full)), `"a [0,1]" [-]`}, // so is one that looks sliced
		{"", `""`},
		{"x [0,3:-]", `"x [0,3:-]"`},
		{`"quoted"`, `"\"quoted\""`},
		{"tab\there", `"tab\there"`},
		{"\xff\x00bytes", `"\xff\x00bytes"`},
		{SliceKey("x", slice(full)) + "!", `"\x00x\x00\x01\x01\x01\x80\x7f!"`}, // trailing bytes: not a slice key
	} {
		if got := DisplayKey(tc.key); got != tc.want {
			t.Errorf("DisplayKey(%q) = %s, want %s", tc.key, got, tc.want)
		}
	}
}

// TestDisplayKeyLayouts renders every key of the TensorFlow-made layout
// matrix: printable, no two alike.
func TestDisplayKeyLayouts(t *testing.T) {
	seen := map[string]string{}
	for _, dir := range layouts(t) {
		r, err := Open(os.DirFS(dir), "ckpt")
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range r.Keys() {
			d := DisplayKey(k)
			if strings.ContainsAny(d, "\x00\xff") || strings.HasPrefix(d, `"`) {
				t.Errorf("%s: key %q renders as %s", filepath.Base(dir), k, d)
			}
			if o, dup := seen[d]; dup && o != k {
				t.Errorf("keys %q and %q both render as %s", o, k, d)
			}
			seen[d] = k
		}
		r.Close()
	}
}

// FuzzDisplayKeyInjective checks that two different keys never render alike.
func FuzzDisplayKeyInjective(f *testing.F) {
	f.Add("a", SliceKey("a", &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{{}}}))
	f.Add("x [-]", SliceKey("x", &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{{}}}))
	f.Add(SliceKey("x", &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{{Start: 0, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: -1}}}}),
		SliceKey("x", &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{{}}}))
	f.Add("\x00\x01a\x00\x01\x01\x01\x80\x7f", "\x00\x01a\x00\x01\x02\x00\x01\x80\x7f") // non-canonical rank
	f.Fuzz(func(t *testing.T, a, b string) {
		if a != b && DisplayKey(a) == DisplayKey(b) {
			t.Errorf("keys %q and %q both render as %s", a, b, DisplayKey(a))
		}
	})
}
