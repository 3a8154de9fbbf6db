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

// overwriteData overwrites 4 bytes in the middle of key's stored bytes in a
// copy of the model dir (TensorFlow's BundleReader then fails the restore:
// "Checksum does not match", tensor_bundle.cc) and returns the copy.
func overwriteData(t *testing.T, dir, key string) string {
	t.Helper()
	dir = copyTree(t, dir)
	m := mustRead(t, dir)
	e, ok := m.InputCheckpoint.Entry(key)
	if !ok || e.GetSize() < 8 {
		t.Fatalf("%s: no entry %q of 8 bytes or more", dir, key)
	}
	data := filepath.Join(dir, filepath.FromSlash(m.InputCheckpoint.DataFile(int(e.GetShardId()))))
	m.Close()
	f, err := os.OpenFile(data, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, e.GetOffset()+e.GetSize()/2-2); err != nil {
		t.Fatal(err)
	}
	return dir
}

// VerifyChecksums finds 4 overwritten bytes of tensor data, which Read
// (index only) does not, naming the data file and the key, in every shard
// of a model with several; an undamaged model verifies.
func TestVerifyChecksums(t *testing.T) {
	for _, fixture := range []string{"plain", "keras_ps_strategy"} {
		dir := filepath.Join("..", "testdata", "models", fixture)
		m := mustRead(t, dir)
		if err := m.VerifyChecksums(context.Background()); err != nil {
			t.Fatalf("%s: intact model: %v", fixture, err)
		}
		var keys []string
		for _, k := range m.InputCheckpoint.Keys() {
			if e, _ := m.InputCheckpoint.Entry(k); e.GetSize() >= 8 && len(e.GetSlices()) == 0 {
				keys = append(keys, k)
			}
		}
		m.Close()
		for _, key := range keys {
			t.Run(fixture+"/"+key, func(t *testing.T) {
				bad := overwriteData(t, dir, key)
				m := mustRead(t, bad)
				err := m.VerifyChecksums(context.Background())
				var ce *bundle.ChecksumError
				if !errors.Is(err, ErrCorruptInput) || !errors.Is(err, bundle.ErrCorrupt) || !errors.As(err, &ce) {
					t.Fatalf("err = %v, want ErrCorruptInput holding a *bundle.ChecksumError", err)
				}
				if ce.Key != key || !strings.Contains(err.Error(), ce.File) || !strings.Contains(err.Error(), "checksum mismatch") {
					t.Errorf("err = %v, want it to name %q and its data file", err, key)
				}
			})
		}
	}
}

// A cancelled context stops VerifyChecksums with the context's error, not
// a corruption report.
func TestVerifyChecksumsCancelled(t *testing.T) {
	m := mustRead(t, filepath.Join("..", "testdata", "models", "plain"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := m.VerifyChecksums(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrCorruptInput) {
		t.Errorf("err = %v, want context.Canceled only", err)
	}
}

// Write of a damaged input says that the input is corrupt (ErrCorruptInput,
// the input's data file and key), whether the checkpoint is copied or
// rebuilt, and not that the output could not be written.
func TestWriteCorruptInputSaysInput(t *testing.T) {
	for _, rebuild := range []bool{false, true} {
		dir := flippedDataModel(t)
		m := mustRead(t, dir)
		if rebuild {
			forcePlan(t, m)
		}
		err := m.Write(context.Background(), outDir(t), WriteOptions{})
		var ce *bundle.ChecksumError
		if !errors.Is(err, ErrCorruptInput) || !errors.As(err, &ce) {
			t.Fatalf("rebuild=%v: err = %v, want ErrCorruptInput with a *bundle.ChecksumError", rebuild, err)
		}
		if want := "savedmodel: " + m.Dir() + ": input checkpoint is corrupt: bundle: "; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("rebuild=%v: err = %v, want prefix %q", rebuild, err, want)
		}
	}
}
