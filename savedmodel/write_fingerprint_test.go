package savedmodel

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	versionspb "github.com/wamuir/graft/tensorflow/core/framework/versions_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/unmirror/unmirror/savedmodel/fingerprint"
)

// A model whose fingerprint.pb came from a newer TensorFlow (producer 4 and
// a uuid, as TF 2.21 writes) is written with that producer and a fresh
// uuid; a TF 2.18 one keeps producer 1 and gets no uuid.
func TestWriteFingerprintKeepsWriter(t *testing.T) {
	for _, newer := range []bool{false, true} {
		m, err := Read(context.Background(), filepath.Join("..", "testdata", "models", "multiworker_none"), ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Fingerprint == nil {
			t.Fatal("fixture has no fingerprint.pb")
		}
		if newer {
			m.Fingerprint.Version = &versionspb.VersionDef{Producer: 4}
			raw := protowire.AppendTag(nil, 7, protowire.BytesType)
			m.Fingerprint.ProtoReflect().SetUnknown(protowire.AppendString(raw, "285008284413240057766555360945657913531"))
		}
		out := filepath.Join(t.TempDir(), "out")
		if err := m.Write(context.Background(), out, WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(out, FingerprintFile))
		if err != nil {
			t.Fatal(err)
		}
		var fp tfpb.FingerprintDef
		if err := proto.Unmarshal(raw, &fp); err != nil {
			t.Fatal(err)
		}
		wantProducer := int32(fingerprint.Producer)
		if newer {
			wantProducer = 4
		}
		if fp.GetVersion().GetProducer() != wantProducer {
			t.Errorf("newer=%v: producer %d, want %d", newer, fp.GetVersion().GetProducer(), wantProducer)
		}
		if fingerprint.HasUUID(&fp) != newer || (newer && fingerprint.UUID(&fp) == "285008284413240057766555360945657913531") {
			t.Errorf("newer=%v: uuid %q", newer, fingerprint.UUID(&fp))
		}
	}
}
