package savedmodel

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// bert2 is the largest SavedModel in TF's tree (1.66 MB saved_model.pb).
func BenchmarkReadBert(b *testing.B) {
	dir := tfModel(b, "bert2")
	fi, err := os.Stat(filepath.Join(dir, SavedModelPB))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		m, err := Read(dir)
		if err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

func BenchmarkWriteNoOpBert(b *testing.B) {
	m := mustRead(b, tfModel(b, "bert2"))
	out := filepath.Join(b.TempDir(), "out")
	for b.Loop() {
		if err := m.Write(context.Background(), out, WriteOptions{Overwrite: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// A model with variables, rebuilding the checkpoint through bundle.Writer.
func BenchmarkWriteRebuildCheckpoint(b *testing.B) {
	m := mustRead(b, tfModel(b, "CyclicModule"))
	keys := m.CheckpointKeys()
	m.RenameVariable(keys[0], keys[0]+"~")
	m.RenameVariable(keys[0]+"~", keys[0])
	root := b.TempDir()
	for b.Loop() {
		if err := m.Write(context.Background(), filepath.Join(root, "out"), WriteOptions{Overwrite: true}); err != nil {
			b.Fatal(err)
		}
	}
}
