package savedmodel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	tslpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_slice_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/proto"
)

// Variable describes one entry of the planned output checkpoint.
type Variable struct {
	Key   string
	DType typespb.DataType
	// Shape is the tensor's shape (dimension sizes); nil for a scalar.
	Shape []int64
	// Shard is the data shard holding the bytes, Size their stored size,
	// both as in the input for copied entries; Size is -1 for an entry
	// supplied through SetVariable (known only when written).
	Shard int
	Size  int64
	// Slices is non-empty for the full-key entry of a tensor saved in
	// slices; each slice is stored under its own key.
	Slices []*tslpb.TensorSliceProto
}


// ListVariables lists the entries of the planned output checkpoint (the
// input's until edited), sorted by key. The object graph entry
// (ObjectGraphKey) is included like any other.
func (m *Model) ListVariables() []Variable {
	keys := m.CheckpointKeys()
	out := make([]Variable, 0, len(keys))
	for _, k := range keys {
		e, _ := m.CheckpointEntry(k)
		v := Variable{Key: k, DType: e.GetDtype(), Shard: int(e.GetShardId()), Size: e.GetSize(), Slices: e.GetSlices()}
		if p, _ := m.lookup(k); p.entry != nil {
			v.Shard, v.Size = 0, -1
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

// CheckpointObjectGraph reads and decodes the planned checkpoint's
// TrackableObjectGraph (the DT_STRING scalar ObjectGraphKey). It returns
// nil, nil when the checkpoint has no such entry (TF1 checkpoints).
func (m *Model) CheckpointObjectGraph() (*tfpb.TrackableObjectGraph, error) {
	e, ok := m.CheckpointEntry(ObjectGraphKey)
	if !ok {
		return nil, nil
	}
	file := VariablesPrefix + ".index"
	if e.GetDtype() != typespb.DataType_DT_STRING || len(e.GetShape().GetDim()) != 0 {
		return nil, &FormatError{File: file, Key: ObjectGraphKey, Offset: -1, Reason: "object graph entry is not a DT_STRING scalar"}
	}
	rc, err := m.OpenCheckpointEntry(ObjectGraphKey)
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func maskCRC(c uint32) uint32 { return ((c >> 15) | (c << 17)) + 0xa282ead8 }

// encodeStringScalar lays out one string as TensorBundle stores a DT_STRING
// tensor: varint64 length, fixed32 masked CRC-32C of the length (as a
// little-endian uint32, or uint64 past 4 GiB), then the bytes.
func encodeStringScalar(s []byte) []byte {
	b := binary.AppendUvarint(nil, uint64(len(s)))
	b = binary.LittleEndian.AppendUint32(b, maskCRC(lengthCRC(uint64(len(s)))))
	return append(b, s...)
}

func lengthCRC(n uint64) uint32 {
	var lb [8]byte
	if n > 0xffffffff {
		binary.LittleEndian.PutUint64(lb[:], n)
		return crc32.Checksum(lb[:8], castagnoli)
	}
	binary.LittleEndian.PutUint32(lb[:], uint32(n))
	return crc32.Checksum(lb[:4], castagnoli)
}

// decodeStringScalar is the inverse of encodeStringScalar; it checks the
// length checksum and that nothing follows the string.
func decodeStringScalar(b []byte) ([]byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errors.New("bad length varint")
	}
	b = b[k:]
	if len(b) < 4 {
		return nil, errors.New("truncated length checksum")
	}
	if got, want := binary.LittleEndian.Uint32(b), maskCRC(lengthCRC(n)); got != want {
		return nil, fmt.Errorf("length checksum %08x, want %08x", got, want)
	}
	b = b[4:]
	if uint64(len(b)) != n {
		return nil, fmt.Errorf("string length %d, but %d bytes stored", n, len(b))
	}
	return b, nil
}
