package savedmodel

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

func TestReadCorruptCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
		substr string
	}{
		{"truncated index", func(dir string) error {
			return os.Truncate(filepath.Join(dir, "variables/variables.index"), 20)
		}, "variables/variables.index"},
		{"missing data shard", func(dir string) error {
			return os.Remove(filepath.Join(dir, "variables/variables.data-00000-of-00001"))
		}, "variables.data-00000-of-00001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, tfModel(t, "VarsAndArithmeticObjectGraph"))
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			m, err := Read(context.Background(), dir, ReadOptions{})
			if err == nil {
				m.Close()
				t.Fatal("Read succeeded")
			}
			if !strings.HasPrefix(err.Error(), "savedmodel: ") || !strings.Contains(err.Error(), tc.substr) {
				t.Errorf("err = %v, want savedmodel error naming %s", err, tc.substr)
			}
			if tc.name == "truncated index" && !errors.Is(err, bundle.ErrCorrupt) {
				t.Errorf("err = %v, want bundle.ErrCorrupt", err)
			}
		})
	}
}

// A bit flip in tensor data is not seen by Read (which reads only the
// index), but a rebuilt checkpoint verifies checksums, fails, and leaves
// nothing behind (a copied one too: TestWriteVerifiesCopiedShards).
func TestWriteDetectsCorruptData(t *testing.T) {
	dir := flippedDataModel(t)
	m := mustRead(t, dir)
	forcePlan(t, m)
	out := outDir(t)
	err := m.Write(context.Background(), out, WriteOptions{})
	if !errors.Is(err, bundle.ErrCorrupt) {
		t.Fatalf("err = %v, want bundle.ErrCorrupt", err)
	}
	if s := siblings(t, out); len(s) != 0 {
		t.Errorf("failed Write left %q", s)
	}
}

func TestFingerprintNotComputable(t *testing.T) {
	m := mustRead(t, tfModel(t, "VarsAndArithmeticObjectGraph"))
	cf := m.Proto.GetMetaGraphs()[0].GetObjectGraphDef().GetConcreteFunctions()
	for name, f := range cf {
		cf[name+"_x"] = f // TF's save would fail on this name
		break
	}
	out := outDir(t)
	if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, FingerprintFile)); !os.IsNotExist(err) {
		t.Errorf("fingerprint.pb written although it cannot be computed: %v", err)
	}
	if err := m.Write(context.Background(), outDir(t), WriteOptions{Fingerprint: FingerprintAlways}); err == nil {
		t.Errorf("FingerprintAlways: Write succeeded")
	}
}

// Read from an in-memory copy (ReadOptions.FS) reads the same model as Read, and a model
// read from an fs.FS writes out the same directory.
func TestReadFSMatchesRead(t *testing.T) {
	dir := tfModel(t, "half_plus_two_v2/00000123")
	mfs := fstest.MapFS{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		r, _ := filepath.Rel(dir, p)
		mfs[filepath.ToSlash(r)] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a := mustRead(t, dir)
	b, err := Read(context.Background(), ".", ReadOptions{FS: mfs})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !proto.Equal(a.Proto, b.Proto) || len(a.Assets) != len(b.Assets) || !slices.Equal(a.OutputKeys(), b.OutputKeys()) {
		t.Fatalf("reading from an fs.FS and from the OS disagree")
	}
	outA, outB := outDir(t), outDir(t)
	if err := a.Write(context.Background(), outA, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(context.Background(), outB, WriteOptions{HardLink: true}); err != nil {
		t.Fatal(err)
	}
	ha, hb := treeHashes(t, outA), treeHashes(t, outB)
	for k, v := range ha {
		if hb[k] != v {
			t.Errorf("%s differs between the OS and fs.FS reads' outputs", k)
		}
	}
	var sm tfpb.SavedModel
	raw, _ := os.ReadFile(filepath.Join(outB, SavedModelPB))
	if err := proto.Unmarshal(raw, &sm); err != nil || !proto.Equal(&sm, a.Proto) {
		t.Errorf("saved_model.pb written from an fs.FS read does not parse equal: %v", err)
	}
}
