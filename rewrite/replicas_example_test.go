package rewrite_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/unmirror/unmirror/rewrite"
	"github.com/unmirror/unmirror/savedmodel"
)

// Collapse the replicas of a model saved under MirroredStrategy with the
// EXPAND_DISTRIBUTED_VARIABLES policy, and make its saver restore what is
// left.
func ExampleReplicas() {
	m, err := savedmodel.Read(context.Background(), "../testdata/models/mirrored_expand", savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	rep, err := rewrite.NewPipeline(rewrite.Replicas, rewrite.Saver).Run(context.Background(), m, rewrite.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := rep.WriteText(os.Stdout); err != nil {
		log.Fatal(err)
	}
	fmt.Println("checkpoint keys:", m.OutputKeys())
	// Output:
	// replicas: 8 changes
	//   meta_graph 0, node dense/bias/replica_1: rewired 2 inputs reading replica 1 (mirrored) to the primary dense/bias
	//   meta_graph 0, node dense/kernel/replica_1: rewired 2 inputs reading replica 1 (mirrored) to the primary dense/kernel
	//   meta_graph 0, node dense/bias/replica_1: removed replica 1 of variable dense/bias
	//   meta_graph 0, node dense/kernel/replica_1: removed replica 1 of variable dense/kernel
	//   meta_graph 0, node dense/bias/replica_1/Read/ReadVariableOp: removed dense/bias/replica_1/Read/ReadVariableOp, a read of replica dense/bias/replica_1 that nothing used
	//   meta_graph 0, node dense/kernel/replica_1/Read/ReadVariableOp: removed dense/kernel/replica_1/Read/ReadVariableOp, a read of replica dense/kernel/replica_1 that nothing used
	//   meta_graph 0, object 1: dropped the distributed components of variable dense/kernel (dense/kernel, dense/kernel/replica_1)
	//   meta_graph 0, object 2: dropped the distributed components of variable dense/bias (dense/bias, dense/bias/replica_1)
	// saver: 0 changes
	// checkpoint keys: [_CHECKPOINTABLE_OBJECT_GRAPH b/.ATTRIBUTES/VARIABLE_VALUE w/.ATTRIBUTES/VARIABLE_VALUE]
}
