package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/savedmodel"
)

// TestVerifyCorruptData is issue 16's report: 4 bytes of a rewritten
// model's data shard overwritten (TensorFlow then fails the restore:
// "Checksum does not match"). verify, also with --verify-fingerprint, is
// exit 3 naming the data file and the variable; --skip-checksums reads
// only the index and passes; rewrite of the damaged model says that its
// input is corrupt, not that it cannot write the output.
func TestVerifyCorruptData(t *testing.T) {
	tmp := t.TempDir()
	model := filepath.Join(tmp, "model")
	if r := cli(t, "rewrite", "--quiet", fixture("plain"), model); r.code != exitOK {
		t.Fatalf("rewrite: exit %d\n%s", r.code, r.stderr)
	}
	overwriteLargestEntry(t, model)
	tests := []struct {
		name string
		code int
		args []string
	}{
		{"verify-corrupt-data.stderr", exitIO, []string{"verify", model}},
		{"verify-corrupt-data.stderr", exitIO, []string{"verify", "--verify-fingerprint", model}},
		{"", exitOK, []string{"verify", "--skip-checksums", model}},
		{"rewrite-corrupt-data.stderr", exitIO, []string{"rewrite", model, filepath.Join(tmp, "out")}},
	}
	for _, tt := range tests {
		r := cli(t, tt.args...)
		if r.code != tt.code {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tt.args, r.code, tt.code, r.stdout, r.stderr)
		}
		if tt.name != "" {
			golden(t, tt.name, strings.ReplaceAll(r.stderr, tmp, "$TMP"))
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "out")); !os.IsNotExist(err) {
		t.Errorf("rewrite of a corrupt input wrote its output: %v", err)
	}
}

// overwriteLargestEntry overwrites 4 bytes in the middle of the largest
// variable of the model in dir (not the object graph, which TensorFlow's
// loader reads first).
func overwriteLargestEntry(t *testing.T, dir string) {
	t.Helper()
	m, err := savedmodel.Read(context.Background(), dir, savedmodel.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var key string
	var size int64
	for _, k := range m.InputCheckpoint.Keys() {
		if e, _ := m.InputCheckpoint.Entry(k); e.GetSize() > size && k != savedmodel.ObjectGraphKey {
			key, size = k, e.GetSize()
		}
	}
	e, _ := m.InputCheckpoint.Entry(key)
	f, err := os.OpenFile(filepath.Join(dir, m.InputCheckpoint.DataFile(int(e.GetShardId()))), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef}, e.GetOffset()+size/2-2); err != nil {
		t.Fatal(err)
	}
}
