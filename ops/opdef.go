package ops

//go:generate go run ./internal/opgen/cmd

import typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

// OpDef is what this package knows of an op from its TensorFlow OpDef
// (generated into opdefs_gen.go from TensorFlow 2.18's registry; see
// package ops/internal/opgen).
type OpDef struct {
	Name string
	// Stateful is the OpDef's is_stateful, as TensorFlow's registry
	// records it: set by SetIsStateful and by SetDoNotOptimize.
	Stateful bool
	// Inputs and Outputs are the input and output arguments, in order.
	Inputs, Outputs []ArgDef
	// TypeDefaults are the default values of the op's type attrs.
	TypeDefaults []TypeDefault
}

// ArgDef is an input or output argument of an op.
type ArgDef struct {
	Name string
	// NumberAttr names the int attr that is the length of a list argument
	// of one type; TypeListAttr the list(type) attr whose length is the
	// length of a list argument of several types. Both empty: one tensor.
	NumberAttr, TypeListAttr string
}

// TypeDefault is the default value of a type attr.
type TypeDefault struct {
	Attr string
	Type typespb.DataType
}

// Op returns the OpDef facts of op, and false for an op TensorFlow 2.18
// does not register (a library function, a custom op).
func Op(op string) (*OpDef, bool) {
	d, ok := opDefs[op]
	return d, ok
}

// Stateful reports whether TensorFlow 2.18 registers op and, if so, whether
// its OpDef is stateful.
func Stateful(op string) (stateful, known bool) {
	d, ok := opDefs[op]
	if !ok {
		return false, false
	}
	return d.Stateful, true
}

// Output returns the position and the argument of op's output named name.
func (d *OpDef) Output(name string) (int, *ArgDef, bool) {
	for i := range d.Outputs {
		if d.Outputs[i].Name == name {
			return i, &d.Outputs[i], true
		}
	}
	return 0, nil, false
}

// TypeDefault returns the default value of type attr attr.
func (d *OpDef) TypeDefault(attr string) (typespb.DataType, bool) {
	for _, t := range d.TypeDefaults {
		if t.Attr == attr {
			return t.Type, true
		}
	}
	return 0, false
}
