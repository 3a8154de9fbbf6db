package fingerprint

import (
	"bytes"
	"encoding/hex"
	"math/big"
	"testing"

	versionspb "github.com/wamuir/graft/tensorflow/core/framework/versions_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/cppproto"
)

// tf221Fingerprint is fingerprint.pb as TensorFlow 2.21 wrote it for a
// MirroredStrategy Keras model (the matrix of testdata/tf/matrix): version
// producer 4 and a uuid, field 7.
const tf221Fingerprint = "08a89ddbc8958bdafb301081b08fc5cffc91872c1882deb6fad7b3d3b16f20f1fcfd8bd686f2d9c90128e595cca385dbe2c70e320208043a27323835303038323834343133323430303537373636353535333630393435363537393133353331"

func TestInherit(t *testing.T) {
	raw, err := hex.DecodeString(tf221Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	in := &tfpb.FingerprintDef{}
	if err := proto.Unmarshal(raw, in); err != nil {
		t.Fatal(err)
	}
	if !HasUUID(in) || UUID(in) != "285008284413240057766555360945657913531" || in.GetVersion().GetProducer() != 4 {
		t.Fatalf("TF 2.21's fingerprint read as uuid %q, producer %d", UUID(in), in.GetVersion().GetProducer())
	}
	if !bytes.Equal(cppproto.Marshal(in), raw) {
		t.Error("TF 2.21's fingerprint does not re-encode to its bytes (uuid after version)")
	}

	computed := func() *tfpb.FingerprintDef {
		return &tfpb.FingerprintDef{SavedModelChecksum: 1, Version: &versionspb.VersionDef{Producer: Producer}}
	}
	fp := computed()
	if err := Inherit(fp, in, nil); err != nil {
		t.Fatal(err)
	}
	if fp.GetVersion().GetProducer() != 4 {
		t.Errorf("producer %d, want the writer's 4", fp.GetVersion().GetProducer())
	}
	u := UUID(fp)
	n, ok := new(big.Int).SetString(u, 10)
	if !ok || n.Sign() < 0 || n.BitLen() > 128 || u == UUID(in) {
		t.Errorf("uuid %q: want a fresh 128-bit decimal number", u)
	}
	other := computed()
	if err := Inherit(other, in, nil); err != nil || UUID(other) == u {
		t.Errorf("two rewrites got the same uuid %q (err %v)", u, err)
	}
	// The result is what TF 2.21 reads: uuid after version, field order.
	back := &tfpb.FingerprintDef{}
	if err := proto.Unmarshal(cppproto.Marshal(fp), back); err != nil || UUID(back) != u || back.GetVersion().GetProducer() != 4 {
		t.Errorf("round trip: uuid %q producer %d err %v", UUID(back), back.GetVersion().GetProducer(), err)
	}

	// A TF 2.18 input (producer 1, no uuid) gets no uuid; no input changes nothing.
	fp = computed()
	if err := Inherit(fp, &tfpb.FingerprintDef{Version: &versionspb.VersionDef{Producer: 1}}, nil); err != nil || HasUUID(fp) || fp.GetVersion().GetProducer() != 1 {
		t.Errorf("TF 2.18 input: uuid %v producer %d err %v", HasUUID(fp), fp.GetVersion().GetProducer(), err)
	}
	fp = computed()
	if err := Inherit(fp, nil, nil); err != nil || !proto.Equal(fp, computed()) {
		t.Errorf("nil input changed the fingerprint: %v %v", fp, err)
	}
}
