package cppproto

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	funcpb "github.com/wamuir/graft/tensorflow/core/framework/function_go_proto"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/internal/tftree"
)

// tfModel reads saved_model.pb of one of TensorFlow's own test SavedModels
// (tensorflow/cc/saved_model/testdata/name).
func tfModel(t testing.TB, name string) (*tfpb.SavedModel, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(tftree.Dir(t), "tensorflow/cc/saved_model/testdata", name, "saved_model.pb"))
	if err != nil {
		t.Fatal(err)
	}
	sm := &tfpb.SavedModel{}
	if err := proto.Unmarshal(raw, sm); err != nil {
		t.Fatal(err)
	}
	return sm, raw
}

// Marshal must reproduce the bytes TensorFlow wrote for every binary
// saved_model.pb in its tree whose maps are sorted, and always re-parse equal.
func TestMarshalReproducesTensorFlowBytes(t *testing.T) {
	identical := 0
	total := 0
	for _, dir := range tftree.SavedModels(t) {
		b, err := os.ReadFile(filepath.Join(dir, "saved_model.pb"))
		if os.IsNotExist(err) {
			continue
		}
		total++
		var sm tfpb.SavedModel
		if err := proto.Unmarshal(b, &sm); err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		out := Marshal(&sm)
		var back tfpb.SavedModel
		if err := proto.Unmarshal(out, &back); err != nil || !proto.Equal(&sm, &back) {
			t.Errorf("%s: Marshal output does not re-parse equal (err %v)", dir, err)
		}
		if bytes.Equal(out, b) {
			identical++
		} else {
			t.Logf("%s: not byte-identical (%d vs %d bytes)", dir, len(out), len(b))
			// Re-encoding our own output must be a fixed point.
			if !bytes.Equal(Marshal(&back), out) {
				t.Errorf("%s: Marshal is not idempotent", dir)
			}
		}
	}
	t.Logf("%d of %d saved_model.pb files reproduced byte for byte", identical, total)
	// Files written by tf.saved_model.save in TF 2.x through the C++ protobuf
	// runtime must all be reproduced. (Older files have unsorted maps; some
	// were written by Python's upb runtime, which orders fields differently;
	// those only need to re-parse equal.)
	for _, name := range []string{"VarsAndArithmeticObjectGraph", "bert1", "bert2", "AssetModule",
		"CyclicModule", "OptimizerSlotVariableModule", "StaticHashTableModule", "SimpleV1Model"} {
		sm, raw := tfModel(t, name)
		if !bytes.Equal(Marshal(sm), raw) {
			t.Errorf("%s: Marshal differs from TensorFlow's saved_model.pb", name)
		}
	}
}

func BenchmarkMarshalBert(b *testing.B) {
	sm, raw := tfModel(b, "bert2")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		Marshal(sm)
	}
}

func TestGoOrderSafe(t *testing.T) {
	for _, tc := range []struct {
		m    proto.Message
		safe bool
	}{
		{&graphpb.GraphDef{}, true},    // bulk of a SavedModel: fast path
		{&attrpb.AttrValue{}, true},    // only oneof members: order unaffected
		{&tfpb.TensorInfo{}, false},    // oneof name=1 before dtype=2
		{&tfpb.SignatureDef{}, false},  // reaches TensorInfo
		{&tfpb.SavedModel{}, false},    // reaches both
		{&tfpb.SavedObject{}, false},   // oneof kind between plain fields
		{&tfpb.FingerprintDef{}, true}, // no oneof at all
	} {
		if got := goOrderSafe(tc.m.ProtoReflect().Descriptor()); got != tc.safe {
			t.Errorf("%T: goOrderSafe = %v, want %v", tc.m, got, tc.safe)
		}
	}
	// For an unsafe type, protobuf-go's bytes really differ from Marshal's.
	ti := &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: "x:0"}, Dtype: 1}
	gob, _ := proto.MarshalOptions{Deterministic: true}.Marshal(ti)
	if bytes.Equal(gob, Marshal(ti)) || Marshal(ti)[0] != 0x0a {
		t.Errorf("TensorInfo: Marshal %x, protobuf-go %x; want name (field 1) first only in Marshal", Marshal(ti), gob)
	}
}

// The reflective encoder and protobuf-go's agree on every order-safe
// message in TF's test SavedModels (GraphDefs hold every scalar kind,
// packed lists and maps), and on int-keyed maps.
func TestReflectiveEncoderMatchesProtobufGo(t *testing.T) {
	check := func(name string, m proto.Message) {
		t.Helper()
		fastPath = false
		slow := Marshal(m)
		fastPath = true
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(slow, want) {
			t.Errorf("%s: reflective encoding differs from protobuf-go's", name)
		}
	}
	defer func() { fastPath = true }()
	for _, dir := range tftree.SavedModels(t) {
		b, err := os.ReadFile(filepath.Join(dir, "saved_model.pb"))
		if err != nil {
			continue
		}
		var sm tfpb.SavedModel
		if err := proto.Unmarshal(b, &sm); err != nil {
			t.Fatal(err)
		}
		for _, mg := range sm.GetMetaGraphs() {
			check(dir, mg.GetGraphDef())
		}
	}
	fd := &funcpb.FunctionDef{
		ArgAttr:             map[uint32]*funcpb.FunctionDef_ArgAttrs{10: {}, 2: {}, 0: {}},
		ResourceArgUniqueId: map[uint32]uint32{300: 1, 7: 0, 1 << 31: 5},
		Attr:                map[string]*attrpb.AttrValue{"b": {Value: &attrpb.AttrValue_F{F: -0.5}}, "a": {Value: &attrpb.AttrValue_B{B: true}}, "Z": {}},
	}
	check("FunctionDef with int-keyed maps", fd)
}
