package rewrite

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	tslp "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// shSlice builds a TensorSliceProto from "start,len" or "-" extents.
func shSlice(ext ...string) *tslp.TensorSliceProto {
	s := &tslp.TensorSliceProto{}
	for _, e := range ext {
		x := &tslp.TensorSliceProto_Extent{}
		if e != "-" {
			var start, l int64
			fmt.Sscanf(e, "%d,%d", &start, &l)
			x.Start, x.HasLength = start, &tslp.TensorSliceProto_Extent_Length{Length: l}
		}
		s.Extent = append(s.Extent, x)
	}
	return s
}

func shShape(dims ...int64) *tsp.TensorShapeProto {
	s := &tsp.TensorShapeProto{}
	for _, d := range dims {
		s.Dim = append(s.Dim, &tsp.TensorShapeProto_Dim{Size: d})
	}
	return s
}

// memEntries serves entry bytes from memory.
type memEntries map[string][]byte

func (m memEntries) OpenEntry(key string) (io.ReadCloser, error) {
	b, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("no key %q", key)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// TestAssembleLayouts checks that slices along any one axis assemble to the
// row-major bytes of the full tensor, whatever order they are listed in.
func TestAssembleLayouts(t *testing.T) {
	// A 4x6 tensor of one-byte elements e[i][j] = 10*i + j.
	dims := []int64{4, 6}
	full := make([]byte, 24)
	for i := range 4 {
		for j := range 6 {
			full[i*6+j] = byte(10*i + j)
		}
	}
	sub := func(r0, r1, c0, c1 int) []byte {
		var out []byte
		for i := r0; i < r1; i++ {
			out = append(out, full[i*6+c0:i*6+c1]...)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		axis  int
		parts [][4]int // row and column ranges, in listed order
		exts  [][]string
	}{
		{"axis 0, two parts", 0, [][4]int{{0, 2, 0, 6}, {2, 4, 0, 6}}, [][]string{{"0,2", "-"}, {"2,2", "-"}}},
		{"axis 0, listed out of order", 0, [][4]int{{3, 4, 0, 6}, {0, 3, 0, 6}}, [][]string{{"3,1", "-"}, {"0,3", "0,6"}}},
		{"axis 1, three parts", 1, [][4]int{{0, 4, 0, 2}, {0, 4, 2, 5}, {0, 4, 5, 6}}, [][]string{{"-", "0,2"}, {"-", "2,3"}, {"0,4", "5,1"}}},
		{"one slice covering all", 0, [][4]int{{0, 4, 0, 6}}, [][]string{{"-", "-"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := memEntries{}
			var parts []slicePart
			for i, p := range tc.parts {
				key := fmt.Sprintf("part%d", i)
				src[key] = sub(p[0], p[1], p[2], p[3])
				parts = append(parts, slicePart{key: key, slice: shSlice(tc.exts[i]...),
					entry: &tfpb.BundleEntryProto{Shape: shShape(int64(p[1]-p[0]), int64(p[3]-p[2]))}})
			}
			layout, err := planAssembly(dims, parts)
			require.NoError(t, err)
			assert.Equal(t, tc.axis, layout.axis)
			open, err := assemblyOpener(src, typespb.DataType_DT_UINT8, dims, layout)
			require.NoError(t, err)
			rc, err := open()
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.Equal(t, full, got)
		})
	}
}

func TestAssembleRejects(t *testing.T) {
	dims := []int64{4, 6}
	part := func(dims []int64, ext ...string) slicePart {
		return slicePart{key: "k", slice: shSlice(ext...), entry: &tfpb.BundleEntryProto{Shape: shShape(dims...)}}
	}
	for _, tc := range []struct {
		name  string
		parts []slicePart
		want  string
	}{
		{"gap", []slicePart{part([]int64{1, 6}, "0,1", "-"), part([]int64{2, 6}, "2,2", "-")}, "gap or an overlap"},
		{"overlap", []slicePart{part([]int64{3, 6}, "0,3", "-"), part([]int64{2, 6}, "2,2", "-")}, "gap or an overlap"},
		{"short", []slicePart{part([]int64{3, 6}, "0,3", "-")}, "cover 3 of 4"},
		{"entry shape", []slicePart{part([]int64{2, 5}, "0,2", "-"), part([]int64{2, 6}, "2,2", "-")}, "has shape [2 5]"},
		{"rank", []slicePart{part([]int64{4}, "-")}, "rank 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := planAssembly(dims, tc.parts)
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrSliceLayout))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// Slices along several axes are a multiAxis layout, read by
	// bundle.Reader.OpenTensor (bundle.Open checked the tiling).
	layout, err := planAssembly(dims, []slicePart{part([]int64{2, 3}, "0,2", "0,3"), part([]int64{2, 3}, "2,2", "3,3")})
	require.NoError(t, err)
	assert.Equal(t, multiAxis, layout.axis)
	// A scalar with a slice entry (its one extent list empty) was a panic.
	_, err = planAssembly(nil, []slicePart{part(nil)})
	assert.ErrorIs(t, err, ErrSliceLayout)
	_, err = assemblyOpener(memEntries{}, typespb.DataType_DT_STRING, dims, sliceLayout{axis: 1, parts: make([]slicePart, 2)})
	assert.ErrorIs(t, err, ErrSliceLayout)
}

func TestAssembleShortStream(t *testing.T) {
	dims := []int64{2, 2}
	parts := []slicePart{
		{key: "a", slice: shSlice("0,1", "-"), entry: &tfpb.BundleEntryProto{Shape: shShape(1, 2)}},
		{key: "b", slice: shSlice("1,1", "-"), entry: &tfpb.BundleEntryProto{Shape: shShape(1, 2)}},
	}
	layout, err := planAssembly(dims, parts)
	require.NoError(t, err)
	for name, src := range map[string]memEntries{
		"short": {"a": {1, 2}, "b": {3}},
		"long":  {"a": {1, 2, 9}, "b": {3, 4}},
	} {
		open, err := assemblyOpener(src, typespb.DataType_DT_UINT8, dims, layout)
		require.NoError(t, err)
		rc, err := open()
		require.NoError(t, err)
		_, err = io.ReadAll(rc)
		assert.Error(t, err, name)
	}
}

func TestWholeSliceSpec(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		dims  []int64
		whole bool
		err   bool
	}{
		{"6 4 0,6:0,4", []int64{6, 4}, true, false},
		{"6 4 -:-", []int64{6, 4}, true, false},
		{"4 0,4", []int64{4}, true, false},
		{"6 4 0,3:0,4", []int64{6, 4}, false, false},
		{"6 4 3,3:-", []int64{6, 4}, false, false},
		{"6 5 0,6:0,5", []int64{6, 4}, false, true},
		{"6 4 0,6", []int64{6, 4}, false, true},
		{"6 4 a,b:-", []int64{6, 4}, false, true},
	} {
		got, err := wholeSliceSpec(tc.spec, tc.dims)
		assert.Equal(t, tc.err, err != nil, tc.spec)
		assert.Equal(t, tc.whole, got, tc.spec)
	}
}

// TestShardsFixtures runs the pass on the ParameterServerStrategy fixtures:
// each sliced tensor becomes one entry whose bytes are its slices' bytes
// concatenated in slice order, no slice key is left, the saver reads full
// tensors, no partition handle is left, and a second run changes nothing.
func TestShardsFixtures(t *testing.T) {
	for _, name := range []string{"sharded_variable", "ps_strategy", "ps_strategy_save_devices"} {
		t.Run(name, func(t *testing.T) {
			m := rpReadFixture(t, name)
			want := map[string][]byte{}
			for _, key := range m.OutputKeys() {
				e, _ := m.OutputEntry(key)
				if len(e.GetSlices()) == 0 {
					continue
				}
				var buf []byte
				for _, s := range e.GetSlices() { // TF lists them in order along axis 0
					rc, err := m.OpenOutputEntry(bundle.SliceKey(key, s))
					require.NoError(t, err)
					b, err := io.ReadAll(rc)
					require.NoError(t, err)
					rc.Close()
					buf = append(buf, b...)
				}
				want[key] = buf
			}
			require.NotEmpty(t, want, "the fixture has sliced entries")

			rep := rpRun(t, m, Options{}, Shards)
			require.True(t, rep.Changed())
			for _, key := range m.OutputKeys() {
				_, _, err := bundle.ParseSliceKey(key)
				assert.Error(t, err, "slice key %q left", key)
			}
			for key, b := range want {
				e, ok := m.OutputEntry(key)
				require.True(t, ok)
				assert.Empty(t, e.GetSlices())
				rc, err := m.OpenOutputEntry(key)
				require.NoError(t, err)
				got, err := io.ReadAll(rc)
				require.NoError(t, err)
				require.NoError(t, rc.Close())
				assert.Equal(t, b, got, key)
			}
			for _, mg := range m.Proto.MetaGraphs {
				for _, n := range mg.GetGraphDef().GetNode() {
					assert.False(t, partName.MatchString(n.GetName()) && isVariableOp(n.GetOp()), "partition handle %s left", n.GetName())
				}
			}
			specs := saverSpecs(t, m)
			for key := range want {
				for _, s := range specs[key] {
					assert.Empty(t, s, "slot of %s keeps spec %q", key, s)
				}
			}
			rep = rpRun(t, m, Options{}, Shards)
			assert.False(t, rep.Changed(), "second run changed: %v", rep.Passes)
		})
	}
}

// saverSpecs returns the shape_and_slices of every saver slot of meta
// graph 0, by key.
func saverSpecs(t *testing.T, m *savedmodel.Model) map[string][]string {
	t.Helper()
	c := &Context{Model: m, graphs: map[int]*graphdef.Graph{}, pass: Shards, report: &PassReport{}}
	ops, err := saverOps(c, 0)
	require.NoError(t, err)
	out := map[string][]string{}
	for _, op := range ops {
		for i, k := range op.names {
			out[k] = append(out[k], op.specs[i])
		}
	}
	return out
}

// shFloats decodes little-endian float32 bytes.
func shFloats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// TestShardsTF1Partitioned runs the default pipeline on a TF1 SavedModel
// with partitioned variables (testdata/shards/gen.py): w [4,6] in two
// parts along axis 1, emb [6,3] in three parts along axis 0. The full
// entries must hold the tensors gen.py assigned, the part variables stay
// (each restores its slice of the full entry) with a finding per slot, and
// with UNMIRROR_LOADCHECK=1 the written model must load in tf1 and tf2 and
// compute what TensorFlow computed before the rewrite.
func TestShardsTF1Partitioned(t *testing.T) {
	m, err := savedmodel.Read(context.Background(), filepath.Join("testdata", "shards", "tf1_partitioned"), savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer m.Close()
	rep, err := Default().Run(context.Background(), m, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"emb", "w"}, m.OutputKeys(), "one full entry per variable, no slice keys")
	for key, want := range map[string]func(i int) float32{
		"w":   func(i int) float32 { return float32(i)/7 - 1 },
		"emb": func(i int) float32 { return float32(i)/5 + 0.5 },
	} {
		rc, err := m.OpenOutputEntry(key)
		require.NoError(t, err)
		b, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		got := shFloats(b)
		require.Len(t, got, map[string]int{"w": 24, "emb": 18}[key])
		for i, v := range got {
			assert.InDelta(t, want(i), v, 1e-6, "%s[%d]", key, i)
		}
	}
	var partial int
	for _, n := range rep.Notes() {
		if strings.Contains(n.What, "its partition variable stays") {
			partial++
		}
	}
	assert.Empty(t, rep.Findings())
	assert.Equal(t, 10, partial, "one note per part slot of RestoreV2 and of SaveV2")

	out := filepath.Join(t.TempDir(), "out")
	require.NoError(t, m.Write(context.Background(), out, savedmodel.WriteOptions{}))
	again, err := savedmodel.Read(context.Background(), out, savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer again.Close()
	rep, err = NewPipeline(Shards).Run(context.Background(), again, Options{})
	require.NoError(t, err)
	assert.False(t, rep.Changed(), "shards changed a rewritten model")

	py := venvPython(t)
	for _, rt := range []string{"tf1", "tf2"} {
		loadCheck(t, py, out, "rewrite/testdata/shards/manifest.json", "tf1_partitioned", rt)
	}
}

// TestShardsCapturedParts rewrites a TF2 model whose signature captured
// the parts of a ShardedVariable (testdata/shards/gen_tf2.py). As saved,
// tf.saved_model.load computes wrong rows and the TF1 loader fails; after
// the rewrite the call passes the full variable, the function slices the
// parts' rows out of it, no partition handle is left, and (with
// UNMIRROR_LOADCHECK=1) both runtimes compute what the function computed
// before the save.
func TestShardsCapturedParts(t *testing.T) {
	m, err := savedmodel.Read(context.Background(), filepath.Join("testdata", "shards", "tf2_captured_parts"), savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer m.Close()
	rep, err := Default().Run(context.Background(), m, Options{})
	require.NoError(t, err)
	var text strings.Builder
	require.NoError(t, rep.WriteText(&text))
	assert.Contains(t, text.String(), "passes full variable embedding instead of partition handle embedding/part_0 (rows 0..3)")
	assert.Contains(t, text.String(), "passes full variable embedding instead of partition handle embedding/part_1 (rows 3..6)")
	assert.Contains(t, text.String(), "gathers from rows 0..3 of the full variable")
	assert.Contains(t, text.String(), "reads rows 3..6 of the full variable")
	for _, n := range m.Proto.MetaGraphs[0].GraphDef.GetNode() {
		assert.False(t, partName.MatchString(n.GetName()), "partition node %s left", n.GetName())
	}
	assert.Empty(t, Check(m, Options{}))

	out := filepath.Join(t.TempDir(), "out")
	require.NoError(t, m.Write(context.Background(), out, savedmodel.WriteOptions{}))
	again, err := savedmodel.Read(context.Background(), out, savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer again.Close()
	rep, err = Default().Run(context.Background(), again, Options{})
	require.NoError(t, err)
	assert.False(t, rep.Changed(), "a second rewrite changed the model")

	py := venvPython(t)
	for _, rt := range []string{"tf1", "tf2"} {
		loadCheck(t, py, out, "rewrite/testdata/shards/manifest.json", "tf2_captured_parts", rt)
	}
}

// BenchmarkAssemble streams a 64 MiB float32 tensor of shape [4096, 4096]
// assembled from 4 slices along axis 0 (concatenation) and along axis 1
// (interleaved 4 KiB row chunks), from in-memory slice streams.
func BenchmarkAssemble(b *testing.B) {
	const rows, cols, n = 4096, 4096, 4
	for _, axis := range []int{0, 1} {
		b.Run(fmt.Sprintf("axis=%d", axis), func(b *testing.B) {
			src := memEntries{}
			var parts []slicePart
			for i := range n {
				key := fmt.Sprintf("part%d", i)
				ext := []string{"-", "-"}
				ext[axis] = fmt.Sprintf("%d,%d", i*(rows/n), rows/n)
				shape := []int64{rows, cols}
				shape[axis] /= n
				src[key] = make([]byte, shape[0]*shape[1]*4)
				parts = append(parts, slicePart{key: key, slice: shSlice(ext...), entry: &tfpb.BundleEntryProto{Shape: shShape(shape...)}})
			}
			layout, err := planAssembly([]int64{rows, cols}, parts)
			require.NoError(b, err)
			open, err := assemblyOpener(src, typespb.DataType_DT_FLOAT, []int64{rows, cols}, layout)
			require.NoError(b, err)
			b.SetBytes(rows * cols * 4)
			for b.Loop() {
				rc, err := open()
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

// FuzzWholeSliceSpec checks that any shape_and_slices text is parsed
// without panicking, and that a spec it calls whole names the shape.
func FuzzWholeSliceSpec(f *testing.F) {
	for _, s := range []string{"6 4 0,6:0,4", "4 0,4", "4 4 0,2:-", "", "-", "1 2 3", "6 4 0,6:0,4 extra", "9223372036854775807 0,9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		for _, dims := range [][]int64{{6, 4}, {4}, {}} {
			whole, err := wholeSliceSpec(spec, dims)
			if whole && err != nil {
				t.Fatalf("%q: whole and an error", spec)
			}
			if whole && len(strings.Fields(spec)) != len(dims)+1 {
				t.Fatalf("%q: whole for rank %d", spec, len(dims))
			}
		}
	})
}

// slicedAlongAxis0 reports whether the slices of key (a fixed-size dtype)
// split its tensor along axis 0 only: the shards pass then plans the
// assembled tensor as a ConcatVariable.
func slicedAlongAxis0(m *savedmodel.Model, key string) bool {
	e, _ := m.OutputEntry(key)
	if _, fixed := bundle.DTypeSize(e.GetDtype()); !fixed {
		return false
	}
	for _, s := range e.GetSlices() {
		for d, x := range s.GetExtent()[1:] {
			if x.GetHasLength() != nil && (x.GetStart() != 0 || x.GetLength() != e.GetShape().GetDim()[d+1].GetSize()) {
				return false
			}
		}
	}
	return true
}

// TestShardsConcatWritesSameBytes runs the pass on every fixture with
// sliced checkpoint entries and writes the result twice: with the tensors
// assembled along axis 0 planned as ConcatVariable (checksums combined) and as assemblyOpener streams, as before. The two
// output directories must be identical file for file, and each assembled
// entry must be a ConcatVariable (Size known before the write).
func TestShardsConcatWritesSameBytes(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("..", "testdata", "models"))
	require.NoError(t, err)
	tested := 0
	for _, d := range ents {
		dir := filepath.Join("..", "testdata", "models", d.Name())
		if _, err := os.Stat(filepath.Join(dir, "variables", "variables.index")); err != nil {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			var sliced []string
			byAxis0 := map[string]bool{}
			outs := map[bool]string{}
			for _, stream := range []bool{false, true} {
				m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
				require.NoError(t, err)
				defer m.Close()
				if sliced == nil {
					for _, v := range m.OutputVariables() {
						if len(v.Slices) > 0 {
							sliced = append(sliced, v.Key)
							byAxis0[v.Key] = slicedAlongAxis0(m, v.Key)
						}
					}
					if len(sliced) == 0 {
						t.Skip("no sliced checkpoint entries")
					}
				}
				assembleByStream = stream
				rpRun(t, m, Options{}, Shards)
				assembleByStream = false
				sizes := map[string]int64{}
				kept := map[string]bool{}
				for _, v := range m.OutputVariables() {
					sizes[v.Key] = v.Size
					kept[v.Key] = len(v.Slices) > 0
				}
				for _, key := range sliced {
					if kept[key] {
						continue // TF1 parts of a dtype TF cannot copy: see TestShardsKeepsUncopyableParts
					}
					if !byAxis0[key] {
						// Slices along several axes (or another axis)
						// stream through the bundle reader both times.
						assert.Equal(t, int64(-1), sizes[key], "%s planned as a stream", key)
					} else if stream {
						assert.Equal(t, int64(-1), sizes[key], "%s planned as a stream", key)
					} else {
						assert.GreaterOrEqual(t, sizes[key], int64(0), "%s not planned as a ConcatVariable", key)
					}
				}
				outs[stream] = filepath.Join(t.TempDir(), "out")
				require.NoError(t, m.Write(context.Background(), outs[stream], savedmodel.WriteOptions{NoSync: true}))
			}
			tested++
			assert.Equal(t, shTree(t, outs[true]), shTree(t, outs[false]))
		})
	}
	require.GreaterOrEqual(t, tested, 3, "fixtures with sliced entries")
}

// shTree maps every file under dir to its content.
func shTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		r, _ := filepath.Rel(dir, p)
		out[r] = string(b)
		return err
	}))
	require.NotEmpty(t, out)
	return out
}

// TestShardsKeepsUncopyableParts: TF1 partitioned DT_STRING and DT_UINT16
// variables (layout_tf1_nocopy) restore each part from its stored slice;
// TensorFlow could not copy those parts out of one whole entry ("Dtype
// string not supported"), so the pass keeps the slices and says why. An
// assembled checkpoint made TF fail to load the rewritten model.
func TestShardsKeepsUncopyableParts(t *testing.T) {
	m, err := savedmodel.Read(context.Background(), filepath.Join("..", "testdata", "models", "layout_tf1_nocopy"), savedmodel.ReadOptions{})
	require.NoError(t, err)
	defer m.Close()
	rep := rpRun(t, m, Options{}, Shards)
	for _, key := range []string{"vocab", "codes"} {
		e, ok := m.OutputEntry(key)
		require.True(t, ok, key)
		assert.Len(t, e.GetSlices(), 2, "%s kept as slices", key)
	}
	notes := 0
	for _, n := range rep.Notes() {
		if strings.Contains(n.What, "kept as 2 slices") && strings.Contains(n.What, "not supported") {
			notes++
		}
	}
	assert.Equal(t, 2, notes, "a note per kept tensor")
}
