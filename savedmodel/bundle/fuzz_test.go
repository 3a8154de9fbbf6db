package bundle

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

func fzExt(s, l int64) *tslp.TensorSliceProto_Extent {
	return &tslp.TensorSliceProto_Extent{Start: s, HasLength: &tslp.TensorSliceProto_Extent_Length{Length: l}}
}

// FuzzOpen opens a bundle made of fuzzed index bytes and one fuzzed data
// shard, seeded with TensorFlow's single-shard checkpoints, and reads every
// entry. It must never panic, and every failure must be an error.
func FuzzOpen(f *testing.F) {
	for _, b := range tfBundles(f) {
		index, err := os.ReadFile(filepath.Join(b.dir, b.prefix+".index"))
		if err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(b.dir, DataName(b.prefix, 0, 1)))
		if err != nil || len(data) > 256<<10 {
			continue // multi-shard or large: not a seed
		}
		f.Add(index, data)
	}
	// A tensor in slices along both axes (as MaxShardSizePolicy cuts), in one shard.
	dir := f.TempDir()
	writeSliced(f, dir, []int64{4, 6}, []*tslp.TensorSliceProto{
		{Extent: []*tslp.TensorSliceProto_Extent{fzExt(0, 2), {}}},
		{Extent: []*tslp.TensorSliceProto_Extent{fzExt(2, 2), fzExt(0, 1)}},
		{Extent: []*tslp.TensorSliceProto_Extent{fzExt(2, 2), fzExt(1, 5)}},
	}, 1)
	index, _ := os.ReadFile(filepath.Join(dir, "variables.index"))
	data, _ := os.ReadFile(filepath.Join(dir, DataName("variables", 0, 1)))
	f.Add(index, data)
	f.Fuzz(func(t *testing.T, index, data []byte) {
		fsys := fstest.MapFS{
			"v/variables.index":               {Data: index},
			"v/variables.data-00000-of-00001": {Data: data},
		}
		r, err := Open(fsys, "v/variables")
		if err != nil {
			return
		}
		defer r.Close()
		for _, k := range r.KeysInDataOrder() {
			e, _ := r.Entry(k)
			if len(e.GetSlices()) > 0 {
				// Open checked the tiling: a fixed-size tensor reads whole.
				rc, err := r.OpenTensor(k)
				if _, fixed := DTypeSize(e.GetDtype()); fixed && err != nil {
					t.Fatalf("OpenTensor(%q) after a clean Open: %v", k, err)
				}
				if err == nil {
					n, err := io.Copy(io.Discard, rc)
					rc.Close()
					want, _ := TensorBytes(e.GetDtype(), e.GetShape())
					if err == nil && n != want {
						t.Fatalf("key %q: read %d bytes of the whole tensor, want %d", k, n, want)
					}
					if err != nil && !errors.Is(err, ErrCorrupt) {
						t.Fatalf("key %q: untyped error %v", k, err)
					}
				}
				continue
			}
			rc, err := r.OpenEntry(k)
			if err != nil {
				t.Fatalf("OpenEntry(%q) after a clean Open: %v", k, err)
			}
			n, err := io.Copy(io.Discard, rc)
			if err == nil && n != e.GetSize() {
				t.Fatalf("key %q: read %d bytes without error, size %d", k, n, e.GetSize())
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("key %q: untyped error %v", k, err)
			}
			switch dt := e.GetDtype(); {
			case dt == types_go_proto.DataType_DT_STRING:
				r.ReadStrings(k)
			case float64Converter(dt) != nil:
				r.ReadFloat64s(k)
			}
		}
	})
}
