package bundle

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// TestCopyTensorFlowBundles rewrites every TensorFlow checkpoint with Copy
// in data order and compares the files byte for byte.
func TestCopyTensorFlowBundles(t *testing.T) {
	identical, compressed, shards := 0, 0, 0
	for _, b := range tfBundles(t) {
		r, err := Open(os.DirFS(b.dir), b.prefix)
		if err != nil {
			t.Fatal(err)
		}
		out := t.TempDir()
		w, err := NewWriter(out, b.prefix, WriterOptions{NumShards: r.NumShards()})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range r.KeysInDataOrder() {
			if err := w.Copy(r, k); err != nil {
				t.Fatalf("%s: %v", b.name, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < r.NumShards(); i++ {
			sameFile(t, filepath.Join(b.dir, r.DataFile(i)), filepath.Join(out, r.DataFile(i)))
			shards++
		}
		// The rewritten bundle must open and hold the same entries.
		r2, err := Open(os.DirFS(out), b.prefix)
		if err != nil {
			t.Fatalf("%s: reopen: %v", b.name, err)
		}
		for _, k := range r.Keys() {
			e1, _ := r.Entry(k)
			if e2, ok := r2.Entry(k); !ok || !proto.Equal(e1, e2) {
				t.Errorf("%s: key %q: entry %v after rewrite, want %v", b.name, k, e2, e1)
			}
		}
		if r.IndexCompressed() {
			compressed++
		} else if sameFile(t, filepath.Join(b.dir, r.IndexFile()), filepath.Join(out, r.IndexFile())) {
			identical++
		}
		r.Close()
		r2.Close()
	}
	t.Logf("%d indexes byte-identical, %d snappy originals compared by entries; %d data shards byte-identical", identical, compressed, shards)
	if identical < 20 {
		t.Errorf("only %d indexes identical", identical)
	}
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	da, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(da, db) {
		t.Errorf("%s differs from the original %s (%d vs %d bytes)", b, a, len(db), len(da))
		return false
	}
	return true
}

func shape(dims ...int64) *tsp.TensorShapeProto {
	s := &tsp.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &tsp.TensorShapeProto_Dim{Size: d})
	}
	return s
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// variantBytes builds a DT_VARIANT layout of the given element payloads.
func variantBytes(elems ...[]byte) []byte {
	var out []byte
	c := newChecker(types_go_proto.DataType_DT_VARIANT, int64(len(elems)))
	for _, e := range elems {
		out = binary.AppendUvarint(out, uint64(len(e)))
		var l [8]byte
		binary.LittleEndian.PutUint64(l[:], uint64(len(e)))
		c.crc = crc32Update(c.crc, l[:])
		out = append(out, e...)
		c.crc = crc32Update(c.crc, e)
		var ck [4]byte
		binary.LittleEndian.PutUint32(ck[:], mask(c.crc))
		out = append(out, ck[:]...)
		c.crc = crc32Update(c.crc, ck[:])
	}
	return out
}

// testBundle writes a two-shard bundle with every kind of entry.
func testBundle(t *testing.T, dir string) map[string][]byte {
	w, err := NewWriter(dir, "variables", WriterOptions{NumShards: 2})
	if err != nil {
		t.Fatal(err)
	}
	var strs bytes.Buffer
	WriteStrings(&strs, [][]byte{[]byte("graph"), {}, []byte("x")})
	half := []byte{0x00, 0x3c, 0x00, 0xc0} // 1.0, -2.0
	slice0 := &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{extent(0, 1), extent(0, -1)}}
	slice1 := &tslp.TensorSliceProto{Extent: []*tslp.TensorSliceProto_Extent{extent(1, 1), extent(0, -1)}}
	data := map[string][]byte{
		"w/.ATTRIBUTES/VARIABLE_VALUE": f32bytes(1, 2, 3, 4, 5, 6),
		"b/.ATTRIBUTES/VARIABLE_VALUE": f32bytes(-1.5),
		"h":                            half,
		"names":                        strs.Bytes(),
		"empty":                        {},
		"var":                          variantBytes([]byte("\x0a\x01a"), nil),
		SliceKey("s", slice0):          f32bytes(1, 2),
		SliceKey("s", slice1):          f32bytes(3, 4),
	}
	add := func(key string, dt types_go_proto.DataType, sh *tsp.TensorShapeProto, shard int32, slices ...*tslp.TensorSliceProto) {
		e := &tfpb.BundleEntryProto{Dtype: dt, Shape: sh, ShardId: shard, Slices: slices}
		var r io.Reader
		if d, ok := data[key]; ok {
			r = bytes.NewReader(d)
		}
		if err := w.Add(key, e, r); err != nil {
			t.Fatal(err)
		}
	}
	add("w/.ATTRIBUTES/VARIABLE_VALUE", types_go_proto.DataType_DT_FLOAT, shape(2, 3), 1)
	add("b/.ATTRIBUTES/VARIABLE_VALUE", types_go_proto.DataType_DT_FLOAT, shape(), 0)
	add("h", types_go_proto.DataType_DT_HALF, shape(2), 1)
	add("names", types_go_proto.DataType_DT_STRING, shape(3), 0)
	add("empty", types_go_proto.DataType_DT_INT64, shape(0, 5), 0)
	add("var", types_go_proto.DataType_DT_VARIANT, shape(2), 0)
	add("s", types_go_proto.DataType_DT_FLOAT, shape(2, 2), 0, slice0, slice1)
	add(SliceKey("s", slice0), types_go_proto.DataType_DT_FLOAT, shape(1, 2), 1)
	add(SliceKey("s", slice1), types_go_proto.DataType_DT_FLOAT, shape(1, 2), 0)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	data := testBundle(t, dir)
	r, err := Open(os.DirFS(dir), "variables")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.NumShards() != 2 || len(r.Keys()) != len(data)+1 {
		t.Fatalf("%d shards, keys %q", r.NumShards(), r.Keys())
	}
	for key, want := range data {
		rc, err := r.OpenEntry(key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("key %q: read %x, %v; want %x", key, got, err, want)
		}
	}
	for key, want := range map[string][]float64{
		"w/.ATTRIBUTES/VARIABLE_VALUE": {1, 2, 3, 4, 5, 6},
		"h":                            {1, -2},
		"empty":                        {},
	} {
		got, err := r.ReadFloat64s(key)
		if err != nil || len(got) != len(want) {
			t.Fatalf("ReadFloat64s(%q) = %v, %v", key, got, err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("ReadFloat64s(%q)[%d] = %v, want %v", key, i, got[i], want[i])
			}
		}
	}
	strs, err := r.ReadStrings("names")
	if err != nil || len(strs) != 3 || string(strs[0]) != "graph" || string(strs[2]) != "x" {
		t.Errorf("ReadStrings = %q, %v", strs, err)
	}
	full, _ := r.Entry("s")
	if len(full.GetSlices()) != 2 || full.GetSize() != 0 {
		t.Errorf("sliced entry = %v", full)
	}
	if _, err := r.OpenEntry("s"); err == nil {
		t.Errorf("OpenEntry of a sliced entry succeeded")
	}
	// Data order: shard 0 first, then by offset; the sliced entry first.
	order := r.KeysInDataOrder()
	if order[0] != "s" {
		t.Errorf("KeysInDataOrder starts with %q", order[0])
	}
	prevShard, prevOff := int32(-1), int64(-1)
	for _, k := range order[1:] {
		e, _ := r.Entry(k)
		if e.GetShardId() < prevShard || (e.GetShardId() == prevShard && e.GetOffset() < prevOff) {
			t.Errorf("KeysInDataOrder: %q out of data order", k)
		}
		prevShard, prevOff = e.GetShardId(), e.GetOffset()
	}
}

func TestWriterRejects(t *testing.T) {
	f32 := func(sh *tsp.TensorShapeProto) *tfpb.BundleEntryProto {
		return &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_FLOAT, Shape: sh}
	}
	var strs bytes.Buffer
	WriteStrings(&strs, [][]byte{[]byte("abc")})
	badStrs := bytes.Clone(strs.Bytes())
	badStrs[1] ^= 0xff // length checksum
	for _, tc := range []struct {
		name   string
		key    string
		entry  *tfpb.BundleEntryProto
		data   []byte
		nodata bool
		sticky bool // the writer is failed afterwards
		want   string
	}{
		{"empty key", "", f32(shape()), f32bytes(1), false, false, "reserved for the header"},
		{"short data", "k", f32(shape(2)), f32bytes(1), false, true, "invalid size"},
		{"long data", "k", f32(shape(1)), f32bytes(1, 2), false, true, "invalid size"},
		{"shard out of range", "k", &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_FLOAT, ShardId: 3}, f32bytes(1), false, false, "shard_id 3 out of range"},
		{"resource dtype", "k", &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_RESOURCE}, []byte{1}, false, false, "unsupported dtype"},
		{"negative dim", "k", f32(shape(-1)), nil, false, false, "invalid tensor shape"},
		{"no data, no slices", "k", f32(shape(1)), nil, true, false, "no data"},
		{"bad string layout", "k", &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_STRING, Shape: shape()}, badStrs, false, true, "checksum mismatch"},
		{"string too short", "k", &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_STRING, Shape: shape()}, strs.Bytes()[:5], false, true, "ends inside element"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWriter(t.TempDir(), "v", WriterOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var r io.Reader
			if !tc.nodata {
				r = bytes.NewReader(tc.data)
			}
			err = w.Add(tc.key, tc.entry, r)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "bundle: ") {
				t.Fatalf("Add: %v, want an error containing %q", err, tc.want)
			}
			err2 := w.Add("other", f32(shape()), bytes.NewReader(f32bytes(1)))
			if tc.sticky != (err2 != nil) {
				t.Errorf("next Add: %v; sticky = %v", err2, tc.sticky)
			}
			if cerr := w.Close(); tc.sticky != (cerr != nil) {
				t.Errorf("Close: %v", cerr)
			}
		})
	}
	w, _ := NewWriter(t.TempDir(), "v", WriterOptions{})
	w.Add("k", f32(shape()), bytes.NewReader(f32bytes(1)))
	if err := w.Add("k", f32(shape()), bytes.NewReader(f32bytes(1))); err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Errorf("duplicate Add: %v", err)
	}
	w.Close()
}

func TestCopyContextCancelled(t *testing.T) {
	dir := t.TempDir()
	testBundle(t, dir)
	r, err := Open(os.DirFS(dir), "variables")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := NewWriter(t.TempDir(), "variables", WriterOptions{NumShards: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := w.CopyContext(ctx, r, "names"); !errors.Is(err, context.Canceled) {
		t.Errorf("CopyContext with a cancelled context: %v", err)
	}
	if err := w.Close(); !errors.Is(err, context.Canceled) {
		t.Errorf("Close after a cancelled copy: %v", err)
	}
}

// Close fsyncs every data shard and the index, and nothing with NoSync;
// the files are the same either way.
func TestWriterNoSync(t *testing.T) {
	var synced []string
	write := func(dir string, noSync bool) {
		w, err := NewWriter(dir, "ckpt", WriterOptions{NumShards: 2, NoSync: noSync,
			OnSync: func(name string) { synced = append(synced, filepath.Base(name)) }})
		if err != nil {
			t.Fatal(err)
		}
		for i, k := range []string{"a", "b", "c"} {
			e := &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_FLOAT, Shape: &tsp.TensorShapeProto{}, ShardId: int32(i % 2)}
			if err := w.Add(k, e, bytes.NewReader([]byte{byte(i), 0, 0x80, 0x3f})); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	durable, fast := t.TempDir(), t.TempDir()
	write(durable, false)
	want := []string{"ckpt.data-00000-of-00002", "ckpt.data-00001-of-00002", "ckpt.index"}
	if !slices.Equal(synced, want) {
		t.Errorf("Close fsynced %q, want %q", synced, want)
	}
	synced = nil
	write(fast, true)
	if len(synced) != 0 {
		t.Errorf("Close with NoSync fsynced %q", synced)
	}
	for _, f := range want {
		sameFile(t, filepath.Join(durable, f), filepath.Join(fast, f))
	}
}
