package inspect_test

import (
	"context"
	"fmt"
	"log"

	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/savedmodel"
)

// Model inspects a model already in memory: here, which of a
// ParameterServerStrategy model's device strings keep it from loading on
// one GPU.
func ExampleModel() {
	m, err := savedmodel.Read(context.Background(), "../testdata/models/tf1_ps_worker", savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	in, err := inspect.Model(context.Background(), m, inspect.Options{Targets: []device.Target{device.GPU}})
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range in.Devices {
		if len(d.Blocks) > 0 {
			fmt.Printf("%s: %d nodes\n", d.Device, d.Nodes)
		}
	}
	fmt.Println("portable on one GPU:", in.Verdict(device.GPU).Portable)
	// Output:
	// /job:ps/task:0: 39 nodes
	// /job:ps/task:0/device:CPU:0: 9 nodes
	// /job:ps/task:1: 34 nodes
	// /job:ps/task:1/device:CPU:0: 12 nodes
	// /job:worker/task:0: 69 nodes
	// portable on one GPU: false
}

// Diff compares two models in memory: a TF2 model whose embedding is saved
// in two slices and one saved whole. Slices show as the tensor's key and
// the slice in TensorFlow's notation.
func ExampleDiff() {
	a, err := savedmodel.Read(context.Background(), "../testdata/models/sharded_variable", savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := savedmodel.Read(context.Background(), "../testdata/models/plain", savedmodel.ReadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	for _, v := range inspect.Diff(a, b).Variables {
		fmt.Println(v.Change, v.Key)
	}
	// Output:
	// removed embedding/.ATTRIBUTES/VARIABLE_VALUE [0,3:0,4]
	// removed embedding/.ATTRIBUTES/VARIABLE_VALUE [3,3:0,4]
	// changed _CHECKPOINTABLE_OBJECT_GRAPH
	// added b/.ATTRIBUTES/VARIABLE_VALUE
	// removed embedding/.ATTRIBUTES/VARIABLE_VALUE
	// added w/.ATTRIBUTES/VARIABLE_VALUE
}
