package ops

import (
	"slices"
	"strconv"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// KernelDef is a kernel registration for a GPU (device type GPU, or
// DEFAULT, which every device type may use), as the GPU-enabled
// tensorflow==2.18.0 wheel lists it (generated into kernels_gen.go).
type KernelDef struct {
	Device string
	// Constraints are the type attrs whose values the kernel supports.
	Constraints []Constraint
	// HostMemory are the arguments the kernel keeps in host memory.
	HostMemory []string
	// Label is the "_kernel" attr value a node needs to select the kernel.
	Label string
}

// Constraint limits a type (or list(type)) attr to some dtypes, or another
// attr to some values.
type Constraint struct {
	Attr    string
	Allowed []typespb.DataType
	// Values are the allowed values of an int, bool or string attr, as
	// "i:N", "b:true" or "s:text".
	Values []string
}

// GPUKernels returns the GPU and DEFAULT kernels TensorFlow 2.18 registers
// for op.
func GPUKernels(op string) []KernelDef { return gpuKernels[op] }

// HasGPUKernel reports whether TensorFlow 2.18's GPU build has a kernel
// that runs node n on a GPU: a GPU or DEFAULT KernelDef of n's op whose
// label is n's "_kernel" attr and whose type constraints n's attrs (or the
// OpDef's defaults for attrs n does not set) satisfy. known is false when
// no device has a kernel for n's op (a library function call, an op that
// is not registered): then nothing can be said.
func HasGPUKernel(n *nodepb.NodeDef) (has, known bool) {
	op := n.GetOp()
	if !kernelOps[op] {
		return false, false
	}
	label := string(n.GetAttr()["_kernel"].GetS())
	for _, k := range gpuKernels[op] {
		if k.Label == label && k.matches(n) {
			return true, true
		}
	}
	return false, true
}

// matches reports whether n's type attrs satisfy every constraint of k. An
// attr that n does not set and the OpDef gives no default for is taken as
// satisfied, so that a kernel is never denied without cause.
func (k *KernelDef) matches(n *nodepb.NodeDef) bool {
	for _, c := range k.Constraints {
		a, ok := n.GetAttr()[c.Attr]
		if !ok {
			d, known := opDefs[n.GetOp()]
			if !known {
				continue
			}
			t, ok := d.TypeDefault(c.Attr)
			if !ok {
				continue
			}
			if !allowed(c.Allowed, t) {
				return false
			}
			continue
		}
		switch v := a.GetValue().(type) {
		case *attrpb.AttrValue_I:
			if !slices.Contains(c.Values, "i:"+strconv.FormatInt(v.I, 10)) {
				return false
			}
		case *attrpb.AttrValue_B:
			if !slices.Contains(c.Values, "b:"+strconv.FormatBool(v.B)) {
				return false
			}
		case *attrpb.AttrValue_S:
			if !slices.Contains(c.Values, "s:"+string(v.S)) {
				return false
			}
		case *attrpb.AttrValue_Type:
			if !allowed(c.Allowed, v.Type) {
				return false
			}
		case *attrpb.AttrValue_List:
			for _, t := range v.List.GetType() {
				if !allowed(c.Allowed, t) {
					return false
				}
			}
		}
	}
	return true
}

func allowed(list []typespb.DataType, t typespb.DataType) bool { return slices.Contains(list, t) }
