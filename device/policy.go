package device

import (
	"fmt"
	"strings"
)

// Target is the single device a rewritten model is meant to run on, in one
// local process. The zero value is [CPU].
type Target int

// The two targets.
const (
	CPU Target = iota // one CPU: /job:localhost/replica:0/task:0/device:CPU:0
	GPU               // one GPU (and the host CPU): .../device:GPU:0 and .../device:CPU:0
)

// String returns "CPU" or "GPU".
func (t Target) String() string {
	switch t {
	case CPU:
		return TypeCPU
	case GPU:
		return TypeGPU
	}
	return fmt.Sprintf("Target(%d)", int(t))
}

// Device returns the device name a [Policy] in [Remap] mode writes for the
// target: "/device:CPU:0" or "/device:GPU:0". It names no job, replica or
// task, so it matches the device of that type and id in any single process.
func (t Target) Device() string {
	if t == GPU {
		return gpuDevice
	}
	return cpuDevice
}

// The two non-empty outputs of a Policy, as constants so Apply does not
// allocate.
const (
	cpuDevice = "/device:CPU:0"
	gpuDevice = "/device:GPU:0"
)

// ParseTarget parses "cpu" or "gpu", in any ASCII case.
func ParseTarget(s string) (Target, error) {
	switch strings.ToUpper(s) {
	case TypeCPU:
		return CPU, nil
	case TypeGPU:
		return GPU, nil
	}
	return 0, fmt.Errorf("device: unknown target %q: want cpu or gpu", s)
}

// Set implements flag.Value with [ParseTarget], so a Target can be a
// command-line flag.
func (t *Target) Set(s string) error {
	v, err := ParseTarget(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Mode says whether a [Policy] clears device names or remaps them.
type Mode int

// The modes of a Policy.
const (
	// Auto is the zero Mode: [Clear] for the CPU target, [Remap] for the
	// GPU target.
	Auto Mode = iota
	// Clear turns every device name into "" and lets the placer choose.
	Clear
	// Remap keeps the device kind: CPU devices become /device:CPU:0, GPU
	// devices become the target's device, the rest follow [Policy.Other].
	Remap
)

// String returns "auto", "clear" or "remap".
func (m Mode) String() string {
	switch m {
	case Auto:
		return "auto"
	case Clear:
		return "clear"
	case Remap:
		return "remap"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// OtherAction says what a [Policy] does with a device whose type is neither
// a CPU nor a GPU type: TPU, TPU_SYSTEM, TPU_REPLICATED_CORE, COMPOSITE,
// pluggable and custom devices, and unknown types ([KindTPU],
// [KindComposite], [KindOther]).
type OtherAction int

// The actions for other device types.
const (
	// OtherClear, the zero value, turns such a device into "": the ops
	// then go wherever they have a kernel (the GPU first, if the process
	// has one).
	OtherClear OtherAction = iota
	// OtherTarget maps such a device to the target's device in Remap mode
	// ("/device:CPU:0" or "/device:GPU:0"), and to "" in Clear mode. An op
	// with no kernel for the target then fails to place, which is why this
	// is not the default.
	OtherTarget
	// OtherError makes Apply fail with an *UnsupportedError, for callers
	// that want such graphs rewritten by another pass first.
	OtherError
)

// Policy maps the device name of a node in a strategy-saved model to one
// that names only devices a single local process with the [Target] device
// has, so that TensorFlow's C++ placer can place it without soft placement.
// (Kernels are a separate matter: in Remap mode a node pinned to a GPU stays
// on the GPU and needs a GPU kernel there, as it did when it was saved.) The
// zero Policy is the default for a CPU target: clear every device.
//
// What [Policy.Apply] returns, by the [Kind] of the input's device type:
//
//	input                        Clear   Remap, CPU target   Remap, GPU target
//	"", "/job:worker/task:1"     ""      ""                  ""
//	CPU or XLA_CPU, any id       ""      "/device:CPU:0"     "/device:CPU:0"
//	GPU or XLA_GPU, any id       ""      "/device:CPU:0"     "/device:GPU:0"
//	TPU*, COMPOSITE, other type  see OtherAction: "" by default
//
// Kinds ignore case, so "/device:gpu:1", which TensorFlow keeps as type
// "gpu" and matches with nothing, is treated as a GPU. Job, replica and task
// are always dropped: in a local process only /job:localhost/replica:0/task:0
// exists, and soft placement keeps these fields, so a stray /job:worker fails
// even with soft placement on. The output is therefore always "",
// "/device:CPU:0" or "/device:GPU:0".
//
// Why these defaults: an empty device is what the C++ loader handles best;
// the placer puts each op on a device that has its kernel, and colocation
// groups are free to agree. For the GPU target, Remap keeps the intent of the
// saved graph: ops pinned to a GPU stay on the GPU, ops pinned to the CPU
// (input pipelines, string and lookup-table ops, the saver) stay on the CPU.
// Clear with a GPU target is also valid; the placer then prefers the GPU for
// every op that has a GPU kernel.
//
// A Policy holds no state and may be used concurrently.
type Policy struct {
	Target Target      // the device the model will run on; zero is CPU
	Mode   Mode        // zero is Auto
	Other  OtherAction // zero is OtherClear
}

// Apply returns the device name that replaces s under p (see [Policy]).
// s is parsed with [ParseFullOrLocal], so everything TensorFlow's placer
// accepts is handled, and a local name such as "CPU:0", which the placer
// rejects as malformed, is repaired too. A name that does not parse gives a
// *[ParseError]; a type refused by [OtherError] gives an *[UnsupportedError].
func (p Policy) Apply(s string) (string, error) {
	sp, err := ParseFullOrLocal(s)
	if err != nil {
		return "", err
	}
	out, err := p.apply(sp, s)
	switch {
	case err != nil:
		return "", err
	case out.IsEmpty():
		return "", nil
	case out.Type == TypeGPU:
		return gpuDevice, nil
	}
	return cpuDevice, nil
}

// ApplySpec is [Policy.Apply] for an already parsed name. The result is the
// empty Spec or a [Local] CPU or GPU device with id 0.
func (p Policy) ApplySpec(s Spec) (Spec, error) {
	return p.apply(s, s.String())
}

// EffectiveMode returns p.Mode with [Auto] resolved for p.Target.
func (p Policy) EffectiveMode() Mode {
	if p.Mode != Auto {
		return p.Mode
	}
	if p.Target == GPU {
		return Remap
	}
	return Clear
}

func (p Policy) validate() error {
	if p.Target != CPU && p.Target != GPU {
		return fmt.Errorf("device: invalid policy: target %v", p.Target)
	}
	if p.Mode < Auto || p.Mode > Remap {
		return fmt.Errorf("device: invalid policy: mode %v", p.Mode)
	}
	if p.Other < OtherClear || p.Other > OtherError {
		return fmt.Errorf("device: invalid policy: other action %d", int(p.Other))
	}
	return nil
}

func (p Policy) apply(s Spec, input string) (Spec, error) {
	if err := p.validate(); err != nil {
		return Spec{}, err
	}
	remap := p.EffectiveMode() == Remap
	switch k := s.Kind(); k {
	case KindNone:
		return Spec{}, nil
	case KindCPU, KindGPU:
		if !remap {
			return Spec{}, nil
		}
		if k == KindGPU {
			return Local(p.Target.String(), 0), nil
		}
		return Local(TypeCPU, 0), nil
	}
	switch {
	case p.Other == OtherError:
		return Spec{}, &UnsupportedError{Input: input, Type: s.Type}
	case p.Other == OtherTarget && remap:
		return Local(p.Target.String(), 0), nil
	}
	return Spec{}, nil
}
