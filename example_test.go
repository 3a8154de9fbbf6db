package unmirror_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/inspect"
	"github.com/unmirror/unmirror/savedmodel"
)

// Inspect lists the distribution artifacts of a TF1 two-GPU tower model and
// says why it does not load on one CPU.
func ExampleInspect() {
	m, err := savedmodel.Read("testdata/models/tf1_towers")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	in, err := unmirror.Inspect(m, inspect.Options{Examples: 1})
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range in.Artifacts {
		fmt.Printf("%s: %s\n", a.Name, a.Examples[0].Where)
	}
	v := in.Verdict(device.CPU)
	fmt.Println("portable on one CPU:", v.Portable)
	for _, r := range v.Reasons {
		fmt.Printf("  [%s] %s\n", r.Kind, r.What)
	}
	// Output:
	// device_gpu: meta_graph 0, node tower_0/Const
	// replica_variables: meta_graph 0, node tower_1/w
	// nccl_ops: meta_graph 0, node NcclAllReduce
	// sharded_saver: variables/variables.data-00000-of-00002
	// colocation: meta_graph 0, node w/Assign
	// portable on one CPU: false
	//   [device] "/device:GPU:0": a CPU process has no GPU
	//   [device] "/device:GPU:1": a CPU process has no GPU
	//   [nccl_ops] NCCL ops have no CPU kernel (the TF1 placer places every main-graph node)
}

// Rewrite writes a strategy-free copy of a MirroredStrategy model saved with
// per-replica variables; Inspect then finds it portable.
func ExampleRewrite() {
	out := filepath.Join(os.TempDir(), "unmirror-example-rewrite")
	defer os.RemoveAll(out)
	rep, err := unmirror.Rewrite(context.Background(), "testdata/models/mirrored_expand", out,
		unmirror.Options{Write: savedmodel.WriteOptions{Overwrite: true}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("target:", rep.Target, "changed:", rep.Changed())

	m, err := savedmodel.Read(out)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	in, err := unmirror.Inspect(m, inspect.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range in.Verdicts {
		fmt.Println(v.Target, "portable:", v.Portable)
	}
	// Output:
	// target: cpu changed: true
	// cpu portable: true
	// gpu portable: true
}

// Diff compares a model with its rewrite: the per-replica variable handles
// and their device are gone.
func ExampleDiff() {
	out := filepath.Join(os.TempDir(), "unmirror-example-diff")
	defer os.RemoveAll(out)
	if _, err := unmirror.Rewrite(context.Background(), "testdata/models/mirrored_expand", out,
		unmirror.Options{Write: savedmodel.WriteOptions{Overwrite: true}}); err != nil {
		log.Fatal(err)
	}
	a, err := savedmodel.Read("testdata/models/mirrored_expand")
	if err != nil {
		log.Fatal(err)
	}
	defer a.Close()
	b, err := savedmodel.Read(out)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	d := unmirror.Diff(a, b)
	fmt.Println("same:", d.Same)
	for _, c := range d.Ops {
		if c.Name == "VarHandleOp" {
			fmt.Printf("%s: %d -> %d\n", c.Name, c.A, c.B)
		}
	}
	for _, c := range d.Devices {
		if c.Name == "/job:localhost/replica:0/task:0/device:CPU:1" {
			fmt.Printf("%s: %d -> %d\n", c.Name, c.A, c.B)
		}
	}
	fmt.Println("signatures changed:", len(d.Signatures))
	// Output:
	// same: false
	// VarHandleOp: 4 -> 2
	// /job:localhost/replica:0/task:0/device:CPU:1: 9 -> 0
	// signatures changed: 0
}
