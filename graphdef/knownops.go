package graphdef

import (
	"strconv"
	"strings"

	"github.com/unmirror/unmirror/ops"
)

// checkKnownOutput returns "" if in may read an output of e according to
// the op's OpDef in TensorFlow 2.18's registry (ops.Op), or the op is not
// registered, else why not. In a function body a named output ("n:out:N")
// must be an output argument of the op and N within its length; in a graph
// ("n:N") N must be within the op's output count. A list output whose
// length attr the node does not set is not checked.
func (b *Body) checkKnownOutput(in Input, e *entry) string {
	if in.Control {
		return ""
	}
	def, op := e.group.def, e.group.op
	if def == nil {
		return ""
	}
	if len(def.Outputs) == 0 {
		return op + " has no outputs"
	}
	if b.fn != nil && in.Output != "" {
		_, arg, ok := def.Output(in.Output)
		if !ok {
			return op + " has no output " + strconv.Quote(in.Output) + " (" + outputNames(def) + ")"
		}
		n, ok := argLen(arg, e)
		if ok && in.Index >= n {
			return op + " output " + strconv.Quote(in.Output) + " has " + strconv.Itoa(n) + " tensor(s); index " + strconv.Itoa(in.Index) + " is out of range"
		}
		return ""
	}
	total := 0
	for i := range def.Outputs {
		n, ok := argLen(&def.Outputs[i], e)
		if !ok {
			return ""
		}
		total += n
	}
	if in.Index >= total {
		return op + " has " + strconv.Itoa(total) + " output(s); index " + strconv.Itoa(in.Index) + " is out of range"
	}
	return ""
}

// argLen returns how many tensors output argument a of node e holds, and
// false when the node does not say (its length attr is not set).
func argLen(a *ops.ArgDef, e *entry) (int, bool) {
	switch {
	case a.NumberAttr != "":
		v, ok := e.def.GetAttr()[a.NumberAttr]
		if !ok {
			return 0, false
		}
		return int(v.GetI()), true
	case a.TypeListAttr != "":
		l := e.def.GetAttr()[a.TypeListAttr].GetList()
		if l == nil {
			return 0, false
		}
		return len(l.GetType()), true
	}
	return 1, true
}

// outputNames describes the output arguments of def for an error message.
func outputNames(def *ops.OpDef) string {
	if len(def.Outputs) == 1 {
		return "its output is " + strconv.Quote(def.Outputs[0].Name)
	}
	names := make([]string, len(def.Outputs))
	for i, a := range def.Outputs {
		names[i] = strconv.Quote(a.Name)
	}
	return "its outputs are " + strings.Join(names, ", ")
}
