package graphdef

// opOutputs describes the outputs of an op Validate knows without an op
// registry: the output argument name ("" = the op has no outputs) and, for
// a list output, the attr whose list length is the number of tensors.
type opOutputs struct {
	name    string
	listLen string
}

// knownOps are ops common in strategy-saved graphs and in the edits made
// to them, with their OpDef outputs (tensorflow/core/ops/*.cc).
var knownOps = map[string]opOutputs{
	"Identity":                {name: "output"},
	"Const":                   {name: "output"},
	"Placeholder":             {name: "output"},
	"ReadVariableOp":          {name: "value"},
	"VarHandleOp":             {name: "resource"},
	"NcclAllReduce":           {name: "data"},
	"CollectiveReduceV2":      {name: "data"},
	"CollectiveGatherV2":      {name: "data"},
	"PartitionedCall":         {name: "output", listLen: "Tout"},
	"StatefulPartitionedCall": {name: "output", listLen: "Tout"},
	"IdentityN":               {name: "output", listLen: "T"},
	"NoOp":                    {},
	"AssignVariableOp":        {},
}

// checkKnownOutput returns "" if in may read an output of e according to
// knownOps (or the op is not known), else why not.
func (b *Body) checkKnownOutput(in Input, e *entry) string {
	spec, ok := knownOps[e.op]
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
