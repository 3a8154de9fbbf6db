package savedmodel

import (
	"bytes"
	"fmt"
	"io"

	tslpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Variable describes one entry of the planned output checkpoint.
type Variable struct {
	Key   string
	DType typespb.DataType
	// Shape is the tensor's shape (dimension sizes); nil for a scalar.
	Shape []int64
	// Shard is the data shard holding the bytes, Size their stored size,
	// both as in the input for copied entries; Shard is 0 and Size -1 for
	// an entry supplied through SetVariable (known only when written), and
	// Shard 0 and Size the tensor's byte count for one supplied through
	// ConcatVariable.
	Shard int
	Size  int64
	// Slices is non-empty for the full-key entry of a tensor saved in
	// slices; each slice is stored under its own key.
	Slices []*tslpb.TensorSliceProto
}

// OutputVariables lists the entries of the planned output checkpoint (the
// input's until edited), sorted by key. The object graph entry
// (ObjectGraphKey) is included like any other.
func (m *Model) OutputVariables() []Variable {
	keys := m.OutputKeys()
	out := make([]Variable, 0, len(keys))
	for _, k := range keys {
		e, _ := m.OutputEntry(k)
		v := Variable{Key: k, DType: e.GetDtype(), Shard: int(e.GetShardId()), Size: e.GetSize(), Slices: e.GetSlices()}
		if p, _ := m.lookup(k); p.entry != nil {
			v.Shard, v.Size = 0, -1
			if p.concat != nil {
				v.Size, _ = bundle.TensorBytes(e.GetDtype(), e.GetShape()) // checked by ConcatVariable
			}
		}
		for _, d := range e.GetShape().GetDim() {
			v.Shape = append(v.Shape, d.GetSize())
		}
		out = append(out, v)
	}
	return out
}

// maxObjectGraphBytes bounds the object graph read into memory.
const maxObjectGraphBytes = 1 << 30

// OutputObjectGraph reads and decodes the planned checkpoint's
// TrackableObjectGraph (the DT_STRING scalar ObjectGraphKey). It returns
// nil, nil when the checkpoint has no such entry (TF1 checkpoints).
func (m *Model) OutputObjectGraph() (*tfpb.TrackableObjectGraph, error) {
	e, ok := m.OutputEntry(ObjectGraphKey)
	if !ok {
		return nil, nil
	}
	file := VariablesPrefix + ".index"
	if e.GetDtype() != typespb.DataType_DT_STRING || len(e.GetShape().GetDim()) != 0 {
		return nil, &FormatError{File: file, Key: ObjectGraphKey, Offset: -1, Reason: "object graph entry is not a DT_STRING scalar"}
	}
	rc, err := m.OpenOutputEntry(ObjectGraphKey)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: %w", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxObjectGraphBytes+16))
	if err != nil {
		return nil, fmt.Errorf("savedmodel: read %s: %w", ObjectGraphKey, err)
	}
	s, err := decodeStringScalar(b)
	if err != nil {
		return nil, &FormatError{File: file, Key: ObjectGraphKey, Offset: -1, Reason: "bad string tensor", Err: err}
	}
	g := &tfpb.TrackableObjectGraph{}
	if err := proto.Unmarshal(s, g); err != nil {
		return nil, &FormatError{File: file, Key: ObjectGraphKey, Offset: wireErrorOffset(s, g.ProtoReflect().Descriptor()), Reason: "malformed TrackableObjectGraph", Err: err}
	}
	return g, nil
}

// encodeStringScalar lays out one string as TensorBundle stores a
// DT_STRING scalar (see bundle.WriteStrings).
func encodeStringScalar(s []byte) []byte {
	var buf bytes.Buffer
	bundle.WriteStrings(&buf, [][]byte{s}) // writing to a bytes.Buffer cannot fail
	return buf.Bytes()
}

// decodeStringScalar is the inverse of encodeStringScalar; it checks the
// length checksum and that nothing follows the string.
func decodeStringScalar(b []byte) ([]byte, error) {
	r := bytes.NewReader(b)
	strs, err := bundle.ReadStrings(r, 1)
	if err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d bytes after the string", r.Len())
	}
	return strs[0], nil
}
