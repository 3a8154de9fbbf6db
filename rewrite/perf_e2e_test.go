package rewrite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tensorpb "github.com/wamuir/graft/tensorflow/core/framework/tensor_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/graphdef"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// BenchmarkPerfRewriteEndToEnd measures what a user waits for on a big
// graph: unmirror.Rewrite of a saved_model.pb on disk (read and parse,
// the default pipeline, canonical serialisation, fingerprint, atomic
// write with fsync), on the synthetic models of BenchmarkPerfPipeline
// written out by savedmodel. It reports ns/node (wall) and cpu-ns/node,
// and the size of the input saved_model.pb.
//
//	go test ./rewrite -run '^$' -bench 'PerfRewriteEndToEnd' -benchtime 3x
func BenchmarkPerfRewriteEndToEnd(b *testing.B) {
	for _, n := range rewrite.BenchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			src := filepath.Join(dir, "src")
			m := rewrite.SynthModel(n)
			nodes := rewrite.SynthNodes(m)
			serveEveryCall(m)
			if err := m.Write(context.Background(), src, savedmodel.WriteOptions{}); err != nil {
				b.Fatal(err)
			}
			m = nil
			fi, err := os.Stat(filepath.Join(src, savedmodel.SavedModelPB))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			var cpu, wall time.Duration
			for i := range b.N {
				dst := filepath.Join(dir, fmt.Sprint("dst", i))
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
				c0, w0 := rewrite.CPUTime(), time.Now()
				_, err := unmirror.Rewrite(context.Background(), src, dst, unmirror.Options{})
				if err != nil {
					b.Fatal(err)
				}
				cpu += rewrite.CPUTime() - c0
				wall += time.Since(w0)
				b.StopTimer()
				if err := os.RemoveAll(dst); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N)/float64(nodes), "ns/node")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(nodes), "cpu-ns/node")
			b.ReportMetric(float64(fi.Size())/float64(nodes), "pb-bytes/node")
		})
	}
}

// serveEveryCall makes the synthetic model one TensorFlow could serve: a
// serving signature whose outputs are every call node of the main graph (so
// that the default pipeline keeps the whole model; without a signature
// prune cannot tell what to keep), and an init op that assigns every
// variable (without one, verify reports the variables as never restored).
func serveEveryCall(m *savedmodel.Model) {
	gd := m.Proto.MetaGraphs[0].GraphDef
	sig := &tfpb.SignatureDef{MethodName: "tensorflow/serving/predict", Outputs: map[string]*tfpb.TensorInfo{}}
	zero := &nodepb.NodeDef{Name: "init/zero", Op: "Const", Attr: map[string]*attrpb.AttrValue{
		"dtype": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}},
		"value": {Value: &attrpb.AttrValue_Tensor{Tensor: &tensorpb.TensorProto{Dtype: typespb.DataType_DT_FLOAT, FloatVal: []float32{0}}}},
	}}
	initAll := &nodepb.NodeDef{Name: "init/all", Op: "NoOp"}
	added := []*nodepb.NodeDef{zero}
	for _, n := range gd.Node {
		switch n.Op {
		case "StatefulPartitionedCall", "PartitionedCall":
			sig.Outputs[n.Name] = &tfpb.TensorInfo{Encoding: &tfpb.TensorInfo_Name{Name: n.Name + ":0"}}
		case "VarHandleOp":
			a := &nodepb.NodeDef{Name: "init/" + n.Name, Op: "AssignVariableOp", Input: []string{n.Name, zero.Name},
				Attr: map[string]*attrpb.AttrValue{"dtype": {Value: &attrpb.AttrValue_Type{Type: typespb.DataType_DT_FLOAT}}}}
			added = append(added, a)
			initAll.Input = append(initAll.Input, "^"+a.Name)
		}
	}
	gd.Node = append(append(gd.Node, added...), initAll)
	meta := m.Proto.MetaGraphs[0]
	meta.MetaInfoDef = &tfpb.MetaGraphDef_MetaInfoDef{Tags: []string{"serve"}}
	meta.SignatureDef = map[string]*tfpb.SignatureDef{
		"serving_default":           sig,
		graphdef.InitOpSignatureKey: {Outputs: map[string]*tfpb.TensorInfo{graphdef.InitOpSignatureKey: {Encoding: &tfpb.TensorInfo_Name{Name: initAll.Name}}}},
	}
}
