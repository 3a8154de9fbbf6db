package savedmodel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// A Write that copies the checkpoint unchanged verifies every checksum on
// the way: a bit flip in tensor data fails the Write with a
// *bundle.ChecksumError naming the shard and the key, leaves no output and
// no temporary directory, and does not touch the input. This holds for
// copies and for hard links (which are verified by reading).
func TestWriteVerifiesCopiedShards(t *testing.T) {
	for _, link := range []bool{false, true} {
		t.Run(map[bool]string{false: "copy", true: "hardlink"}[link], func(t *testing.T) {
			dir := flippedDataModel(t)
			before := treeHashes(t, dir)
			m := mustRead(t, dir)
			if m.OutputChanged() {
				t.Fatal("plan changed without edits")
			}
			out := outDir(t)
			err := m.Write(context.Background(), out, WriteOptions{HardLink: link})
			var ce *bundle.ChecksumError
			if !errors.As(err, &ce) || !errors.Is(err, bundle.ErrCorrupt) {
				t.Fatalf("err = %v, want a *bundle.ChecksumError", err)
			}
			if ce.Key == "" || !strings.Contains(err.Error(), "variables.data-00000-of-00001") || !strings.Contains(err.Error(), ce.Key) {
				t.Errorf("err = %v, want the shard file and key named", err)
			}
			if s := siblings(t, out); len(s) != 0 {
				t.Errorf("failed Write left %q", s)
			}
			after := treeHashes(t, dir)
			for p, h := range before {
				if after[p] != h {
					t.Errorf("input %s changed", p)
				}
			}
		})
	}
}

// flippedDataModel copies a TensorFlow test model and flips one bit in the
// last byte of its data shard.
func flippedDataModel(t *testing.T) string {
	t.Helper()
	dir := copyTree(t, tfModel(t, "VarsAndArithmeticObjectGraph"))
	data := filepath.Join(dir, "variables/variables.data-00000-of-00001")
	b, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(data, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
