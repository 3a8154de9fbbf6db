package graphdef

import (
	"fmt"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// ReplaceByIdentity replaces the named node by an Identity node of the same
// name reading the node's data input number input (counting data inputs
// only). The Identity keeps the node's device, "T" attr (required),
// "_class" attr and control inputs; the node's other data inputs are
// dropped. Consumers of output 0 keep working: in a function body their
// references become "name:output:0" (Identity's output argument). A
// consumer of any other output is an error. It is how NcclAllReduce,
// CollectiveReduceV2, TPUReplicatedInput and the like become no-ops on one
// device.
func (b *Body) ReplaceByIdentity(name string, input int) error {
	b.g.edited()
	e := b.nodes[name]
	if e == nil {
		return &NotFoundError{Location{b.name, name}}
	}
	old := e.def
	t, ok := old.GetAttr()["T"]
	if !ok {
		return fmt.Errorf("graphdef: %s: %s has no T attr to give the Identity", Location{b.name, name}, old.GetOp())
	}
	var data, ctl []string
	for _, s := range old.Input {
		if len(s) > 0 && s[0] == '^' {
			ctl = append(ctl, s)
		} else {
			data = append(data, s)
		}
	}
	if input < 0 || input >= len(data) {
		return fmt.Errorf("graphdef: %s: no data input %d (has %d)", Location{b.name, name}, input, len(data))
	}
	n := &nodepb.NodeDef{
		Name:                  name,
		Op:                    "Identity",
		Input:                 append([]string{data[input]}, ctl...),
		Device:                old.Device,
		Attr:                  map[string]*attrpb.AttrValue{"T": t},
		ExperimentalDebugInfo: old.ExperimentalDebugInfo,
	}
	if c, ok := old.GetAttr()[ClassAttr]; ok {
		n.Attr[ClassAttr] = c
	}
	fn := b.fn != nil
	return b.Replace(name, n, func(in Input) (Input, error) {
		if in.Index != 0 {
			return in, fmt.Errorf("reads output %d; an Identity has only output 0", in.Index)
		}
		if fn {
			return Input{Node: name, Output: "output", Index: 0, HasIndex: true}, nil
		}
		return in, nil
	})
}
