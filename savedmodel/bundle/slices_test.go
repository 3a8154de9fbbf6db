package bundle

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// layoutFS loads a layout of the TensorFlow-made matrix with its files
// named as a SavedModel's ("variables.*"), for editIndex.
func layoutFS(t *testing.T, name string) fstest.MapFS {
	t.Helper()
	m := fstest.MapFS{}
	for k, v := range loadFS(t, filepath.Join(layoutsDir, name)) {
		if rest, ok := strings.CutPrefix(k, "ckpt."); ok {
			m["variables."+rest] = v
		}
	}
	return m
}

// TestSlicedBadInput damages the slices of a TensorFlow-made sliced tensor
// (tf2_max_shard_2: emb [24,6] in slices [0,8:0,6], [8,3:0,6] in shard 0
// and [11,13:0,6] in shard 1): each damage is a *CorruptError naming the
// file and the key, printed without raw bytes.
func TestSlicedBadInput(t *testing.T) {
	const emb = "emb/.ATTRIBUTES/VARIABLE_VALUE"
	ext := func(s, l int64) *tslp.TensorSliceProto_Extent {
		return &tslp.TensorSliceProto_Extent{Start: s, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: l}}
	}
	sl := func(s, l int64) *tslp.TensorSliceProto {
		return &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{ext(s, l), ext(0, 6)}}
	}
	s0, s1, s2 := sl(0, 8), sl(8, 3), sl(11, 13)
	full := func(f func(e *tfpb.BundleEntryProto)) func(string, proto.Message) {
		return func(k string, msg proto.Message) {
			if k == emb {
				f(msg.(*tfpb.BundleEntryProto))
			}
		}
	}
	slice := func(s *tslp.TensorSliceProto, f func(e *tfpb.BundleEntryProto)) func(string, proto.Message) {
		return func(k string, msg proto.Message) {
			if k == SliceKey(emb, s) {
				f(msg.(*tfpb.BundleEntryProto))
			}
		}
	}
	for _, tc := range []struct {
		name, file, key, want string
		edit                  func(string, proto.Message)
	}{
		{"overlap", "variables.index", emb, "slices [0,8:0,6] and [0,8:0,6] overlap",
			full(func(e *tfpb.BundleEntryProto) { e.Slices = append(e.Slices, s0) })},
		{"gap", "variables.index", emb, "2 slices cover 126 of the tensor's 144 elements (a gap)",
			full(func(e *tfpb.BundleEntryProto) { e.Slices = []*tslp.TensorSliceProto{s0, s2} })},
		{"beyond the shape", "variables.index", emb, "extent 11,14 outside dimension 0 of size 24",
			full(func(e *tfpb.BundleEntryProto) { e.Slices[2] = sl(11, 14) })},
		{"negative start", "variables.index", emb, "extent -1,9 outside dimension 0 of size 24",
			full(func(e *tfpb.BundleEntryProto) { e.Slices[0] = sl(-1, 9) })},
		{"rank", "variables.index", emb, "slice 1: rank 1, tensor rank 2",
			full(func(e *tfpb.BundleEntryProto) {
				e.Slices[1] = &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{ext(8, 3)}}
			})},
		{"past the end of a shard", "variables.index", SliceKey(emb, s2), "lies beyond the end of shard 1",
			slice(s2, func(e *tfpb.BundleEntryProto) { e.Offset = 1 << 20 })},
		{"missing slice entry", "variables.index", emb, "slice [8,2:0,6] has no entry emb/.ATTRIBUTES/VARIABLE_VALUE [8,2:0,6]",
			full(func(e *tfpb.BundleEntryProto) { e.Slices[1] = sl(8, 2) })},
		{"slice of another dtype", "variables.index", emb, "slice [8,3:0,6] is stored as DT_INT32, the tensor is DT_FLOAT",
			slice(s1, func(e *tfpb.BundleEntryProto) { e.Dtype = types_go_proto.DataType_DT_INT32 })},
		{"slice of another shape", "variables.index", emb, "slice [8,3:0,6] is stored with shape [6 3], not the slice's shape",
			slice(s1, func(e *tfpb.BundleEntryProto) { e.Shape.Dim[0].Size, e.Shape.Dim[1].Size = 6, 3 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := layoutFS(t, "tf2_max_shard_2")
			editIndex(t, m, tc.edit)
			_, err := Open(m, "variables")
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want a *CorruptError", err)
			}
			if ce.File != tc.file || ce.Key != tc.key || !strings.Contains(ce.Reason, tc.want) {
				t.Errorf("Open = %v\nwant file %s, key %s, reason with %q", err, tc.file, DisplayKey(tc.key), tc.want)
			}
			if strings.ContainsAny(err.Error(), "\x00\xff") {
				t.Errorf("error has raw key bytes: %q", err.Error())
			}
		})
	}
}

// TestSlicedDataFieldsIgnored: TensorFlow's merge sets shard_id on a sliced
// full-tensor entry and its reader reads none of the data fields; neither
// does Open, and a Writer keeps a valid shard_id.
func TestSlicedDataFieldsIgnored(t *testing.T) {
	const emb = "emb/.ATTRIBUTES/VARIABLE_VALUE"
	m := layoutFS(t, "tf2_max_shard_2")
	editIndex(t, m, func(k string, msg proto.Message) {
		if k == emb {
			e := msg.(*tfpb.BundleEntryProto)
			e.ShardId, e.Offset, e.Size, e.Crc32C = 1, 12345, 678, 9
		}
	})
	r, err := Open(m, "variables")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := r.Entry(emb); e.GetShardId() != 1 || len(e.GetSlices()) != 3 {
		t.Errorf("entry = %v", e)
	}
}

// TestWholeSliceReadAsEntry: a sliced entry whose only slice is full is
// read from its own data fields, as TensorFlow's GetSliceValue does.
func TestWholeSliceReadAsEntry(t *testing.T) {
	const a = "a/.ATTRIBUTES/VARIABLE_VALUE"
	m := layoutFS(t, "tf2_max_shard_2")
	editIndex(t, m, func(k string, msg proto.Message) {
		if k == a {
			e := msg.(*tfpb.BundleEntryProto)
			e.Slices = []*tslp.TensorSliceProto{{Extent: []*tslp.TensorSliceProto_Extent{{}}}}
		}
	})
	r, err := Open(m, "variables")
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := r.Entry(a); len(e.GetSlices()) != 0 || e.GetSize() != 120 {
		t.Errorf("entry = %v", e)
	}
}

// TestTensorFlowReadsSlice follows GetSliceValue: an exact stored slice or
// a whole unsliced entry reads for every dtype; anything that copies slices
// reads only for HANDLE_COPY's dtypes.
func TestTensorFlowReadsSlice(t *testing.T) {
	ext := func(s, l int64) *tslp.TensorSliceProto_Extent {
		return &tslp.TensorSliceProto_Extent{Start: s, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: l}}
	}
	sliced := func(dt types_go_proto.DataType) *tfpb.BundleEntryProto {
		e := entryOfShape([]int64{6, 4})
		e.Dtype = dt
		e.Slices = []*tslp.TensorSliceProto{{Extent: []*tslp.TensorSliceProto_Extent{ext(0, 3), {}}}, {Extent: []*tslp.TensorSliceProto_Extent{ext(3, 3), {}}}}
		return e
	}
	whole := func(dt types_go_proto.DataType) *tfpb.BundleEntryProto {
		e := entryOfShape([]int64{6, 4})
		e.Dtype = dt
		return e
	}
	u16, f32, str := types_go_proto.DataType_DT_UINT16, types_go_proto.DataType_DT_FLOAT, types_go_proto.DataType_DT_STRING
	for _, tc := range []struct {
		name string
		e    *tfpb.BundleEntryProto
		part string
		want bool
	}{
		{"sliced float whole", sliced(f32), "", true},
		{"sliced uint16 whole", sliced(u16), "", false},
		{"sliced uint16 stored slice", sliced(u16), "3,3:-", true},
		{"sliced string other part", sliced(str), "0,2:-", false},
		{"whole uint16 whole", whole(u16), "", true},
		{"whole uint16 explicit whole", whole(u16), "0,6:0,4", true},
		{"whole string part", whole(str), "0,3:-", false},
		{"whole float part", whole(f32), "0,3:-", true},
	} {
		if got := TensorFlowReadsSlice(tc.e, tc.part); got != tc.want {
			t.Errorf("%s: TensorFlowReadsSlice(%q) = %v, want %v", tc.name, tc.part, got, tc.want)
		}
	}
}
