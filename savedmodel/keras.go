package savedmodel

import (
	"errors"

	"google.golang.org/protobuf/encoding/protowire"
)

// KerasMetadataFile is the name of the legacy Keras metadata file that
// model.save(save_format="tf") writes next to saved_model.pb.
const KerasMetadataFile = "keras_metadata.pb"

// KerasMetadata is keras_metadata.pb, a serialized SavedMetadata from
// tensorflow/python/keras/protobuf/saved_metadata.proto:
//
//	message SavedMetadata { repeated SavedObject nodes = 1; }
//	message SavedObject {
//	  reserved 1;
//	  int32 node_id = 2;        // index into SavedObjectGraph.nodes
//	  string node_path = 3;     // "root.layer-1.kernel"
//	  string identifier = 4;    // "_tf_keras_layer", "_tf_keras_model", ...
//	  string metadata = 5;      // JSON
//	  VersionDef version = 6;   // Keras's own VersionDef
//	}
//
// A rewrite that renumbers SavedObjectGraph nodes must remap NodeID, or
// Keras binds layers to the wrong objects. Fields this type does not name
// are kept in Unknown and re-encoded after the known ones, so a file
// written in field-number order (as protobuf writes) round-trips byte for
// byte.
type KerasMetadata struct {
	Nodes   []KerasObject
	Unknown []byte // unrecognized fields of SavedMetadata, in wire form
}

// KerasObject is one SavedObject of keras_metadata.pb.
type KerasObject struct {
	NodeID     int32
	NodePath   string
	Identifier string
	Metadata   string
	// Version is the serialized Keras VersionDef (field 6), nil if absent.
	Version []byte
	Unknown []byte // unrecognized fields, including reserved field 1
}

var errKerasTruncated = errors.New("truncated or malformed field")

// ParseKerasMetadata decodes keras_metadata.pb. On malformed input it
// returns a *FormatError with the byte offset of the bad field.
func ParseKerasMetadata(b []byte) (*KerasMetadata, error) {
	km := &KerasMetadata{}
	err := eachField(b, 0, func(num protowire.Number, typ protowire.Type, field, val []byte, off int) error {
		if num == 1 && typ == protowire.BytesType {
			obj, err := parseKerasObject(val, off+len(field)-len(val))
			if err != nil {
				return err
			}
			km.Nodes = append(km.Nodes, obj)
			return nil
		}
		km.Unknown = append(km.Unknown, field...)
		return nil
	})
	if err != nil {
		if fe := truncatedErr(KerasMetadataFile, b); fe != nil {
			return nil, fe
		}
		return nil, err
	}
	return km, nil
}

func parseKerasObject(b []byte, base int) (KerasObject, error) {
	var o KerasObject
	err := eachField(b, base, func(num protowire.Number, typ protowire.Type, field, val []byte, off int) error {
		switch {
		case num == 2 && typ == protowire.VarintType:
			v, _ := protowire.ConsumeVarint(val)
			o.NodeID = int32(v)
		case num == 3 && typ == protowire.BytesType:
			o.NodePath = string(val)
		case num == 4 && typ == protowire.BytesType:
			o.Identifier = string(val)
		case num == 5 && typ == protowire.BytesType:
			o.Metadata = string(val)
		case num == 6 && typ == protowire.BytesType:
			o.Version = append([]byte{}, val...)
		default:
			o.Unknown = append(o.Unknown, field...)
		}
		return nil
	})
	return o, err
}

// eachField calls fn for each field of the message b: the whole field
// (tag included), its value (the payload for length-delimited fields, the
// raw value bytes otherwise) and its offset (base + position in b).
func eachField(b []byte, base int, fn func(num protowire.Number, typ protowire.Type, field, val []byte, off int) error) error {
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return formatErr(KerasMetadataFile, int64(base+off), "bad field tag", errKerasTruncated)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return formatErr(KerasMetadataFile, int64(base+off), "bad field value", errKerasTruncated)
		}
		field := b[off : off+n+m]
		val := b[off+n : off+n+m]
		if typ == protowire.BytesType {
			val, _ = protowire.ConsumeBytes(val)
		}
		if err := fn(num, typ, field, val, base+off); err != nil {
			return err
		}
		off += n + m
	}
	return nil
}

// Marshal encodes the metadata in field-number order, unknown fields last.
func (km *KerasMetadata) Marshal() []byte {
	var b []byte
	for i := range km.Nodes {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, km.Nodes[i].marshal())
	}
	return append(b, km.Unknown...)
}

func (o *KerasObject) marshal() []byte {
	var b []byte
	if o.NodeID != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(o.NodeID)))
	}
	for _, f := range []struct {
		num protowire.Number
		s   string
	}{{3, o.NodePath}, {4, o.Identifier}, {5, o.Metadata}} {
		if f.s != "" {
			b = protowire.AppendTag(b, f.num, protowire.BytesType)
			b = protowire.AppendString(b, f.s)
		}
	}
	if o.Version != nil {
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendBytes(b, o.Version)
	}
	return append(b, o.Unknown...)
}
