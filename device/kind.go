package device

import (
	"strconv"
	"strings"
)

// Device types as TensorFlow spells them. The placer compares types
// case-sensitively, so only these spellings match real devices.
const (
	TypeCPU               = "CPU"                 // host CPU (DEVICE_CPU)
	TypeGPU               = "GPU"                 // CUDA or ROCm GPU (DEVICE_GPU)
	TypeTPU               = "TPU"                 // TPU core (DEVICE_TPU)
	TypeTPUSystem         = "TPU_SYSTEM"          // TPU system device, used by TPU initialisation ops
	TypeTPUReplicatedCore = "TPU_REPLICATED_CORE" // placeholder core inside a tpu.replicate cluster
	TypeComposite         = "COMPOSITE"           // packed handles over several devices (packed TPU variables)
	TypeXLACPU            = "XLA_CPU"             // legacy XLA device on the host (off by default since TF 2.4)
	TypeXLAGPU            = "XLA_GPU"             // legacy XLA device on a GPU (off by default since TF 2.4)
)

// Kind is the family of a device type, used by [Policy] to decide what a
// device becomes on a one-device target.
type Kind int

// The kinds of device types. Classification ignores ASCII case, so a type
// TensorFlow's placer would match nothing with ("cpu" from
// "/device:cpu:0") is still recognised as what its author meant.
const (
	KindNone      Kind = iota // no type set
	KindCPU                   // CPU, or legacy XLA_CPU
	KindGPU                   // GPU, or legacy XLA_GPU
	KindTPU                   // TPU, TPU_SYSTEM, TPU_REPLICATED_CORE
	KindComposite             // COMPOSITE
	KindOther                 // any other type: pluggable devices, custom devices, typos
)

var kindNames = [...]string{"none", "CPU", "GPU", "TPU", "COMPOSITE", "other"}

// String returns "none", "CPU", "GPU", "TPU", "COMPOSITE" or "other".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// KindOf returns the family of the device type typ, ignoring ASCII case.
// The empty type is [KindNone].
func KindOf(typ string) Kind {
	switch strings.ToUpper(typ) {
	case "":
		return KindNone
	case TypeCPU, TypeXLACPU:
		return KindCPU
	case TypeGPU, TypeXLAGPU:
		return KindGPU
	case TypeTPU, TypeTPUSystem, TypeTPUReplicatedCore:
		return KindTPU
	case TypeComposite:
		return KindComposite
	}
	return KindOther
}

// Kind returns the family of s's device type, or [KindNone] if the type is
// unset.
func (s Spec) Kind() Kind {
	if !s.HasType {
		return KindNone
	}
	return KindOf(s.Type)
}

// NormalizeType returns s with a device type that spells one of the Type
// constants of this package in another ASCII case ("cpu", "Gpu",
// "tpu_system") rewritten to that constant, the only spelling TensorFlow's
// placer matches. Other types are kept as they are. Parse already normalises
// the legacy components /cpu:, /CPU:, /gpu: and /GPU:; it keeps the case of
// /device:<type>, as TensorFlow does, so "/device:gpu:1" has type "gpu" until
// normalised.
func (s Spec) NormalizeType() Spec {
	if !s.HasType {
		return s
	}
	switch u := strings.ToUpper(s.Type); u {
	case TypeCPU, TypeGPU, TypeTPU, TypeTPUSystem, TypeTPUReplicatedCore,
		TypeComposite, TypeXLACPU, TypeXLAGPU:
		s.Type = u
	}
	return s
}
