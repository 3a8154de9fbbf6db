package unmirror_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
)

// Inspect lists the distribution artifacts of a TF1 two-GPU tower model and
// says why it does not load on one CPU.
func ExampleInspect() {
	in, err := unmirror.Inspect(context.Background(), "testdata/models/tf1_towers", unmirror.InspectOptions{Examples: 1})
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

// Verify is the check to run before deploying: a ParameterServerStrategy
// model pinned to /job:ps and /job:worker does not load on one CPU.
func ExampleVerify() {
	v, err := unmirror.Verify(context.Background(), "testdata/models/tf1_ps_worker", unmirror.VerifyOptions{Examples: -1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Target, "ok:", v.OK)
	for _, r := range v.Reasons {
		fmt.Printf("  [%s] %s\n", r.Kind, r.What)
	}
	// Output:
	// cpu ok: false
	//   [device] "/job:ps/task:0": job ps is not localhost
	//   [device] "/job:ps/task:0/device:CPU:0": job ps is not localhost
	//   [device] "/job:ps/task:1": job ps is not localhost, task 1 is not 0
	//   [device] "/job:ps/task:1/device:CPU:0": job ps is not localhost, task 1 is not 0
	//   [device] "/job:worker/task:0": job worker is not localhost
}

// Rewrite writes a strategy-free copy of a MirroredStrategy model saved with
// per-replica variables; Verify then finds it loads on one CPU and one GPU.
func ExampleRewrite() {
	ctx := context.Background()
	out := filepath.Join(os.TempDir(), "unmirror-example-rewrite")
	defer os.RemoveAll(out)
	rep, err := unmirror.Rewrite(ctx, "testdata/models/mirrored_expand", out, unmirror.Options{})
	if errors.Is(err, fs.ErrExist) {
		log.Fatalf("%s exists: set Options.Write.Overwrite to replace it", out)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("target:", rep.Target, "changed:", rep.Changed())

	for _, t := range []device.Target{device.CPU, device.GPU} {
		v, err := unmirror.Verify(ctx, out, unmirror.VerifyOptions{Target: t})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(v.Target, "ok:", v.OK)
	}
	// Output:
	// target: cpu changed: true
	// cpu ok: true
	// gpu ok: true
}

// A dry run runs every pass on the model in memory and reports what it would
// change, writing nothing.
func ExampleRewrite_dryRun() {
	rep, err := unmirror.Rewrite(context.Background(), "testdata/models/mirrored_expand", "", unmirror.Options{DryRun: true})
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range rep.Passes {
		if len(p.Changes) > 0 {
			fmt.Printf("%s: %d changes\n", p.Pass, len(p.Changes))
		}
	}
	// Output:
	// replicas: 8 changes
	// devices: 51 changes
	// prune: 2 changes
}

// Diff compares a model with its rewrite: the per-replica variable handles
// and their device are gone.
func ExampleDiff() {
	ctx := context.Background()
	out := filepath.Join(os.TempDir(), "unmirror-example-diff")
	defer os.RemoveAll(out)
	if _, err := unmirror.Rewrite(ctx, "testdata/models/mirrored_expand", out, unmirror.Options{}); err != nil {
		log.Fatal(err)
	}
	d, err := unmirror.Diff(ctx, "testdata/models/mirrored_expand", out, unmirror.DiffOptions{})
	if err != nil {
		log.Fatal(err)
	}
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
