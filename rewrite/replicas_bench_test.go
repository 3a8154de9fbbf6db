package rewrite

import (
	"fmt"
	"testing"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	tfpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"

	"github.com/unmirror/unmirror/savedmodel"
)

// replicaModel builds a main graph in the shape EXPAND produces: vars
// variables with replicas-1 replica VarHandleOps each (on other devices),
// one read per copy and one call node passing every handle, plus filler
// nodes so that the graph has about size nodes.
func replicaModel(vars, replicas, size int) *savedmodel.Model {
	var nodes []*nodepb.NodeDef
	call := rpNd("call", "StatefulPartitionedCall")
	for v := range vars {
		p := fmt.Sprintf("layer_%d/kernel", v)
		for r := range replicas {
			name, dev := p, fmt.Sprintf("/device:GPU:%d", r)
			if r > 0 {
				name = fmt.Sprintf("%s/replica_%d", p, r)
			}
			nodes = append(nodes, rpVariable(name, "VarHandleOp", dev, 4, 4),
				rpNd(name+"/Read/ReadVariableOp", "ReadVariableOp", name))
			call.Input = append(call.Input, name)
		}
	}
	for i := len(nodes); i < size; i++ {
		nodes = append(nodes, rpNd(fmt.Sprintf("filler_%d", i), "NoOp"))
	}
	nodes = append(nodes, call)
	return &savedmodel.Model{Proto: &tfpb.SavedModel{MetaGraphs: []*tfpb.MetaGraphDef{{GraphDef: &graphpb.GraphDef{Node: nodes}}}}}
}

func BenchmarkReplicas(b *testing.B) {
	for _, bc := range []struct{ vars, replicas, size int }{
		{1000, 2, 100_000},
		{4000, 8, 100_000},
		{4000, 8, 1_000_000},
	} {
		b.Run(fmt.Sprintf("vars=%d/replicas=%d/nodes=%d", bc.vars, bc.replicas, bc.size), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				m := replicaModel(bc.vars, bc.replicas, bc.size)
				b.StartTimer()
				rep, err := NewPipeline(Replicas).Run(b.Context(), m, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if got := len(rep.Passes[0].Changes); got < bc.vars*(bc.replicas-1) {
					b.Fatalf("%d changes", got)
				}
			}
		})
	}
}
