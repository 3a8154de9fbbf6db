package bundle_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"log"
	"math"
	"os"

	"github.com/unmirror/unmirror/savedmodel/bundle"
	tsp "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
)

func Example() {
	dir, err := os.MkdirTemp("", "bundle-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// Write a checkpoint with one float32 vector.
	w, err := bundle.NewWriter(dir, "variables", bundle.WriterOptions{})
	if err != nil {
		log.Fatal(err)
	}
	var data []byte
	for _, v := range []float32{0.5, -1, 2} {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	entry := &tfpb.BundleEntryProto{
		Dtype: types_go_proto.DataType_DT_FLOAT,
		Shape: &tsp.TensorShapeProto{Dim: []*tsp.TensorShapeProto_Dim{{Size: 3}}},
	}
	if err := w.Add("v/.ATTRIBUTES/VARIABLE_VALUE", entry, bytes.NewReader(data)); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	// Read it back; checksums are verified as the bytes stream.
	r, err := bundle.Open(os.DirFS(dir), "variables")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	for _, k := range r.Keys() {
		e, _ := r.Entry(k)
		vals, err := r.ReadFloat64s(k)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(k, e.GetDtype(), e.GetSize(), "bytes:", vals)
	}
	fmt.Println(r.IndexFile(), r.DataFile(0))
	// Output:
	// v/.ATTRIBUTES/VARIABLE_VALUE DT_FLOAT 12 bytes: [0.5 -1 2]
	// variables.index variables.data-00000-of-00001
}
