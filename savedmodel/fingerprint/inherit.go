package fingerprint

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"

	versionspb "github.com/wamuir/graft/tensorflow/core/framework/versions_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// uuidField is FingerprintDef.uuid (a string, field 7), which TensorFlow 2.19
// and later write. The protos this module builds on (TensorFlow 2.18's)
// predate it, so it is read from and written to the unknown fields.
const uuidField protowire.Number = 7

// Inherit makes fp, computed for a rewritten model, carry what the input's
// fingerprint.pb in says of its writer: in's version (TensorFlow 2.21 writes
// producer 4 where Compute writes [Producer]), and, when in has a uuid, a
// fresh one, since the rewritten model is another model. The uuid is a
// uniformly random 128-bit number in decimal, the form TensorFlow 2.21's
// files hold, drawn from rnd (crypto/rand when nil). A nil in changes
// nothing.
func Inherit(fp, in *tfpb.FingerprintDef, rnd io.Reader) error {
	if in == nil {
		return nil
	}
	if v := in.GetVersion(); v != nil {
		fp.Version = proto.Clone(v).(*versionspb.VersionDef)
	}
	if !HasUUID(in) {
		return nil
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	n, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return fmt.Errorf("fingerprint: uuid: %w", err)
	}
	raw := fp.ProtoReflect().GetUnknown()
	raw = protowire.AppendTag(raw, uuidField, protowire.BytesType)
	raw = protowire.AppendString(raw, n.String())
	fp.ProtoReflect().SetUnknown(raw)
	return nil
}

// UUID returns the uuid field of fp ("" when it has none).
func UUID(fp *tfpb.FingerprintDef) string {
	u, _ := uuidOf(fp)
	return u
}

// HasUUID reports whether fp has a uuid field.
func HasUUID(fp *tfpb.FingerprintDef) bool {
	_, ok := uuidOf(fp)
	return ok
}

func uuidOf(fp *tfpb.FingerprintDef) (string, bool) {
	b := fp.ProtoReflect().GetUnknown()
	uuid, found := "", false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return uuid, found
		}
		b = b[n:]
		if num == uuidField && typ == protowire.BytesType {
			v, m := protowire.ConsumeString(b)
			if m < 0 {
				return uuid, found
			}
			uuid, found = v, true
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return uuid, found
		}
		b = b[m:]
	}
	return uuid, found
}
