package bundle

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// layoutsDir holds the checkpoint layout matrix written by real TensorFlow
// (testdata/tf/layouts.py), each with TensorFlow's reading of every key.
const layoutsDir = "../../testdata/layouts"

// tfReading is a layout's tf_reading.json (see testdata/tf/layouts.py).
type tfReading struct {
	Layout   string `json:"layout"`
	Scenario string `json:"scenario"`
	Keys     map[string]struct {
		Dtype   string   `json:"dtype"`
		Shape   []int64  `json:"shape"`
		Bytes   string   `json:"bytes"`
		Strings []string `json:"strings"`
		Error   string   `json:"error"`
	} `json:"keys"`
}

func layouts(t testing.TB) []string {
	dirs, err := filepath.Glob(filepath.Join(layoutsDir, "*", "tf_reading.json"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no layouts under %s (%v)", layoutsDir, err)
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	return dirs
}

// TestLayoutsReadAsTensorFlow opens every checkpoint of the layout matrix
// and reads every key TensorFlow's load_checkpoint lists, whole (a sliced
// tensor assembled from its slices, wherever they lie), comparing with
// TensorFlow's reading element by element.
func TestLayoutsReadAsTensorFlow(t *testing.T) {
	// fullOutside0 counts sliced full-tensor entries whose shard_id
	// TensorFlow's merge set (the entries issue 14's reader refused).
	slicedOutside0, fullOutside0 := 0, 0
	for _, dir := range layouts(t) {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, "tf_reading.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want tfReading
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			r, err := Open(os.DirFS(dir), "ckpt")
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer r.Close()
			for _, k := range r.Keys() {
				e, _ := r.Entry(k)
				if len(e.GetSlices()) == 0 {
					continue
				}
				if e.GetShardId() > 0 {
					fullOutside0++
				}
				for _, s := range e.GetSlices() {
					if se, _ := r.Entry(SliceKey(k, s)); se.GetShardId() > 0 {
						slicedOutside0++
					}
				}
				if _, listed := want.Keys[k]; !listed {
					t.Errorf("sliced key %s is not a key TensorFlow lists", DisplayKey(k))
				}
			}
			for key, w := range want.Keys {
				if w.Error != "" {
					t.Logf("TensorFlow cannot read %s whole: %s", key, w.Error)
					continue
				}
				e, ok := r.Entry(key)
				if !ok {
					t.Errorf("key %q: not in our reading", key)
					continue
				}
				if got := shapeString(e); got != shapeString(entryOfShape(w.Shape)) {
					t.Errorf("key %q: shape %s, TensorFlow %v", key, got, w.Shape)
				}
				if e.GetDtype() == types_go_proto.DataType_DT_STRING {
					compareStrings(t, r, key, w.Strings)
					continue
				}
				rc, err := r.OpenTensor(key)
				if err != nil {
					t.Errorf("key %q: %v", key, err)
					continue
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Errorf("key %q: %v", key, err)
					continue
				}
				wantBytes, _ := base64.StdEncoding.DecodeString(w.Bytes)
				es, _ := DTypeSize(e.GetDtype())
				if i := firstDiff(got, wantBytes, es); i >= 0 {
					t.Errorf("key %q (%v %v, %d slices): element %d differs from TensorFlow's reading (%d vs %d bytes)", key, e.GetDtype(), w.Shape, len(e.GetSlices()), i, len(got), len(wantBytes))
				}
			}
		})
	}
	if slicedOutside0 == 0 || fullOutside0 == 0 {
		t.Errorf("%d slices and %d sliced full-tensor entries outside shard 0; the matrix lost its point", slicedOutside0, fullOutside0)
	}
}

func compareStrings(t *testing.T, r *Reader, key string, want []string) {
	t.Helper()
	got, err := r.ReadStrings(key)
	if err != nil {
		t.Errorf("key %q: %v", key, err)
		return
	}
	if len(got) != len(want) {
		t.Errorf("key %q: %d strings, TensorFlow %d", key, len(got), len(want))
		return
	}
	for i := range got {
		w, _ := base64.StdEncoding.DecodeString(want[i])
		if !bytes.Equal(got[i], w) {
			t.Errorf("key %q: string %d differs from TensorFlow's reading (%d vs %d bytes)", key, i, len(got[i]), len(w))
		}
	}
}

// firstDiff returns the first element (of es bytes) where a and b differ,
// or -1 when they are equal.
func firstDiff(a, b []byte, es int) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i / es
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b)) / es
	}
	return -1
}

func entryOfShape(dims []int64) *tfpb.BundleEntryProto {
	sh := &tsp.TensorShapeProto{}
	for _, d := range dims {
		sh.Dim = append(sh.Dim, &tsp.TensorShapeProto_Dim{Size: d})
	}
	return &tfpb.BundleEntryProto{Shape: sh}
}
