package bundle

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/unmirror/unmirror/internal/tftree"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// tfBundle is one checkpoint from TensorFlow's tree.
type tfBundle struct {
	name   string // short name for messages
	dir    string // OS directory of the index
	prefix string // base name of the prefix
}

func tfBundles(t testing.TB) []tfBundle {
	var out []tfBundle
	for _, idx := range tftree.IndexFiles(t) {
		dir, base := filepath.Split(idx)
		rel := strings.TrimPrefix(idx, tftree.Dir(t)+"/")
		out = append(out, tfBundle{name: rel, dir: dir, prefix: strings.TrimSuffix(base, ".index")})
	}
	return out
}

// TestReadTensorFlowBundles opens every checkpoint in TensorFlow's tree and
// streams every entry, so every checksum is verified.
func TestReadTensorFlowBundles(t *testing.T) {
	var bundles, entries, bytes, strs int
	for _, b := range tfBundles(t) {
		r, err := Open(os.DirFS(b.dir), b.prefix)
		if err != nil {
			t.Errorf("%s: %v", b.name, err)
			continue
		}
		bundles++
		for _, k := range r.Keys() {
			e, _ := r.Entry(k)
			if len(e.GetSlices()) > 0 {
				if _, err := r.OpenEntry(k); err == nil {
					t.Errorf("%s: OpenEntry(%q) of a sliced entry succeeded", b.name, k)
				}
				continue
			}
			rc, err := r.OpenEntry(k)
			if err != nil {
				t.Fatalf("%s: %v", b.name, err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil {
				t.Errorf("%s: %v", b.name, err)
			}
			if n != e.GetSize() {
				t.Errorf("%s: key %q: read %d bytes, entry size %d", b.name, k, n, e.GetSize())
			}
			entries++
			bytes += int(n)
			if e.GetDtype() == types_go_proto.DataType_DT_STRING {
				strs++
			}
		}
		if err := r.Close(); err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d bundles, %d entries (%d DT_STRING), %d bytes verified", bundles, entries, strs, bytes)
	if bundles < 25 || strs == 0 {
		t.Errorf("read %d bundles with %d string entries; want >= 25 and > 0", bundles, strs)
	}
}

func TestOpenEntryNotFound(t *testing.T) {
	b := tfBundles(t)[0]
	r, err := Open(os.DirFS(b.dir), b.prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.OpenEntry("no such key"); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenEntry of a missing key: %v", err)
	}
}

// TestOpenInSavedModel opens bundles the way the savedmodel package does:
// the SavedModel directory as the fs.FS and "variables/variables" as prefix.
func TestOpenInSavedModel(t *testing.T) {
	opened := 0
	for _, dir := range tftree.SavedModels(t) {
		if _, err := os.Stat(filepath.Join(dir, "variables", "variables.index")); err != nil {
			continue
		}
		r, err := Open(os.DirFS(dir), "variables/variables")
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if r.IndexFile() != "variables/variables.index" || !strings.HasPrefix(r.DataFile(0), "variables/variables.data-00000-of-") {
			t.Errorf("IndexFile %q, DataFile(0) %q", r.IndexFile(), r.DataFile(0))
		}
		opened++
		r.Close()
	}
	if opened < 10 {
		t.Errorf("opened %d SavedModel bundles, want at least 10", opened)
	}
}
