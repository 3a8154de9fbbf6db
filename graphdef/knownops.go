package graphdef

// opOutputs describes the outputs of an op Validate knows without an op
// registry: the output argument name ("" = the op has no outputs) and, for
// a list output, the attr whose list length is the number of tensors.
type opOutputs struct {
	name    string
	listLen string
}

// knownOutputs returns, for ops common in strategy-saved graphs and in the
// edits made to them, their OpDef outputs (tensorflow/core/ops/*.cc). It
// is a switch rather than a map: Validate asks once per data input, and a
// switch on a string costs no hashing.
func knownOutputs(op string) (opOutputs, bool) {
	switch op {
	case "Identity", "Const", "Placeholder":
		return opOutputs{name: "output"}, true
	case "ReadVariableOp":
		return opOutputs{name: "value"}, true
	case "VarHandleOp":
		return opOutputs{name: "resource"}, true
	case "NcclAllReduce", "CollectiveReduceV2", "CollectiveGatherV2":
		return opOutputs{name: "data"}, true
	case "PartitionedCall", "StatefulPartitionedCall":
		return opOutputs{name: "output", listLen: "Tout"}, true
	case "IdentityN":
		return opOutputs{name: "output", listLen: "T"}, true
	case "NoOp", "AssignVariableOp":
		return opOutputs{}, true
	}
	return opOutputs{}, false
}

// checkKnownOutput returns "" if in may read an output of e according to
// knownOutputs (or the op is not known), else why not.
func (b *Body) checkKnownOutput(in Input, e *entry) string {
	spec, ok := knownOutputs(e.op)
	if !ok || in.Control {
		return ""
	}
	if spec.name == "" {
		return e.op + " has no outputs"
	}
	if b.fn != nil && in.Output != "" && in.Output != spec.name {
		return e.op + " has no output " + quote(in.Output) + " (its output is " + quote(spec.name) + ")"
	}
	n := 1
	if spec.listLen != "" {
		l := e.def.GetAttr()[spec.listLen].GetList()
		if l == nil {
			return ""
		}
		n = len(l.GetType())
	}
	if in.Index >= n {
		return e.op + " has " + itoaSmall(n) + " output(s); index " + itoaSmall(in.Index) + " is out of range"
	}
	return ""
}

func quote(s string) string { return `"` + s + `"` }

func itoaSmall(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}
