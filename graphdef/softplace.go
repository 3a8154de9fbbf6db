package graphdef

import (
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// SoftPlacedFunctions returns the library functions whose bodies TensorFlow
// places with soft placement on one machine whatever the session options
// say, so that a body node's device type and index may name a device the
// process lacks (TF then picks a supported device of the same job, replica
// and task: ColocationGraph::GetSoftDeviceCandidates).
//
// TensorFlow 2.18 does so in both runtimes that load a SavedModel:
//   - tf.saved_model.load instantiates functions under the eager context,
//     whose soft device placement is on by default;
//   - a TF1 Session (and the C++ loader, the C API) runs Grappler's
//     function optimizer on the placed main graph: it inlines every function
//     call node and places the inlined bodies with a Placer that allows soft
//     placement (function_optimizer.cc, InlineFunctionCalls), recursively.
//
// Not soft placed, and so not returned (nor anything they call): functions
// that a main-graph node calls other than through PartitionedCall or
// StatefulPartitionedCall (If, While, Case and direct calls are lowered or
// inlined before the session's own placer, which honours
// allow_soft_placement=false), and functions that a call node marked for
// XLA compilation (_XlaMustCompile, _xla_compile_id or _tpu_replicate:
// MarkedForXlaCompilation) calls anywhere, which Grappler does not inline
// and the session's function runtime places without soft placement.
func (g *Graph) SoftPlacedFunctions() map[string]bool {
	hard := map[string]bool{}
	var mark func(fn string)
	mark = func(fn string) {
		if hard[fn] || g.funcs[fn] == nil {
			return
		}
		hard[fn] = true
		for _, c := range g.Callees(fn) {
			mark(c)
		}
	}
	for _, b := range g.Bodies() {
		for _, n := range b.Nodes() {
			calls := g.Calls(n)
			if len(calls) == 0 {
				continue
			}
			partitioned := n.GetOp() == "PartitionedCall" || n.GetOp() == "StatefulPartitionedCall"
			if markedForXLA(n) || (!b.IsFunction() && !partitioned) {
				for _, c := range calls {
					mark(c)
				}
			}
		}
	}
	out := map[string]bool{}
	for name := range g.funcs {
		if !hard[name] {
			out[name] = true
		}
	}
	return out
}

// markedForXLA is Grappler's MarkedForXlaCompilation: a call node TF
// compiles with XLA instead of inlining.
func markedForXLA(n *nodepb.NodeDef) bool {
	for _, k := range []string{"_xla_compile_id", "_tpu_replicate", "_XlaMustCompile"} {
		if a, ok := n.GetAttr()[k]; ok && (len(a.GetS()) > 0 || a.GetB()) {
			return true
		}
	}
	return false
}
