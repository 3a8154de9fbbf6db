package graphdef

import "github.com/unmirror/unmirror/ops"

// controlFlowOps are the ops TF's Node::IsControlFlow is true for
// (tensorflow/core/graph/graph.cc node classes).
var controlFlowOps = map[string]bool{
	"Switch": true, "RefSwitch": true, "_SwitchN": true, "Ref_SwitchN": true,
	"Merge": true, "RefMerge": true, "_XlaMerge": true,
	"Enter": true, "RefEnter": true, "Exit": true, "RefExit": true,
	"NextIteration": true, "RefNextIteration": true,
}

// prunableStateful are stateful ops TF still prunes from function bodies
// when nothing depends on them (PrunableStatefulNode in
// tensorflow/core/common_runtime/function_def_utils.cc).
var prunableStateful = map[string]bool{"_Arg": true, "ResourceGather": true, "ResourceGatherNd": true}

// KeptByTF reports whether TF keeps a function-body node with this op even
// when no ret or control_ret depends on it (PruneFunctionBody): control-flow
// ops, stateful ops other than a few readers, and calls to library
// functions whose signature is stateful. Statefulness is the OpDef's
// is_stateful in TensorFlow 2.18's registry (ops.Stateful), which also
// covers ops registered with SetDoNotOptimize. An op that is neither a
// library function nor a registered TF op (a custom op) counts as kept,
// since its statefulness cannot be known.
func (g *Graph) KeptByTF(op string) bool {
	if controlFlowOps[op] {
		return true
	}
	if b := g.funcs[op]; b != nil {
		return b.fn.GetSignature().GetIsStateful()
	}
	stateful, known := ops.Stateful(op)
	if !known {
		return true
	}
	return stateful && !prunableStateful[op]
}
