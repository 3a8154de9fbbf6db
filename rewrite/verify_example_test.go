package rewrite_test

import (
	"fmt"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// Check inspects a model without a pipeline, as "unmirror verify" does; a
// model would normally come from savedmodel.Read.
func ExampleCheck() {
	m := &savedmodel.Model{Proto: &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{{
		GraphDef: &graphpb.GraphDef{Node: []*nodepb.NodeDef{
			{Name: "kernel", Op: "VarHandleOp", Device: "/job:worker/replica:0/task:1/device:GPU:1"},
		}},
	}}}}
	for _, target := range []device.Target{device.CPU, device.GPU} {
		for _, f := range rewrite.Check(m, rewrite.Options{Target: target}) {
			fmt.Printf("%s: %s\n", f.Where, f.What)
		}
	}
	// Output:
	// meta_graph 0, node kernel: device: "/job:worker/replica:0/task:1/device:GPU:1" names no device of a one-CPU process (the policy makes it "" (cleared))
	// meta_graph 0, node kernel: device: "/job:worker/replica:0/task:1/device:GPU:1" names no device of a one-GPU process (the policy makes it "/device:GPU:0")
}
