package bundle

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// FuzzOpen opens a bundle made of fuzzed index bytes and one fuzzed data
// shard, seeded with TensorFlow's single-shard checkpoints, and reads every
// entry. It must never panic, and every failure must be an error.
func FuzzOpen(f *testing.F) {
	for _, b := range tfBundles(f) {
		index, err := os.ReadFile(filepath.Join(b.dir, b.prefix+".index"))
		if err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join(b.dir, DataName(b.prefix, 0, 1)))
		if err != nil || len(data) > 256<<10 {
			continue // multi-shard or large: not a seed
		}
		f.Add(index, data)
	}
	f.Fuzz(func(t *testing.T, index, data []byte) {
		fsys := fstest.MapFS{
			"v/variables.index":               {Data: index},
			"v/variables.data-00000-of-00001": {Data: data},
		}
		r, err := Open(fsys, "v/variables")
		if err != nil {
			return
		}
		defer r.Close()
		for _, k := range r.KeysInDataOrder() {
			e, _ := r.Entry(k)
			if len(e.GetSlices()) > 0 {
				continue
			}
			rc, err := r.OpenEntry(k)
			if err != nil {
				t.Fatalf("OpenEntry(%q) after a clean Open: %v", k, err)
			}
			n, err := io.Copy(io.Discard, rc)
			if err == nil && n != e.GetSize() {
				t.Fatalf("key %q: read %d bytes without error, size %d", k, n, e.GetSize())
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("key %q: untyped error %v", k, err)
			}
			switch dt := e.GetDtype(); {
			case dt == types_go_proto.DataType_DT_STRING:
				r.ReadStrings(k)
			case float64Converter(dt) != nil:
				r.ReadFloat64s(k)
			}
		}
	})
}
