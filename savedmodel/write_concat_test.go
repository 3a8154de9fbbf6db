package savedmodel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	tslpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// genModel copies a TensorFlow test model and replaces its checkpoint by a
// generated one: n entries of random fixed-size dtypes and DT_STRING, of
// random sizes (some empty), spread over 3 data shards, plus a tensor
// saved in two slices. It returns the directory and each key's stored
// bytes.
func genModel(t *testing.T, seed uint64, n int) (string, map[string][]byte) {
	t.Helper()
	dir := copyTree(t, tfModel(t, "VarsAndArithmeticObjectGraph"))
	vdir := filepath.Join(dir, VariablesDir)
	if err := os.RemoveAll(vdir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(vdir, 0o755); err != nil {
		t.Fatal(err)
	}
	w, err := bundle.NewWriter(vdir, "variables", bundle.WriterOptions{NumShards: 3, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	dtypes := []typespb.DataType{typespb.DataType_DT_FLOAT, typespb.DataType_DT_INT64, typespb.DataType_DT_DOUBLE, typespb.DataType_DT_INT8, typespb.DataType_DT_STRING}
	stored := map[string][]byte{}
	add := func(key string, dt typespb.DataType, dims []int64, shard int, data []byte) {
		shape := &tsp.TensorShapeProto{}
		for _, d := range dims {
			shape.Dim = append(shape.Dim, &tsp.TensorShapeProto_Dim{Size: d})
		}
		e := &tfpb.BundleEntryProto{Dtype: dt, Shape: shape, ShardId: int32(shard)}
		if err := w.Add(key, e, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		stored[key] = data
	}
	for i := range n {
		dt := dtypes[rng.IntN(len(dtypes))]
		elems := int64(rng.IntN(3000))
		if rng.IntN(10) == 0 {
			elems = 0
		}
		var data []byte
		if dt == typespb.DataType_DT_STRING {
			strs := make([][]byte, elems)
			for j := range strs {
				strs[j] = fmt.Appendf(nil, "s%d-%d", i, rng.IntN(1e6))
			}
			var buf bytes.Buffer
			bundle.WriteStrings(&buf, strs)
			data = buf.Bytes()
		} else {
			size, _ := bundle.DTypeSize(dt)
			data = make([]byte, elems*int64(size))
			for j := range data {
				data[j] = byte(rng.Uint32())
			}
		}
		add(fmt.Sprintf("v%04d", i), dt, []int64{elems}, rng.IntN(3), data)
	}
	// A tensor [4 3] saved as rows 0-1 and 2-3.
	full := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT, Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: 4}, {Size: 3}}}}
	for i := range 2 {
		s := &tslpb.TensorSliceProto{Extent: []*tslpb.TensorSliceProto_Extent{
			{Start: int64(2 * i), HasLength: &tslpb.TensorSliceProto_Extent_Length{Length: 2}}, {}}}
		full.Slices = append(full.Slices, s)
		data := make([]byte, 24)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		add(bundle.SliceKey("sliced", s), typespb.DataType_DT_FLOAT, []int64{2, 3}, i, data)
	}
	if err := w.Add("sliced", full, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, stored
}

// concatEdits applies a deterministic mix of edits to m: concatenations of
// 0 to 5 same-dtype entries (of keys kept, deleted or renamed, one
// replacing an input key), renames, deletions, the sliced tensor assembled
// from its slices, and a stream entry. It returns the stored bytes each
// output key must have.
func concatEdits(t *testing.T, m *Model, stored map[string][]byte, seed uint64) map[string][]byte {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 11))
	want := map[string][]byte{}
	for k, b := range stored {
		want[k] = b
	}
	byDtype := map[typespb.DataType][]string{}
	for _, k := range m.InputCheckpoint.Keys() {
		e, _ := m.InputCheckpoint.Entry(k)
		if _, fixed := bundle.DTypeSize(e.GetDtype()); fixed && len(e.GetSlices()) == 0 && k[0] == 'v' {
			byDtype[e.GetDtype()] = append(byDtype[e.GetDtype()], k)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	concat := func(key string, dt typespb.DataType, srcs []string) {
		var data []byte
		for _, s := range srcs {
			data = append(data, stored[s]...)
		}
		size, _ := bundle.DTypeSize(dt)
		e := &tfpb.BundleEntryProto{Dtype: dt, Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: int64(len(data) / size)}}}}
		must(m.ConcatVariable(key, e, srcs))
		want[key] = data
	}
	i := 0
	for _, dt := range slices.Sorted(maps.Keys(byDtype)) {
		keys := byDtype[dt]
		for len(keys) > 0 {
			k := min(len(keys), rng.IntN(6))
			srcs := keys[:k]
			keys = keys[k:]
			concat(fmt.Sprintf("cat%03d", i), dt, srcs)
			i++
			for _, s := range srcs {
				switch rng.IntN(3) {
				case 0:
					must(m.DeleteVariable(s))
					delete(want, s)
				case 1:
					must(m.RenameVariable(s, "r_"+s))
					want["r_"+s] = want[s]
					delete(want, s)
				}
			}
		}
	}
	// Replace a kept input key by a concatenation of others of its dtype.
	for _, k := range m.OutputKeys() {
		e, _ := m.OutputEntry(k)
		if p, _ := m.lookup(k); p.entry == nil && p.src == k && e.GetDtype() == typespb.DataType_DT_INT64 {
			var srcs []string
			for _, s := range byDtype[typespb.DataType_DT_INT64] {
				if s != k && len(srcs) < 3 {
					srcs = append(srcs, s)
				}
			}
			concat(k, typespb.DataType_DT_INT64, srcs)
			break
		}
	}
	// The sliced tensor: its slices are along axis 0.
	full, _ := m.InputCheckpoint.Entry("sliced")
	var parts []string
	var data []byte
	for _, s := range full.GetSlices() {
		parts = append(parts, bundle.SliceKey("sliced", s))
		data = append(data, stored[parts[len(parts)-1]]...)
	}
	must(m.ConcatVariable("sliced", &tfpb.BundleEntryProto{Dtype: full.GetDtype(), Shape: full.GetShape()}, parts))
	want["sliced"] = data
	for _, p := range parts {
		must(m.DeleteVariable(p))
		delete(want, p)
	}
	// A stream entry, as SetOutputObjectGraph adds.
	str := encodeStringScalar([]byte("opaque"))
	must(m.SetVariable("opaque", &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_STRING, Shape: &tsp.TensorShapeProto{}},
		func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(str)), nil }))
	want["opaque"] = str
	return want
}

// writeWith writes m to a new directory, rebuilding its checkpoint as mode
// says.
func writeWith(t *testing.T, m *Model, mode rebuildMode, opts WriteOptions) string {
	t.Helper()
	opts.rebuild = mode
	out := outDir(t)
	if err := m.Write(context.Background(), out, opts); err != nil {
		t.Fatal(err)
	}
	return out
}

// A rebuilt checkpoint whose entries are kept, renamed and concatenated
// input entries is written with combined checksums (streamed or by the
// kernel): the output tree is byte for byte the one the rebuild from
// opaque streams writes, durable or not, and every key holds the bytes it
// must.
func TestWriteConcatMatchesStream(t *testing.T) {
	t.Parallel() // Write's test settings are per Write (WriteOptions), not globals
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			dir, stored := genModel(t, seed, 300)
			m := mustRead(t, dir)
			want := concatEdits(t, m, stored, seed)
			ref := treeHashes(t, writeWith(t, m, byStream, WriteOptions{}))
			for _, mode := range []rebuildMode{byConcat, byKernel} {
				for _, noSync := range []bool{false, true} {
					out := writeWith(t, m, mode, WriteOptions{NoSync: noSync})
					if got := treeHashes(t, out); !maps.Equal(got, ref) {
						t.Fatalf("%v NoSync=%v: output differs from the rebuild from streams:\n got  %v\n want %v", mode, noSync, got, ref)
					}
				}
			}
			got := mustRead(t, writeWith(t, m, byConcat, WriteOptions{NoSync: true}))
			if keys := got.OutputKeys(); !slices.Equal(keys, slices.Sorted(maps.Keys(want))) {
				t.Fatalf("keys %v, want %v", keys, slices.Sorted(maps.Keys(want)))
			}
			for k, b := range want {
				if g := readAll(t, got, k); !bytes.Equal(g, b) {
					t.Errorf("key %q: %d bytes, want %d (%x... vs %x...)", k, len(g), len(b), g[:min(8, len(g))], b[:min(8, len(b))])
				}
			}
		})
	}
}

// The sharded fixtures, their sliced tensors planned as ConcatVariable of
// their slices (as the shards pass does), write the same tree through
// Concat (streamed or by the kernel) as from opaque streams.
func TestWriteConcatFixtures(t *testing.T) {
	t.Parallel() // Write's test settings are per Write (WriteOptions), not globals
	tested := 0
	for _, dir := range fixtureModels(t) {
		m := mustRead(t, dir)
		var sliced []string
		for _, v := range m.OutputVariables() {
			// Concat joins stored bytes: fixed-size dtypes only (a sliced
			// DT_STRING, as in layout_tf1_nocopy, does not concatenate).
			if _, fixed := bundle.DTypeSize(v.DType); len(v.Slices) > 0 && fixed {
				sliced = append(sliced, v.Key)
			}
		}
		if len(sliced) == 0 {
			continue
		}
		tested++
		t.Run(filepath.Base(dir), func(t *testing.T) {
			for _, key := range sliced {
				full, _ := m.OutputEntry(key)
				var parts []string
				for _, s := range full.GetSlices() { // TF lists them along axis 0
					parts = append(parts, bundle.SliceKey(key, s))
				}
				if err := m.ConcatVariable(key, &tfpb.BundleEntryProto{Dtype: full.GetDtype(), Shape: full.GetShape()}, parts); err != nil {
					t.Fatal(err)
				}
				for _, p := range parts {
					if err := m.DeleteVariable(p); err != nil {
						t.Fatal(err)
					}
				}
			}
			ref := treeHashes(t, writeWith(t, m, byStream, WriteOptions{}))
			for _, mode := range []rebuildMode{byConcat, byKernel} {
				if got := treeHashes(t, writeWith(t, m, mode, WriteOptions{})); !maps.Equal(got, ref) {
					t.Fatalf("%v: output differs from the rebuild from streams:\n got  %v\n want %v", mode, got, ref)
				}
			}
		})
	}
	if tested < 3 {
		t.Fatalf("%d fixtures with sliced entries, want the ParameterServerStrategy ones", tested)
	}
}

// A damaged byte in an input entry that Write copies with Concat (kept,
// renamed, or a part of a concatenation that is itself deleted), streamed
// or by the kernel, fails the Write with a *bundle.ChecksumError naming
// that entry, and leaves nothing.
func TestWriteConcatDetectsDamage(t *testing.T) {
	t.Parallel() // Write's test settings are per Write (WriteOptions), not globals
	for _, tc := range []struct {
		name string
		edit func(m *Model, victim string) error
	}{
		{"kept", func(m *Model, victim string) error { return m.DeleteVariable("v0000") }},
		{"renamed", func(m *Model, victim string) error { return m.RenameVariable(victim, "renamed") }},
		{"concat part", func(m *Model, victim string) error {
			e, _ := m.InputCheckpoint.Entry(victim)
			if err := m.ConcatVariable("cat", e, []string{victim}); err != nil {
				return err
			}
			return m.DeleteVariable(victim)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, _ := genModel(t, 9, 40)
			m := mustRead(t, dir)
			victim := ""
			for _, k := range m.InputCheckpoint.Keys() {
				e, _ := m.InputCheckpoint.Entry(k)
				if e.GetDtype() == typespb.DataType_DT_FLOAT && e.GetSize() > 100 && k != "v0000" {
					victim = k
					break
				}
			}
			e, _ := m.InputCheckpoint.Entry(victim)
			m.Close()
			data := filepath.Join(dir, VariablesDir, bundle.DataName("variables", int(e.GetShardId()), 3))
			b, err := os.ReadFile(data)
			if err != nil {
				t.Fatal(err)
			}
			b[e.GetOffset()+e.GetSize()/2] ^= 0x10
			if err := os.WriteFile(data, b, 0o644); err != nil {
				t.Fatal(err)
			}
			m = mustRead(t, dir)
			if err := tc.edit(m, victim); err != nil {
				t.Fatal(err)
			}
			for _, mode := range []rebuildMode{byConcat, byKernel} {
				for _, noSync := range []bool{false, true} {
					out := outDir(t)
					err := m.Write(context.Background(), out, WriteOptions{NoSync: noSync, rebuild: mode})
					var ce *bundle.ChecksumError
					if !errors.As(err, &ce) || ce.Key != victim {
						t.Fatalf("%v NoSync=%v: err = %v, want a *bundle.ChecksumError for %q", mode, noSync, err, victim)
					}
					if s := siblings(t, out); len(s) != 0 {
						t.Errorf("failed Write left %q", s)
					}
				}
			}
		})
	}
}

// noOSFiles serves an OS directory through files that are not *os.File,
// as an fs.FS other than os.DirFS would.
type noOSFiles struct{ fs.FS }

type readAtFile struct {
	fs.File
	io.ReaderAt
}

func (n noOSFiles) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if ra, ok := f.(io.ReaderAt); ok {
		return readAtFile{f, ra}, nil
	}
	return f, nil
}

// A model read from an fs.FS (ReadOptions.FS) (no OS files for the kernel to copy from,
// so streamed even with KernelCopy) writes the same tree.
func TestWriteConcatReadFS(t *testing.T) {
	t.Parallel() // Write's test settings are per Write (WriteOptions), not globals
	dir, stored := genModel(t, 5, 100)
	m := mustRead(t, dir)
	concatEdits(t, m, stored, 5)
	ref := treeHashes(t, writeWith(t, m, byConcat, WriteOptions{NoSync: true}))
	mfs, err := Read(context.Background(), ".", ReadOptions{FS: noOSFiles{os.DirFS(dir)}})
	if err != nil {
		t.Fatal(err)
	}
	defer mfs.Close()
	concatEdits(t, mfs, stored, 5)
	for _, mode := range []rebuildMode{byConcat, byKernel} {
		if got := treeHashes(t, writeWith(t, mfs, mode, WriteOptions{NoSync: true})); !maps.Equal(got, ref) {
			t.Fatalf("%v: fs.FS output differs:\n got  %v\n want %v", mode, got, ref)
		}
	}
}

func TestConcatVariableRejects(t *testing.T) {
	dir, _ := genModel(t, 4, 60)
	m := mustRead(t, dir)
	byDtype := map[typespb.DataType]string{}
	for _, k := range m.InputCheckpoint.Keys() {
		e, _ := m.InputCheckpoint.Entry(k)
		if e.GetSize() > 0 && len(e.GetSlices()) == 0 {
			byDtype[e.GetDtype()] = k
		}
	}
	f32 := byDtype[typespb.DataType_DT_FLOAT]
	fe, _ := m.InputCheckpoint.Entry(f32)
	vec := func(dt typespb.DataType, n int64) *tfpb.BundleEntryProto {
		return &tfpb.BundleEntryProto{Dtype: dt, Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: n}}}}
	}
	n := fe.GetSize() / 4
	for _, tc := range []struct {
		name  string
		key   string
		entry *tfpb.BundleEntryProto
		srcs  []string
	}{
		{"string", "k", entryOf(t, m, byDtype[typespb.DataType_DT_STRING]), []string{byDtype[typespb.DataType_DT_STRING]}},
		{"size", "k", vec(typespb.DataType_DT_FLOAT, n+1), []string{f32}},
		{"dtype", "k", vec(typespb.DataType_DT_INT32, n), []string{f32}},
		{"missing source", "k", vec(typespb.DataType_DT_FLOAT, n), []string{"nope"}},
		{"sliced source", "k", vec(typespb.DataType_DT_FLOAT, 12), []string{"sliced"}},
		{"empty key", "", vec(typespb.DataType_DT_FLOAT, n), []string{f32}},
		{"nil entry", "k", nil, []string{f32}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := m.ConcatVariable(tc.key, tc.entry, tc.srcs); err == nil {
				t.Fatal("no error")
			}
			if _, ok := m.OutputEntry("k"); ok {
				t.Error("a rejected ConcatVariable added the key")
			}
		})
	}
	if err := m.ConcatVariable("k", vec(typespb.DataType_DT_FLOAT, 2*n), []string{f32, f32}); err != nil {
		t.Fatalf("a source twice: %v", err)
	}
}

func entryOf(t *testing.T, m *Model, key string) *tfpb.BundleEntryProto {
	t.Helper()
	e, ok := m.InputCheckpoint.Entry(key)
	if !ok {
		t.Fatalf("no key %q", key)
	}
	return e
}
