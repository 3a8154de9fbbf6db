package rewrite

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/savedmodel"
	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// fuzzFixtures loads every model of testdata/models into memory, without its
// SavedModel proto file: the fuzzer supplies that.
func fuzzFixtures(f *testing.F) (fsyss []fstest.MapFS, protos [][]byte, text []bool) {
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "models", "*", "saved_model.pb*"))
	for _, p := range dirs {
		dir := filepath.Dir(p)
		m := fstest.MapFS{}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if rel == savedmodel.SavedModelPB || rel == savedmodel.SavedModelPBText {
				protos, text = append(protos, b), append(text, rel == savedmodel.SavedModelPBText)
				return nil
			}
			m[rel] = &fstest.MapFile{Data: b, Mode: 0o644}
			return nil
		})
		if err != nil {
			f.Fatal(err)
		}
		fsyss = append(fsyss, m)
	}
	if len(fsyss) == 0 {
		f.Fatal("no fixtures in testdata/models")
	}
	return fsyss, protos, text
}

// FuzzPipeline reads a SavedModel whose proto file is the fuzz input and
// whose other files (checkpoint, assets, keras metadata, fingerprint) are
// those of one fixture of testdata/models, seeded with every fixture's own
// proto. When Read succeeds, the default pipeline runs; when it succeeds
// without findings, the model is written to a temporary directory and read
// back. Nothing may panic, a Write after a clean run may only fail on a
// damaged checkpoint, and what Write produced must read back.
func FuzzPipeline(f *testing.F) {
	fsyss, protos, text := fuzzFixtures(f)
	for i := range protos {
		f.Add(protos[i], text[i], uint8(i), false, false)
	}
	f.Add(protos[0], text[0], uint8(len(protos)-1), true, true)
	f.Fuzz(func(t *testing.T, pb []byte, isText bool, fixture uint8, gpu, dropOptimizer bool) {
		fsys := fstest.MapFS{}
		for name, file := range fsyss[int(fixture)%len(fsyss)] {
			fsys[name] = file
		}
		name := savedmodel.SavedModelPB
		if isText {
			name = savedmodel.SavedModelPBText
		}
		fsys[name] = &fstest.MapFile{Data: pb, Mode: 0o644}
		m, err := savedmodel.Read(context.Background(), ".", savedmodel.ReadOptions{FS: fsys})
		if err != nil {
			return
		}
		defer m.Close()
		opts := Options{DropOptimizer: dropOptimizer}
		if gpu {
			opts.Target = device.GPU
		}
		rep, err := Default().Run(context.Background(), m, opts)
		if err != nil || len(rep.Findings()) > 0 {
			return
		}
		out := filepath.Join(t.TempDir(), "out")
		if err := m.Write(context.Background(), out, savedmodel.WriteOptions{}); err != nil {
			if errors.Is(err, bundle.ErrCorrupt) {
				return
			}
			t.Fatalf("Write after a clean pipeline run: %v", err)
		}
		t.Log("wrote and read back")
		back, err := savedmodel.Read(context.Background(), out, savedmodel.ReadOptions{})
		if err != nil {
			t.Fatalf("the written model does not read back: %v", err)
		}
		defer back.Close()
		if got, want := len(back.Proto.GetMetaGraphs()), len(m.Proto.GetMetaGraphs()); got != want {
			t.Fatalf("read back %d MetaGraphDefs, wrote %d", got, want)
		}
	})
}
