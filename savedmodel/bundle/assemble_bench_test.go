package bundle

import (
	"io"
	"os"
	"testing"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// BenchmarkOpenTensor reads a float32 tensor of benchBytes whole through
// Reader.OpenTensor, stored as one entry ("whole", OpenEntry's speed), in 8
// slices along axis 0 ("axis0") and in a MaxShardSizePolicy-like tiling
// along both axes ("tiled": 8 row bands, the last cut into 2 column
// halves, 4 KiB rows), each slice in its own data shard.
func BenchmarkOpenTensor(b *testing.B) {
	const cols = 1024
	rows := benchBytes(b) / 4 / cols
	ext := func(s, l int64) *tslp.TensorSliceProto_Extent {
		return &tslp.TensorSliceProto_Extent{Start: s, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: l}}
	}
	band := rows / 8
	var axis0, tiled []*tslp.TensorSliceProto
	for i := int64(0); i < 8; i++ {
		s := &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{ext(i*band, band), {}}}
		axis0 = append(axis0, s)
		if i < 7 {
			tiled = append(tiled, s)
		}
	}
	tiled = append(tiled,
		&tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{ext(7*band, band), ext(0, cols/2)}},
		&tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{ext(7*band, band), ext(cols/2, cols/2)}})
	for _, tc := range []struct {
		name   string
		slices []*tslp.TensorSliceProto
	}{{"whole", nil}, {"axis0", axis0}, {"tiled", tiled}} {
		b.Run(tc.name, func(b *testing.B) {
			dir := b.TempDir()
			writeSliced(b, dir, []int64{8 * band, cols}, tc.slices, len(tc.slices))
			r, err := Open(os.DirFS(dir), "variables")
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.SetBytes(8 * band * cols * 4)
			b.ResetTimer()
			for range b.N {
				rc, err := r.OpenTensor("t")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

// writeSliced writes tensor "t" of shape dims (float32 noise) whole, or as
// the given slices, slice i in shard i mod shards.
func writeSliced(b testing.TB, dir string, dims []int64, slices []*tslp.TensorSliceProto, shards int) {
	shape := func(d ...int64) *tsp.TensorShapeProto {
		s := &tsp.TensorShapeProto{}
		for _, x := range d {
			s.Dim = append(s.Dim, &tsp.TensorShapeProto_Dim{Size: x})
		}
		return s
	}
	w, err := NewWriter(dir, "variables", WriterOptions{NumShards: max(1, shards), NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	src := &noise{x: 1}
	f32 := types_go_proto.DataType_DT_FLOAT
	if slices == nil {
		if err := w.Add("t", &tfpb.BundleEntryProto{Dtype: f32, Shape: shape(dims...)}, io.LimitReader(src, dims[0]*dims[1]*4)); err != nil {
			b.Fatal(err)
		}
	} else {
		if err := w.Add("t", &tfpb.BundleEntryProto{Dtype: f32, Shape: shape(dims...), Slices: slices}, nil); err != nil {
			b.Fatal(err)
		}
		for i, s := range slices {
			d := []int64{s.Extent[0].GetLength(), dims[1]}
			if s.Extent[1].GetHasLength() != nil {
				d[1] = s.Extent[1].GetLength()
			}
			e := &tfpb.BundleEntryProto{Dtype: f32, Shape: shape(d...), ShardId: int32(i % max(1, shards))}
			if err := w.Add(SliceKey("t", s), e, io.LimitReader(src, d[0]*d[1]*4)); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
}
