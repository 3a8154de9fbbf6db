package savedmodel

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// A Model built in memory, not read from a directory, is written like any
// other (a program generating models with the library does this), and a
// file it names but cannot have is an error, not a panic.
func TestWriteModelLiteral(t *testing.T) {
	literal := func() *Model {
		return &Model{Proto: &tfpb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*tfpb.MetaGraphDef{{
			MetaInfoDef: &tfpb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}},
			GraphDef:    &graphpb.GraphDef{Node: []*nodepb.NodeDef{{Name: "a", Op: "NoOp"}}},
		}}}}
	}

	t.Run("graph only", func(t *testing.T) {
		m := literal()
		out := outDir(t)
		require.NoError(t, m.Write(context.Background(), out, WriteOptions{}))
		back := mustRead(t, out)
		assert.True(t, proto.Equal(m.Proto, back.Proto))
		assert.Nil(t, back.InputCheckpoint)
	})

	t.Run("with a variable", func(t *testing.T) {
		m := literal()
		data := []byte{0, 0, 128, 63, 0, 0, 0, 64} // float32 1, 2
		entry := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT, Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: 2}}}}
		require.NoError(t, m.SetVariable("v", entry, func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }))
		out := outDir(t)
		require.NoError(t, m.Write(context.Background(), out, WriteOptions{}))
		back := mustRead(t, out)
		require.NotNil(t, back.InputCheckpoint)
		rc, err := back.InputCheckpoint.OpenEntry("v")
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		assert.Equal(t, data, got)
	})

	t.Run("asset it does not have", func(t *testing.T) {
		m := literal()
		m.Assets = []Asset{{Path: "assets/vocab.txt", Size: 3, src: "assets/vocab.txt"}}
		err := m.Write(context.Background(), outDir(t), WriteOptions{})
		require.Error(t, err)
		assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	})
}
