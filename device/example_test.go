package device_test

import (
	"errors"
	"fmt"

	"github.com/unmirror/unmirror/device"
)

func ExampleParse() {
	for _, name := range []string{
		"/job:worker/replica:0/task:1/device:GPU:3",
		"/gpu:1",        // legacy form: normalised to GPU
		"/device:gpu:1", // kept as "gpu": TensorFlow matches no device with it
		"/job:*/task:2", // partial, with a wildcard
		"/device:CPU",   // no id: any CPU
		"",              // empty: any device
		"CPU:0",         // a local name, not a full one
	} {
		s, err := device.Parse(name)
		if err != nil {
			var pe *device.ParseError
			errors.As(err, &pe)
			fmt.Printf("%-45q error at offset %d\n", name, pe.Offset)
			continue
		}
		fmt.Printf("%-45q -> %-45q cluster=%v\n", name, s, s.RefersToCluster())
	}
	// Output:
	// "/job:worker/replica:0/task:1/device:GPU:3"   -> "/job:worker/replica:0/task:1/device:GPU:3"   cluster=true
	// "/gpu:1"                                      -> "/device:GPU:1"                               cluster=false
	// "/device:gpu:1"                               -> "/device:gpu:1"                               cluster=false
	// "/job:*/task:2"                               -> "/task:2"                                     cluster=true
	// "/device:CPU"                                 -> "/device:CPU:*"                               cluster=false
	// ""                                            -> ""                                            cluster=false
	// "CPU:0"                                       error at offset 0
}

func ExamplePolicy() {
	names := []string{
		"/job:localhost/replica:0/task:0/device:GPU:1",
		"/job:ps/replica:0/task:1/device:CPU:0",
		"/job:worker/replica:0/task:0/device:TPU:2",
		"/device:gpu:0",
	}
	for _, p := range []device.Policy{
		{},                   // the default: CPU target, clear every device
		{Target: device.GPU}, // GPU target: keep CPU and GPU pins, on device 0
	} {
		fmt.Printf("target %v, mode %v:\n", p.Target, p.EffectiveMode())
		for _, n := range names {
			out, err := p.Apply(n)
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("  %-46s -> %q\n", n, out)
		}
	}
	// Output:
	// target CPU, mode clear:
	//   /job:localhost/replica:0/task:0/device:GPU:1   -> ""
	//   /job:ps/replica:0/task:1/device:CPU:0          -> ""
	//   /job:worker/replica:0/task:0/device:TPU:2      -> ""
	//   /device:gpu:0                                  -> ""
	// target GPU, mode remap:
	//   /job:localhost/replica:0/task:0/device:GPU:1   -> "/device:GPU:0"
	//   /job:ps/replica:0/task:1/device:CPU:0          -> "/device:CPU:0"
	//   /job:worker/replica:0/task:0/device:TPU:2      -> ""
	//   /device:gpu:0                                  -> "/device:GPU:0"
}

func ExampleSpec_Matches() {
	local := device.MustParse("/job:localhost/replica:0/task:0/device:CPU:0")
	for _, req := range []string{"/device:CPU:0", "/cpu:*", "/device:cpu:0", "/job:worker/device:CPU:0"} {
		fmt.Printf("%-26s %v\n", req, device.MustParse(req).Matches(local))
	}
	// Output:
	// /device:CPU:0              true
	// /cpu:*                     true
	// /device:cpu:0              false
	// /job:worker/device:CPU:0   false
}

func ExampleSpec_Merge() {
	a := device.MustParse("/job:worker/device:GPU:0")
	b := device.MustParse("/job:worker/task:1/device:GPU:1")
	if _, err := a.Merge(b); errors.Is(err, device.ErrIncompatible) {
		fmt.Println(err)
	}
	soft, _ := a.MergeSoft(b)
	override, _ := a.MergeOverride(b)
	fmt.Println(soft)
	fmt.Println(override)
	// Output:
	// device: cannot merge devices with incompatible ids: '/job:worker/task:1/device:GPU:0' and '/job:worker/task:1/device:GPU:1'
	// /job:worker/task:1/device:GPU:*
	// /job:worker/task:1/device:GPU:1
}
