package bundle

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

// truncatingFS serves data files (through Read only, as an archive's
// fs.FS does) that end after limit bytes with err.
type truncatingFS struct {
	fs.FS
	limit int
	err   error
}

type truncatingFile struct {
	fs.File
	left int
	err  error
}

func (t truncatingFS) Open(name string) (fs.File, error) {
	f, err := t.FS.Open(name)
	if err != nil || !strings.Contains(name, ".data-") {
		return f, err
	}
	return &truncatingFile{File: f, left: t.limit, err: t.err}, nil
}

func (f *truncatingFile) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, f.err
	}
	p = p[:min(len(p), f.left)]
	n, err := f.File.Read(p)
	f.left -= n
	return n, err
}

// A source whose data ends early, whatever error it ends with, fails Copy
// and Concat of an entry big enough to be read ahead, and Close writes no
// index: never an entry whose bytes the shard lacks.
func TestWriterRejectsTruncatedSource(t *testing.T) {
	src := t.TempDir()
	const floats = 2 << 20 // 8 MiB
	data := make([]byte, 4*floats)
	for i := range data {
		data[i] = byte(i * 7)
	}
	e := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT, Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: floats}}}}
	w, err := NewWriter(src, "v", WriterOptions{NoSync: true})
	require.NoError(t, err)
	require.NoError(t, w.Add("a", e, bytes.NewReader(data)))
	require.NoError(t, w.Close())

	ends := map[string]error{
		"wrapped unexpected EOF": fmt.Errorf("archive member: %w", io.ErrUnexpectedEOF),
		"unexpected EOF":         io.ErrUnexpectedEOF,
		"EOF":                    io.EOF,
	}
	for name, end := range ends {
		for _, op := range []string{"copy", "concat"} {
			t.Run(name+"/"+op, func(t *testing.T) {
				r, err := Open(truncatingFS{FS: os.DirFS(src), limit: 5 << 20, err: end}, "v")
				require.NoError(t, err)
				out := t.TempDir()
				w, err := NewWriter(out, "v", WriterOptions{NoSync: true})
				require.NoError(t, err)
				a, _ := r.Entry("a")
				if op == "copy" {
					err = w.Copy(r, "a")
				} else {
					err = w.Concat(context.Background(), r, "x", a, []string{"a"})
				}
				var ce *CorruptError
				require.ErrorAs(t, err, &ce, "a short source is a *CorruptError")
				assert.Equal(t, "a", ce.Key)
				assert.Contains(t, ce.File, ".data-")
				assert.Error(t, w.Close(), "Close after a failed copy writes no index")
				_, err = os.Stat(out + "/" + IndexName("v"))
				assert.ErrorIs(t, err, fs.ErrNotExist)
			})
		}
	}
}

// Abort closes a Writer without flushing, syncing or writing the index, so
// that a cancelled write does not wait for the disk.
func TestWriterAbort(t *testing.T) {
	var synced []string
	dir := t.TempDir()
	w, err := NewWriter(dir, "v", WriterOptions{OnSync: func(name string) { synced = append(synced, name) }})
	require.NoError(t, err)
	e := &tfpb.BundleEntryProto{Dtype: typespb.DataType_DT_FLOAT, Shape: &tsp.TensorShapeProto{}}
	require.NoError(t, w.Add("a", e, bytes.NewReader([]byte{0, 0, 0x80, 0x3f})))
	w.Abort()
	w.Abort() // a second Abort does nothing
	assert.Empty(t, synced)
	_, err = os.Stat(dir + "/" + IndexName("v"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.Error(t, w.Close(), "the Writer is closed")
}
