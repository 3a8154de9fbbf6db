package savedmodel

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzRead builds a model directory from fuzz input (a saved_model.pb, or a
// pbtxt, plus a keras_metadata.pb and a fingerprint.pb made of the same
// bytes) and reads it. Read must never panic; on success the model must
// have a MetaGraphDef.
func FuzzRead(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("..", "testdata", "models", "*"))
	for _, dir := range append(readableModels(f), fixtures...) {
		for _, name := range []string{SavedModelPB, SavedModelPBText} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil && len(b) < 16<<10 {
				f.Add(b, name == SavedModelPBText, uint8(0))
			}
		}
	}
	f.Add([]byte{0x0a, 0x02, 0x10, 0x80}, false, uint8(1))
	f.Add([]byte("meta_graphs { asset_file_def { filename: \"../x\" } }"), true, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, text bool, extra uint8) {
		name := SavedModelPB
		if text {
			name = SavedModelPBText
		}
		fsys := fstest.MapFS{name: &fstest.MapFile{Data: data}}
		if extra&1 != 0 {
			fsys[KerasMetadataFile] = &fstest.MapFile{Data: data}
		}
		if extra&2 != 0 {
			fsys[FingerprintFile] = &fstest.MapFile{Data: data}
		}
		if extra&4 != 0 {
			fsys["variables/variables.index"] = &fstest.MapFile{Data: data}
		}
		m, err := Read(context.Background(), ".", ReadOptions{FS: fsys})
		if err != nil {
			return
		}
		defer m.Close()
		if len(m.Proto.GetMetaGraphs()) == 0 {
			t.Fatal("read a model without MetaGraphDef")
		}
		for _, mg := range m.Proto.GetMetaGraphs() {
			Signatures(mg)
		}
		m.OutputVariables()
	})
}
