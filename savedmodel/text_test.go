package savedmodel

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// TestMarshalTextCanonical checks that text output has exactly one space
// after every field name (whatever prototext chose for this binary), that
// string values with colons, spaces and escaped newlines survive, and that
// the text parses back to the same message.
func TestMarshalTextCanonical(t *testing.T) {
	sm := &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{{
		MetaInfoDef: &tfpb.MetaGraphDef_MetaInfoDef{
			Tags:              []string{"serve", "a:  b", "line\nbreak:  x"},
			TensorflowVersion: "2.18.0",
		},
		SignatureDef: map[string]*tfpb.SignatureDef{"serving_default": {MethodName: "tensorflow/serving/predict"}},
	}}}
	b, err := marshalText(sm)
	require.NoError(t, err)
	if m := regexp.MustCompile(`(?m)^ *[A-Za-z_\[][^ ]*:  `).Find(b); m != nil {
		t.Errorf("two spaces after a field name: %q", m)
	}
	require.True(t, bytes.Contains(b, []byte(`"a:  b"`)), "string value changed:\n%s", b)
	var back tfpb.SavedModel
	require.NoError(t, prototext.Unmarshal(b, &back))
	require.True(t, proto.Equal(sm, &back), "text does not parse back to the same message:\n%s", b)
}
