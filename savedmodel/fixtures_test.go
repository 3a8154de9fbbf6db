package savedmodel

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
)

// fixtureModels returns the SavedModel directories under testdata/models
// (written by real TensorFlow 2.18), skipping the test when there are none.
func fixtureModels(t *testing.T) []string {
	root := filepath.Join("..", "testdata", "models")
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (d.Name() == SavedModelPB || d.Name() == SavedModelPBText) {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if len(dirs) == 0 {
		t.Fatal("no fixture models in testdata/models")
	}
	slices.Sort(dirs)
	return slices.Compact(dirs)
}

// Every fixture reads, writes back unchanged (saved_model.pb byte for byte,
// variables byte for byte, also when rebuilt), and its fresh fingerprint.pb
// is reproduced exactly by the recomputation.
func TestFixtures(t *testing.T) {
	for _, dir := range fixtureModels(t) {
		t.Run(filepath.ToSlash(dir), func(t *testing.T) {
			m := mustRead(t, dir)
			for _, rebuild := range []bool{false, true} {
				if rebuild {
					if m.InputCheckpoint == nil {
						continue
					}
					forcePlan(t, m)
				}
				out := outDir(t)
				if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
					t.Fatal(err)
				}
				got := checkWritten(t, m, dir, out)
				if m.InputCheckpoint != nil {
					for i := 0; i < m.InputCheckpoint.NumShards(); i++ {
						sameFile(t, filepath.Join(dir, m.InputCheckpoint.DataFile(i)), filepath.Join(out, m.InputCheckpoint.DataFile(i)))
					}
					if !m.InputCheckpoint.IndexCompressed() {
						sameFile(t, filepath.Join(dir, m.InputCheckpoint.IndexFile()), filepath.Join(out, m.InputCheckpoint.IndexFile()))
					}
				}
				if m.Fingerprint != nil && !proto.Equal(got.Fingerprint, m.Fingerprint) {
					t.Errorf("rebuild=%v: fingerprint\n got  %v\n want %v (TensorFlow's)", rebuild, got.Fingerprint, m.Fingerprint)
				}
				if m.Format == FormatBinary {
					if _, err := os.Stat(filepath.Join(dir, FingerprintFile)); err == nil {
						sameFile(t, filepath.Join(dir, FingerprintFile), filepath.Join(out, FingerprintFile))
					}
				}
			}
			if m.Keras != nil {
				raw, err := os.ReadFile(filepath.Join(dir, KerasMetadataFile))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(m.Keras.Marshal(), raw) {
					t.Errorf("keras_metadata.pb does not re-encode byte for byte")
				}
				nodes := len(m.Proto.GetMetaGraphs()[0].GetObjectGraphDef().GetNodes())
				for _, o := range m.Keras.Nodes {
					if o.NodeID < 0 || int(o.NodeID) >= nodes || o.Identifier == "" {
						t.Errorf("keras object %q: node id %d of %d nodes, identifier %q", o.NodePath, o.NodeID, nodes, o.Identifier)
					}
				}
			}
			if g, err := m.OutputObjectGraph(); err != nil {
				t.Errorf("object graph: %v", err)
			} else if g != nil {
				keys := m.OutputKeys()
				for _, n := range g.GetNodes() {
					for _, a := range n.GetAttributes() {
						if !slices.Contains(keys, a.GetCheckpointKey()) {
							t.Errorf("object graph names %q, not in the checkpoint", a.GetCheckpointKey())
						}
					}
				}
			}
		})
	}
}
