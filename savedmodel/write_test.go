package savedmodel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/internal/tftree"
	"github.com/unmirror/unmirror/savedmodel/fingerprint"
)

// readableModels returns every TF-tree SavedModel this package reads.
func readableModels(t testing.TB) []string {
	var out []string
	for _, dir := range tftree.SavedModels(t) {
		if !isChunked(dir) {
			out = append(out, dir)
		}
	}
	return out
}

func mustRead(t testing.TB, dir string) *Model {
	t.Helper()
	m, err := Read(context.Background(), dir, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func outDir(t testing.TB) string { return filepath.Join(t.TempDir(), "out") }

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("%s (%d bytes) differs from %s (%d bytes)", b, len(y), a, len(x))
	}
}

// checkWritten compares a written directory with its source model.
func checkWritten(t *testing.T, src *Model, srcDir, out string) *Model {
	t.Helper()
	got := mustRead(t, out)
	if !proto.Equal(got.Proto, src.Proto) {
		t.Errorf("written SavedModel proto differs from the original")
	}
	for _, a := range src.Assets {
		sameFile(t, filepath.Join(srcDir, a.Path), filepath.Join(out, a.Path))
	}
	if !slices.EqualFunc(got.Assets, src.Assets, func(a, b Asset) bool { return a.Path == b.Path && a.Size == b.Size }) {
		t.Errorf("assets %v, want %v", got.Assets, src.Assets)
	}
	if !bytes.Equal(got.DebugInfo, src.DebugInfo) {
		t.Errorf("debug info differs")
	}
	if src.Fingerprint != nil && got.Format == FormatBinary && got.Fingerprint == nil {
		t.Errorf("input had a fingerprint, output has none")
	}
	if got.Format == FormatText && got.Fingerprint != nil {
		t.Errorf("text output has a fingerprint")
	}
	if got.Fingerprint != nil {
		pb, _ := os.ReadFile(filepath.Join(out, SavedModelPB))
		idx, _ := os.ReadFile(filepath.Join(out, "variables/variables.index"))
		want, err := fingerprint.Compute(got.Proto, idx)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got.Fingerprint, want) || want.SavedModelChecksum != fingerprint.Hash64(pb) {
			t.Errorf("fingerprint %v, want %v", got.Fingerprint, want)
		}
	}
	return got
}

func TestWriteNoOpRoundTrip(t *testing.T) {
	for _, dir := range readableModels(t) {
		t.Run(rel(t, dir), func(t *testing.T) {
			m := mustRead(t, dir)
			out := outDir(t)
			if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			checkWritten(t, m, dir, out)
			if m.InputCheckpoint != nil {
				sameFile(t, filepath.Join(dir, m.InputCheckpoint.IndexFile()), filepath.Join(out, m.InputCheckpoint.IndexFile()))
				for i := 0; i < m.InputCheckpoint.NumShards(); i++ {
					sameFile(t, filepath.Join(dir, m.InputCheckpoint.DataFile(i)), filepath.Join(out, m.InputCheckpoint.DataFile(i)))
				}
			}
		})
	}
}

// TF 2.x models written through the C++ protobuf runtime come back byte
// for byte, fingerprint included where TF's is fresh.
func TestWriteByteIdenticalSavedModel(t *testing.T) {
	for _, name := range []string{"VarsAndArithmeticObjectGraph", "bert2", "AssetModule", "CyclicModule",
		"OptimizerSlotVariableModule", "StaticHashTableModule", "SimpleV1Model"} {
		dir := tfModel(t, name)
		m := mustRead(t, dir)
		out := outDir(t)
		if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		sameFile(t, filepath.Join(dir, SavedModelPB), filepath.Join(out, SavedModelPB))
	}
}

// forcePlan makes the checkpoint plan "changed" without changing its
// content, so Write rebuilds the bundle through bundle.Writer.
func forcePlan(t *testing.T, m *Model) {
	keys := m.OutputKeys()
	if len(keys) == 0 {
		t.Skip("no variables")
	}
	if err := m.RenameVariable(keys[0], keys[0]+"~tmp"); err != nil {
		t.Fatal(err)
	}
	if err := m.RenameVariable(keys[0]+"~tmp", keys[0]); err != nil {
		t.Fatal(err)
	}
	if !m.OutputChanged() {
		t.Fatal("OutputChanged false after edits")
	}
}

func TestWriteRebuiltCheckpointIsByteIdentical(t *testing.T) {
	for _, dir := range readableModels(t) {
		if _, err := os.Stat(filepath.Join(dir, "variables/variables.index")); err != nil {
			continue
		}
		t.Run(rel(t, dir), func(t *testing.T) {
			m := mustRead(t, dir)
			forcePlan(t, m)
			out := outDir(t)
			if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			checkWritten(t, m, dir, out)
			for i := 0; i < m.InputCheckpoint.NumShards(); i++ {
				sameFile(t, filepath.Join(dir, m.InputCheckpoint.DataFile(i)), filepath.Join(out, m.InputCheckpoint.DataFile(i)))
			}
			if m.InputCheckpoint.IndexCompressed() {
				t.Logf("index has snappy blocks; TF's writer never compresses, so only the content is compared")
				got := mustRead(t, out)
				for _, k := range m.InputCheckpoint.Keys() {
					a, _ := m.InputCheckpoint.Entry(k)
					b, ok := got.InputCheckpoint.Entry(k)
					if !ok || !proto.Equal(a, b) {
						t.Errorf("key %q: entry %v, want %v", k, b, a)
					}
				}
				return
			}
			sameFile(t, filepath.Join(dir, m.InputCheckpoint.IndexFile()), filepath.Join(out, m.InputCheckpoint.IndexFile()))
		})
	}
}

func readAll(t *testing.T, m *Model, key string) []byte {
	t.Helper()
	rc, err := m.OpenOutputEntry(key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("key %q: %v", key, err)
	}
	return b
}

func TestCheckpointEdits(t *testing.T) {
	dir := tfModel(t, "VarsAndArithmeticObjectGraph")
	m := mustRead(t, dir)
	g, err := m.OutputObjectGraph()
	if err != nil {
		t.Fatal(err)
	}
	var attrKeys []string
	for _, n := range g.GetNodes() {
		for _, a := range n.GetAttributes() {
			attrKeys = append(attrKeys, a.GetCheckpointKey())
		}
	}
	keys := m.OutputKeys()
	for _, k := range attrKeys {
		if !slices.Contains(keys, k) {
			t.Errorf("object graph names %q, not in the checkpoint %q", k, keys)
		}
	}
	const renamed = "renamed/.ATTRIBUTES/VARIABLE_VALUE"
	old := attrKeys[0]
	oldData := readAll(t, m, old)
	var deleted string
	for _, k := range keys {
		if k != old && k != ObjectGraphKey {
			deleted = k
			break
		}
	}
	if err := m.RenameVariable(old, renamed); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteVariable(deleted); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteVariable(deleted); !errors.Is(err, ErrNoVariable) {
		t.Errorf("second delete: err = %v, want ErrNoVariable", err)
	}
	if err := m.RenameVariable(renamed, ObjectGraphKey); !errors.Is(err, ErrVariableExists) {
		t.Errorf("rename onto existing key: err = %v, want ErrVariableExists", err)
	}
	newData := []byte{0, 0, 128, 63, 0, 0, 0, 64} // float32 {1, 2}
	entry := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT, Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: 2}}}}
	err = m.SetVariable("new/.ATTRIBUTES/VARIABLE_VALUE", entry, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(newData)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.GetNodes() {
		for _, a := range n.GetAttributes() {
			if a.GetCheckpointKey() == old {
				a.CheckpointKey = renamed
			}
		}
	}
	if err := m.SetOutputObjectGraph(g); err != nil {
		t.Fatal(err)
	}
	out := outDir(t)
	if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, out)
	wantKeys := slices.Clone(keys)
	wantKeys = slices.DeleteFunc(wantKeys, func(k string) bool { return k == old || k == deleted })
	wantKeys = append(wantKeys, renamed, "new/.ATTRIBUTES/VARIABLE_VALUE")
	slices.Sort(wantKeys)
	if !slices.Equal(got.OutputKeys(), wantKeys) {
		t.Errorf("keys %q, want %q", got.OutputKeys(), wantKeys)
	}
	if !bytes.Equal(readAll(t, got, renamed), oldData) {
		t.Errorf("renamed variable's bytes changed")
	}
	if !bytes.Equal(readAll(t, got, "new/.ATTRIBUTES/VARIABLE_VALUE"), newData) {
		t.Errorf("new variable's bytes differ")
	}
	g2, err := got.OutputObjectGraph()
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(g, g2) {
		t.Errorf("object graph read back differs")
	}
	// The input is untouched by the edits.
	if in := mustRead(t, dir); !slices.Equal(in.OutputKeys(), keys) {
		t.Errorf("input keys changed")
	}
}

func TestWriteAtomicity(t *testing.T) {
	src := copyTree(t, tfModel(t, "half_plus_two_v2/00000123"))
	before := treeHashes(t, src)
	m := mustRead(t, src)
	ctx := context.Background()

	t.Run("output exists", func(t *testing.T) {
		out := outDir(t)
		os.MkdirAll(out, 0o755)
		os.WriteFile(filepath.Join(out, "keep"), []byte("x"), 0o644)
		if err := m.Write(ctx, out, WriteOptions{}); !errors.Is(err, ErrOutputExists) {
			t.Errorf("err = %v, want ErrOutputExists", err)
		}
		if _, err := os.Stat(filepath.Join(out, "keep")); err != nil {
			t.Errorf("existing output touched: %v", err)
		}
		// Overwrite refuses a directory that is not a SavedModel...
		if err := m.Write(ctx, out, WriteOptions{Overwrite: true}); !errors.Is(err, ErrOutputExists) {
			t.Errorf("Overwrite of a non-SavedModel directory: err = %v, want ErrOutputExists", err)
		}
		// ...but replaces a SavedModel directory.
		os.WriteFile(filepath.Join(out, SavedModelPB), []byte("old"), 0o644)
		if err := m.Write(ctx, out, WriteOptions{Overwrite: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(out, "keep")); !os.IsNotExist(err) {
			t.Errorf("old output's file survived Overwrite: %v", err)
		}
		checkWritten(t, m, src, out)
		if s := siblings(t, out); !slices.Equal(s, []string{"out"}) {
			t.Errorf("left next to the output: %q", s)
		}
	})
	for _, bad := range []string{src, filepath.Join(src, "sub"), filepath.Join(src, "variables", "x"), filepath.Dir(src)} {
		if err := m.Write(ctx, bad, WriteOptions{Overwrite: true}); !errors.Is(err, ErrOutputOverlapsInput) {
			t.Errorf("Write(%s): err = %v, want ErrOutputOverlapsInput", bad, err)
		}
	}
	t.Run("cancelled", func(t *testing.T) {
		for n := 1; n < 40; n++ {
			out := outDir(t)
			cctx := &countdownCtx{Context: ctx, left: n}
			err := m.Write(cctx, out, WriteOptions{})
			if err == nil {
				if n < 3 {
					t.Fatalf("Write with cancellation after %d checks succeeded", n)
				}
				break
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("n=%d: err = %v, want context.Canceled", n, err)
			}
			if s := siblings(t, out); len(s) != 0 {
				t.Fatalf("n=%d: cancelled Write left %q", n, s)
			}
		}
	})
	t.Run("stale temp dir", func(t *testing.T) {
		out := outDir(t)
		// A run killed by SIGKILL leaves its temp dir; pid 0x7fffffff does not run.
		stale := filepath.Join(filepath.Dir(out), ".out"+tmpMarker+"2147483646-123")
		os.MkdirAll(filepath.Join(stale, "variables"), 0o755)
		if err := m.Write(ctx, out, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		if s := siblings(t, out); !slices.Equal(s, []string{"out"}) {
			t.Errorf("left next to the output: %q", s)
		}
	})
	if after := treeHashes(t, src); !maps.Equal(before, after) {
		t.Errorf("input directory changed")
	}
}

// countdownCtx reports cancellation after Err has been called left times.
type countdownCtx struct {
	context.Context
	left int
}

func (c *countdownCtx) Err() error {
	if c.left--; c.left < 0 {
		return context.Canceled
	}
	return nil
}

func TestWriteDeterministic(t *testing.T) {
	dir := tfModel(t, "OptimizerSlotVariableModule")
	for _, opts := range []WriteOptions{{}, {Format: FormatText}, {Fingerprint: FingerprintAlways}} {
		for _, rebuild := range []bool{false, true} {
			var trees []map[string]string
			for range 2 {
				m := mustRead(t, dir)
				if rebuild {
					forcePlan(t, m)
				}
				out := outDir(t)
				if err := m.Write(context.Background(), out, opts); err != nil {
					t.Fatal(err)
				}
				trees = append(trees, treeHashes(t, out))
			}
			if !maps.Equal(trees[0], trees[1]) {
				t.Errorf("opts %+v rebuild %v: two writes differ:\n%v\n%v", opts, rebuild, trees[0], trees[1])
			}
		}
	}
}

func TestWriteText(t *testing.T) {
	dir := tfModel(t, "half_plus_two_pbtxt/00000123")
	m := mustRead(t, dir)
	out := outDir(t)
	if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := checkWritten(t, m, dir, out)
	if got.Format != FormatText {
		t.Errorf("text input written as %v", got.Format)
	}
	out2 := outDir(t)
	if err := got.Write(context.Background(), out2, WriteOptions{Format: FormatBinary, Fingerprint: FingerprintAlways}); err != nil {
		t.Fatal(err)
	}
	bin := checkWritten(t, m, dir, out2)
	if bin.Format != FormatBinary || bin.Fingerprint == nil {
		t.Errorf("binary output: format %v, fingerprint %v", bin.Format, bin.Fingerprint)
	}
}

// The fingerprint written for TF's VarsAndArithmeticObjectGraph carries the
// values TF's own test expects (its shipped fingerprint.pb is stale).
func TestWriteFingerprintMatchesTensorFlow(t *testing.T) {
	m := mustRead(t, tfModel(t, "VarsAndArithmeticObjectGraph"))
	out := outDir(t)
	if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	fp := mustRead(t, out).Fingerprint
	if fp.GetGraphDefProgramHash() != 10127142238652115842 || fp.GetSignatureDefHash() != 15570736222402453744 ||
		fp.GetSavedObjectGraphHash() != 3678101440349108924 {
		t.Errorf("fingerprint %v", fp)
	}
	if strings.Contains(fp.String(), "706963557435316516") {
		t.Errorf("stale fingerprint copied")
	}
}

func TestWriteHardLink(t *testing.T) {
	src := copyTree(t, tfModel(t, "VarsAndArithmeticObjectGraph"))
	m := mustRead(t, src)
	out := outDir(t)
	if err := m.Write(context.Background(), out, WriteOptions{HardLink: true}); err != nil {
		t.Fatal(err)
	}
	checkWritten(t, m, src, out)
	a, _ := os.Stat(filepath.Join(src, m.InputCheckpoint.DataFile(0)))
	b, _ := os.Stat(filepath.Join(out, m.InputCheckpoint.DataFile(0)))
	if !os.SameFile(a, b) {
		t.Errorf("data file not hard-linked")
	}
}

func TestFailedEditsLeavePlanUnchanged(t *testing.T) {
	m := mustRead(t, tfModel(t, "VarsAndArithmeticObjectGraph"))
	keys := m.OutputKeys()
	if err := m.DeleteVariable("nope"); !errors.Is(err, ErrNoVariable) {
		t.Errorf("err = %v", err)
	}
	if err := m.RenameVariable("nope", "x"); !errors.Is(err, ErrNoVariable) {
		t.Errorf("err = %v", err)
	}
	if err := m.RenameVariable(keys[0], keys[1]); !errors.Is(err, ErrVariableExists) {
		t.Errorf("err = %v", err)
	}
	if err := m.SetVariable("", &tfpb.BundleEntryProto{}, nil); err == nil {
		t.Errorf("SetVariable of the header key succeeded")
	}
	if m.OutputChanged() {
		t.Errorf("failed edits marked the checkpoint changed")
	}
}
