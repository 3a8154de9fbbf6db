// Package fingerprint computes the fingerprint.pb of a SavedModel exactly as
// TensorFlow 2.18 does (tensorflow/cc/saved_model/fingerprinting.cc).
//
// # The FingerprintDef
//
// fingerprint.pb is a serialized tensorflow.FingerprintDef:
//
//	1 saved_model_checksum     uint64  Fingerprint64(deterministic serialization of the SavedModel)
//	2 graph_def_program_hash   uint64  hash of meta_graphs[0].graph_def after regularization
//	3 signature_def_hash       uint64  hash of meta_graphs[0].signature_def
//	4 saved_object_graph_hash  uint64  hash of meta_graphs[0].object_graph_def.concrete_functions
//	5 checkpoint_hash          uint64  Fingerprint64(bytes of variables/variables.index), 0 if absent
//	6 version                  VersionDef{producer: 1}
//
// Fingerprint64 is FarmHash's Fingerprint64 (farmhashna's Hash64, as in
// github.com/dgryski/go-farm). Hashes are combined with [Cat64].
//
// "Deterministic serialization" is C++ protobuf's: fields in field-number
// order, maps sorted by key. protobuf-go differs (it writes oneof fields
// last), so this package hashes the bytes of [cppproto.Marshal], which
// reproduces TensorFlow's saved_model.pb bytes exactly.
//
// Regularization of the GraphDef (field 2): in main-graph nodes whose op is
// PartitionedCall or StatefulPartitionedCall, the integer suffix is removed
// from attr "f".func.name (the last "_"-separated token, when it parses as an
// int64) and attr "config_proto".s is set to the empty string (the attr is
// kept); in Const nodes with attr dtype DT_STRING, attr "value" is cleared to
// an empty AttrValue. Then library and versions are replaced by empty (but
// present) messages, and the result is serialized and hashed.
//
// Signature hash (field 3): h = 0; for each signature in key order,
// h = Cat64(h, FP64(key)); h = Cat64(h, FP64(serialize(SignatureDef))).
//
// Object-graph hash (field 4): each concrete function name must end in
// "_<int64>" (the UID), else the fingerprint cannot be computed (TensorFlow
// fails the save). In ascending UID order, h = Cat64(h, FP64(name without
// the UID digits)); h = Cat64(h, FP64(serialize(SavedConcreteFunction))).
// When two names share a UID TensorFlow hashes one of them, chosen by C++
// hash-map iteration order; this package hashes the bytewise smallest.
// Nodes are not hashed (TensorFlow leaves that as a TODO).
//
// Nothing in TensorFlow validates a fingerprint against the model; loaders
// use it only for metrics, and Python's is_tf2_saved_model reads
// saved_object_graph_hash != 0 as "TF2". A rewritten model must therefore
// carry a recomputed fingerprint or none, never a stale one.
package fingerprint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	farm "github.com/dgryski/go-farm"
	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	funcpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	versionspb "github.com/wamuir/graft/tensorflow/core/framework/versions_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/cppproto"
)

// Producer is the FingerprintDef.version.producer TensorFlow 2.18 writes.
const Producer = 1

// Hash64 is TensorFlow's Fingerprint64 (FarmHash Fingerprint64).
func Hash64(b []byte) uint64 { return farm.Fingerprint64(b) }

// Cat64 is TensorFlow's FingerprintCat64, which combines two fingerprints.
func Cat64(a, b uint64) uint64 {
	const mul = 0xc6a4a7935bd1e995
	shiftMix := func(v uint64) uint64 { return v ^ (v >> 47) }
	r := a ^ mul
	r ^= shiftMix(b*mul) * mul
	r *= mul
	r = shiftMix(r) * mul
	return shiftMix(r)
}

// Compute returns the FingerprintDef TensorFlow would write for a directory
// whose saved_model.pb is the serialization of sm and whose
// variables/variables.index holds index (nil when the model has no
// variables, which gives checkpoint_hash 0).
//
// sm is not modified. Compute fails only when sm has no MetaGraphDef or a
// concrete function name does not end in an integer, the cases where
// TensorFlow fails too.
func Compute(sm *tfpb.SavedModel, index []byte) (*tfpb.FingerprintDef, error) {
	return ComputeWithChecksum(sm, Hash64(cppproto.Marshal(sm)), index)
}

// ComputeWithChecksum is Compute for a caller that already serialized sm
// with [cppproto.Marshal] and hashed it: checksum is Hash64 of those bytes.
func ComputeWithChecksum(sm *tfpb.SavedModel, checksum uint64, index []byte) (*tfpb.FingerprintDef, error) {
	if len(sm.GetMetaGraphs()) == 0 {
		return nil, fmt.Errorf("fingerprint: SavedModel has no MetaGraphDef")
	}
	mg := sm.GetMetaGraphs()[0]
	obj, err := SavedObjectGraphHash(mg.GetObjectGraphDef())
	if err != nil {
		return nil, err
	}
	fp := &tfpb.FingerprintDef{
		SavedModelChecksum:   checksum,
		GraphDefProgramHash:  GraphDefProgramHash(mg.GetGraphDef()),
		SignatureDefHash:     SignatureDefHash(mg.GetSignatureDef()),
		SavedObjectGraphHash: obj,
		Version:              &versionspb.VersionDef{Producer: Producer},
	}
	if index != nil {
		fp.CheckpointHash = Hash64(index)
	}
	return fp, nil
}

// GraphDefProgramHash returns field 2: the hash of gd after TensorFlow's
// regularization (see the package doc). gd is not modified.
func GraphDefProgramHash(gd *graphpb.GraphDef) uint64 {
	reg := &graphpb.GraphDef{
		Node:      make([]*nodepb.NodeDef, len(gd.GetNode())),
		Versions:  &versionspb.VersionDef{},
		Version:   gd.GetVersion(),
		Library:   &funcpb.FunctionDefLibrary{},
		DebugInfo: gd.GetDebugInfo(),
	}
	if gd != nil {
		reg.ProtoReflect().SetUnknown(gd.ProtoReflect().GetUnknown())
	}
	for i, n := range gd.GetNode() {
		reg.Node[i] = regularizeNode(n)
	}
	return Hash64(cppproto.Marshal(reg))
}

// regularizeNode returns n, or a regularized copy of n when regularization
// changes it.
func regularizeNode(n *nodepb.NodeDef) *nodepb.NodeDef {
	switch n.GetOp() {
	case "PartitionedCall", "StatefulPartitionedCall":
		f, ok := n.GetAttr()["f"]
		if !ok {
			return n
		}
		c := proto.Clone(n).(*nodepb.NodeDef)
		if name := f.GetFunc().GetName(); name != "" {
			if uid, err := SuffixUID(name); err == nil {
				c.Attr["f"].GetFunc().Name = strings.TrimSuffix(name, strconv.FormatInt(uid, 10))
			}
		}
		if _, ok := c.Attr["config_proto"]; ok {
			c.Attr["config_proto"].Value = &attrpb.AttrValue_S{S: []byte{}}
		}
		return c
	case "Const":
		dt, ok := n.GetAttr()["dtype"]
		if !ok || dt.GetType() != typespb.DataType_DT_STRING {
			return n
		}
		if _, ok := n.GetAttr()["value"]; !ok {
			return n
		}
		c := proto.Clone(n).(*nodepb.NodeDef)
		c.Attr["value"] = &attrpb.AttrValue{}
		return c
	}
	return n
}

// SignatureDefHash returns field 3 (see the package doc).
func SignatureDefHash(sigs map[string]*tfpb.SignatureDef) uint64 {
	keys := make([]string, 0, len(sigs))
	for k := range sigs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var h uint64
	for _, k := range keys {
		h = Cat64(h, Hash64([]byte(k)))
		h = Cat64(h, Hash64(cppproto.Marshal(sigs[k])))
	}
	return h
}

// SavedObjectGraphHash returns field 4 (see the package doc). It fails like
// TensorFlow when a concrete function name does not end in an integer.
func SavedObjectGraphHash(og *tfpb.SavedObjectGraph) (uint64, error) {
	type fn struct {
		uid  int64
		name string
	}
	fns := make([]fn, 0, len(og.GetConcreteFunctions()))
	for name := range og.GetConcreteFunctions() {
		uid, err := SuffixUID(name)
		if err != nil {
			return 0, err
		}
		fns = append(fns, fn{uid, name})
	}
	slices.SortFunc(fns, func(a, b fn) int {
		if a.uid != b.uid {
			if a.uid < b.uid {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	var h uint64
	for i, f := range fns {
		if i > 0 && fns[i-1].uid == f.uid {
			continue
		}
		h = Cat64(h, Hash64([]byte(strings.TrimSuffix(f.name, strconv.FormatInt(f.uid, 10)))))
		h = Cat64(h, Hash64(cppproto.Marshal(og.GetConcreteFunctions()[f.name])))
	}
	return h, nil
}

// SuffixUID returns the integer after the last "_" of a function name
// ("__inference_f_123" gives 123), as TensorFlow's GetSuffixUID does: the
// last "_"-separated token (the whole name when it has no "_"), parsed as a
// signed 64-bit decimal, ignoring surrounding ASCII white space.
func SuffixUID(name string) (int64, error) {
	tok := name[strings.LastIndexByte(name, '_')+1:]
	uid, err := strconv.ParseInt(strings.Trim(tok, " \t\n\v\f\r"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("fingerprint: function name %q does not end in an integer", name)
	}
	return uid, nil
}
