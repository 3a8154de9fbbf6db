package table

import (
	"bytes"
	"os"
	"testing"

	"github.com/unmirror/unmirror/internal/tftree"
)

// FuzzReader feeds arbitrary bytes to the reader, seeded with TensorFlow's
// index files. It must never panic; any error must be a *CorruptError.
func FuzzReader(f *testing.F) {
	for _, p := range tftree.IndexFiles(f) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), int64(len(data)), "fuzz.index")
		if err != nil {
			return
		}
		n := 0
		for k := range r.All() {
			if _, _, err := r.Get(k); err != nil {
				t.Fatalf("Get(%q) failed after All yielded it: %v", k, err)
			}
			n++
		}
		if r.Err() != nil {
			return
		}
		// A table that reads cleanly must rewrite and read back the same.
		var entries []kv
		for k, v := range r.All() {
			entries = append(entries, kv{k, v})
		}
		again, _ := readAll(t, write(t, entries, Options{}), "again")
		if len(again) != n {
			t.Fatalf("rewrite holds %d entries, want %d", len(again), n)
		}
	})
}
