package bundle

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// A 0-byte DT_STRING entry is read as empty strings, one per element of its
// shape; a shape claiming 2^40 elements must be refused, not allocated.
func TestReadStringsHugeEmptyEntry(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir, "variables", WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_STRING, Shape: shape(1<<20, 1<<20)}
	if err := w.Add("huge", e, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	e = &tfpb.BundleEntryProto{Dtype: types_go_proto.DataType_DT_STRING, Shape: shape(3)}
	if err := w.Add("small", e, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(os.DirFS(dir), "variables")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.ReadStrings("huge")
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.Key != "huge" {
		t.Fatalf("ReadStrings(huge) = %v, want a *CorruptError naming the key", err)
	}
	if s, err := r.ReadStrings("small"); err != nil || len(s) != 3 {
		t.Errorf("ReadStrings(small) = %d strings, %v; want 3 empty strings", len(s), err)
	}
}
