package device

import (
	"errors"
	"flag"
	"testing"
)

var (
	cpuDefault = Policy{}
	gpuDefault = Policy{Target: GPU}
	cpuRemap   = Policy{Target: CPU, Mode: Remap}
	gpuClear   = Policy{Target: GPU, Mode: Clear}
	gpuOther   = Policy{Target: GPU, Other: OtherTarget}
	cpuOther   = Policy{Target: CPU, Mode: Remap, Other: OtherTarget}
)

// TestPolicyOnSavedModelNames applies the policies to the device names that
// strategies write into SavedModels (tensorflow-internals §8) and to legacy
// and malformed spellings.
func TestPolicyOnSavedModelNames(t *testing.T) {
	tests := []struct {
		in                                     string
		cpuDef, gpuDef, cpuRmp, gpuClr, gpuOth string
	}{
		// MirroredStrategy, TF2 and TF1.
		{"/job:localhost/replica:0/task:0/device:GPU:1", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		{"/job:localhost/replica:0/task:0/device:GPU:0", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		{"/replica:0/task:0/device:GPU:3", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		// Saver functions and the host.
		{"/device:CPU:0", "", "/device:CPU:0", "/device:CPU:0", "", "/device:CPU:0"},
		{"/device:CPU:*", "", "/device:CPU:0", "/device:CPU:0", "", "/device:CPU:0"},
		{"/job:localhost/replica:0/task:0/device:CPU:0", "", "/device:CPU:0", "/device:CPU:0", "", "/device:CPU:0"},
		// MultiWorkerMirroredStrategy.
		{"/job:worker/replica:0/task:3/device:GPU:1", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		{"/job:chief/replica:0/task:0/device:CPU:0", "", "/device:CPU:0", "/device:CPU:0", "", "/device:CPU:0"},
		{"/job:worker/task:1", "", "", "", "", ""},
		// ParameterServerStrategy.
		{"/job:ps/replica:0/task:1/device:CPU:0", "", "/device:CPU:0", "/device:CPU:0", "", "/device:CPU:0"},
		{"/job:ps/task:0", "", "", "", "", ""},
		// TPUStrategy: cleared unless OtherTarget.
		{"/job:worker/replica:0/task:0/device:TPU:2", "", "", "", "", "/device:GPU:0"},
		{"/job:localhost/replica:0/task:0/device:TPU:0", "", "", "", "", "/device:GPU:0"},
		{"/job:localhost/replica:0/task:0/device:COMPOSITE:0", "", "", "", "", "/device:GPU:0"},
		{"/device:TPU_REPLICATED_CORE", "", "", "", "", "/device:GPU:0"},
		{"/device:TPU_SYSTEM:0", "", "", "", "", "/device:GPU:0"},
		// Legacy and lowercase spellings become what the placer matches.
		{"/gpu:1", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		{"/cpu:0", "", "/device:CPU:0", "/device:CPU:0", "", "/device:CPU:0"},
		{"/device:gpu:1", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		{"/device:cpu:0", "", "/device:CPU:0", "/device:CPU:0", "", "/device:CPU:0"},
		{"/device:XLA_GPU:0", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		// A local name, malformed for the placer, is repaired.
		{"GPU:1", "", "/device:GPU:0", "/device:CPU:0", "", "/device:GPU:0"},
		// Nothing to keep.
		{"", "", "", "", "", ""},
		{"/", "", "", "", "", ""},
		{"/device:*:3", "", "", "", "", ""},
		// An unknown type.
		{"/device:myspecialdevice:13", "", "", "", "", "/device:GPU:0"},
	}
	policies := []Policy{cpuDefault, gpuDefault, cpuRemap, gpuClear, gpuOther}
	for _, tt := range tests {
		want := []string{tt.cpuDef, tt.gpuDef, tt.cpuRmp, tt.gpuClr, tt.gpuOth}
		for i, p := range policies {
			got, err := p.Apply(tt.in)
			if err != nil || got != want[i] {
				t.Errorf("%+v.Apply(%q) = %q, %v; want %q", p, tt.in, got, err, want[i])
			}
		}
	}
}

func TestPolicyOtherTargetOnCPU(t *testing.T) {
	for in, want := range map[string]string{
		"/job:worker/replica:0/task:0/device:TPU:2":          "/device:CPU:0",
		"/job:localhost/replica:0/task:0/device:COMPOSITE:0": "/device:CPU:0",
		"/job:worker/task:0":                                 "",
	} {
		if got, err := cpuOther.Apply(in); err != nil || got != want {
			t.Errorf("Apply(%q) = %q, %v; want %q", in, got, err, want)
		}
		// In Clear mode OtherTarget still clears.
		if got, err := (Policy{Other: OtherTarget}).Apply(in); err != nil || got != "" {
			t.Errorf("clear Apply(%q) = %q, %v; want \"\"", in, got, err)
		}
	}
}

func TestPolicyErrors(t *testing.T) {
	for _, p := range []Policy{{Other: OtherError}, {Target: GPU, Other: OtherError}} {
		for _, in := range []string{"/device:TPU:0", "/job:localhost/replica:0/task:0/device:COMPOSITE:0", "/device:foo:1"} {
			_, err := p.Apply(in)
			var ue *UnsupportedError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || ue.Input != in {
				t.Errorf("%+v.Apply(%q) error %v, want an *UnsupportedError", p, in, err)
			}
		}
		// CPU and GPU names are still fine.
		if _, err := p.Apply("/job:worker/replica:0/task:0/device:GPU:1"); err != nil {
			t.Errorf("%+v.Apply(GPU): %v", p, err)
		}
	}
	for _, in := range []string{"/job:worker/", "/tpu:0", "/device:GPU:x"} {
		if _, err := gpuDefault.Apply(in); !errors.Is(err, ErrMalformed) {
			t.Errorf("Apply(%q) error %v, want ErrMalformed", in, err)
		}
	}
	for _, p := range []Policy{{Target: 2}, {Mode: 3}, {Other: -1}} {
		if _, err := p.Apply("/device:CPU:0"); err == nil {
			t.Errorf("invalid policy %+v accepted", p)
		}
	}
}

// localDevices are the devices of a single process with the target device.
func localDevices(t Target) []Spec {
	d := []Spec{Full(LocalJob, 0, 0, TypeCPU, 0)}
	if t == GPU {
		d = append(d, Full(LocalJob, 0, 0, TypeGPU, 0))
	}
	return d
}

// checkPlaceable fails unless out, the result of a policy for target, is
// one of the three outputs and names a device that a local process with
// that target has (the placer's IsCompleteSpecification test).
func checkPlaceable(t *testing.T, p Policy, in, out string) {
	t.Helper()
	switch out {
	case "", "/device:CPU:0", "/device:GPU:0":
	default:
		t.Fatalf("%+v.Apply(%q) = %q, not one of the three outputs", p, in, out)
	}
	s := MustParse(out)
	for _, d := range localDevices(p.Target) {
		if s.Matches(d) {
			return
		}
	}
	t.Fatalf("%+v.Apply(%q) = %q matches no device of a local %v process", p, in, out, p.Target)
}

var allPolicies = func() []Policy {
	var ps []Policy
	for _, tg := range []Target{CPU, GPU} {
		for _, m := range []Mode{Auto, Clear, Remap} {
			for _, o := range []OtherAction{OtherClear, OtherTarget, OtherError} {
				ps = append(ps, Policy{Target: tg, Mode: m, Other: o})
			}
		}
	}
	return ps
}()

// TestPolicyAlwaysPlaceable applies every policy to every name of the parse
// table.
func TestPolicyAlwaysPlaceable(t *testing.T) {
	for _, tt := range parseOK {
		for _, p := range allPolicies {
			out, err := p.Apply(tt.in)
			if errors.Is(err, ErrUnsupported) && p.Other == OtherError {
				continue
			}
			if err != nil {
				t.Fatalf("%+v.Apply(%q): %v", p, tt.in, err)
			}
			checkPlaceable(t, p, tt.in, out)
			if spec, err := p.ApplySpec(tt.want); err != nil || spec.String() != out {
				t.Errorf("ApplySpec(%q) = %q, %v; Apply gave %q", tt.in, spec, err, out)
			}
		}
	}
}

func TestTarget(t *testing.T) {
	for in, want := range map[string]Target{"cpu": CPU, "CPU": CPU, "gpu": GPU, "Gpu": GPU} {
		if got, err := ParseTarget(in); err != nil || got != want {
			t.Errorf("ParseTarget(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseTarget("tpu"); err == nil {
		t.Error("ParseTarget(tpu) succeeded")
	}
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var tg Target
	fs.Var(&tg, "target", "device")
	if err := fs.Parse([]string{"-target=gpu"}); err != nil || tg != GPU {
		t.Errorf("flag: %v, %v", tg, err)
	}
	if CPU.Device() != "/device:CPU:0" || GPU.Device() != "/device:GPU:0" {
		t.Errorf("Device() = %q, %q", CPU.Device(), GPU.Device())
	}
	if (Policy{}).EffectiveMode() != Clear || (Policy{Target: GPU}).EffectiveMode() != Remap || (Policy{Target: GPU, Mode: Clear}).EffectiveMode() != Clear {
		t.Error("EffectiveMode does not resolve Auto as documented")
	}
}

func BenchmarkPolicyApply(b *testing.B) {
	p := Policy{Target: GPU}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Apply("/job:worker/replica:0/task:3/device:GPU:1"); err != nil {
			b.Fatal(err)
		}
	}
}
