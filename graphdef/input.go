package graphdef

import (
	"fmt"
	"strconv"
	"strings"

	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
)

// DataInputs returns the data inputs of n (every input not starting with
// '^'), in order.
func DataInputs(n *nodepb.NodeDef) []string {
	var out []string
	for _, s := range n.GetInput() {
		if !strings.HasPrefix(s, "^") {
			out = append(out, s)
		}
	}
	return out
}

// ControlInputs returns the control inputs of n ("^node"), in order.
func ControlInputs(n *nodepb.NodeDef) []string {
	var out []string
	for _, s := range n.GetInput() {
		if strings.HasPrefix(s, "^") {
			out = append(out, s)
		}
	}
	return out
}

// Input is one parsed entry of NodeDef.input, or one value of a function's
// ret map.
//
// In the main graph an input is "node" or "node:N" (output N of node) or
// "^node" (a control edge). Inside a function body an input is "arg" or
// "arg:N" (a function input argument, element N of a list argument),
// "node:out" or "node:out:N" (element N of the output argument named out of
// node), "node" (a node with no outputs, or a control-only reference), or
// "^node" (a control edge). See the grammar in the package documentation.
type Input struct {
	// Node is the producing node, or in a function body possibly the name of
	// a function input argument.
	Node string
	// Output is the name of the producer's output argument; it is only set
	// inside function bodies ("node:out" or "node:out:N").
	Output string
	// Index is the output index (or list element), 0 when not written.
	Index int
	// HasIndex records that Index was written explicitly, so that String
	// reproduces the parsed text exactly ("n" and "n:0" name the same tensor).
	HasIndex bool
	// Control marks a control input ("^node").
	Control bool
}

// String formats the input in the grammar ParseInput reads.
func (in Input) String() string {
	var b strings.Builder
	if in.Control {
		b.WriteByte('^')
	}
	b.WriteString(in.Node)
	if in.Output != "" {
		b.WriteByte(':')
		b.WriteString(in.Output)
	}
	if in.HasIndex || in.Index != 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(in.Index))
	}
	return b.String()
}

// Tensor returns the input as a data reference with the index written out
// ("node:0" in graphs, "node:out:0" in functions), the form used when
// comparing two references for the same tensor.
func (in Input) Tensor() Input {
	return Input{Node: in.Node, Output: in.Output, Index: in.Index, HasIndex: true}
}

// SameTensor reports whether in and o name the same tensor, ignoring how the
// index was written ("n" equals "n:0"; "n:out" equals "n:out:0").
func (in Input) SameTensor(o Input) bool {
	return !in.Control && !o.Control && in.Node == o.Node && in.Output == o.Output && in.Index == o.Index
}

// ParseError reports an input string that does not follow the grammar.
type ParseError struct {
	Input  string
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("graphdef: bad input %q: %s", e.Input, e.Reason)
}

// ParseGraphInput parses an input of a node of the main graph: "node",
// "node:N" or "^node".
func ParseGraphInput(s string) (Input, error) {
	return parseInput(s, false)
}

// ParseFunctionInput parses an input of a node inside a function body, or a
// value of FunctionDef.ret: "arg", "arg:N", "node", "node:out",
// "node:out:N" or "^node".
func ParseFunctionInput(s string) (Input, error) {
	return parseInput(s, true)
}

func parseInput(s string, fn bool) (Input, error) {
	var in Input
	rest := s
	if rest != "" && rest[0] == '^' {
		in.Control = true
		rest = rest[1:]
	}
	// One scan for ':' serves both the split and the name check.
	i := strings.IndexByte(rest, ':')
	if i < 0 {
		if rest == "" || rest[0] == '^' {
			return Input{}, &ParseError{s, "empty node name"}
		}
		in.Node = rest
		return in, nil
	}
	name, tail := rest[:i], rest[i+1:]
	if name == "" || name[0] == '^' {
		return Input{}, &ParseError{s, "empty node name"}
	}
	in.Node = name
	if in.Control {
		return Input{}, &ParseError{s, "control input with an output"}
	}
	first, second, hasSecond := strings.Cut(tail, ":")
	if fn {
		if n, ok := parseIndex(first); ok && !hasSecond {
			// "arg:N" – element N of a list argument.
			in.Index, in.HasIndex = n, true
			return in, nil
		}
		if !validName(first) {
			return Input{}, &ParseError{s, "invalid output argument name"}
		}
		in.Output = first
		if !hasSecond {
			return in, nil
		}
		n, ok := parseIndex(second)
		if !ok {
			return Input{}, &ParseError{s, "invalid output index"}
		}
		in.Index, in.HasIndex = n, true
		return in, nil
	}
	if hasSecond {
		return Input{}, &ParseError{s, "too many ':' in a graph input"}
	}
	n, ok := parseIndex(first)
	if !ok {
		return Input{}, &ParseError{s, "invalid output index"}
	}
	in.Index, in.HasIndex = n, true
	return in, nil
}

// parseIndex accepts a canonical non-negative decimal (no sign, no leading
// zeros), so that formatting the parsed value gives back the same text.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// validName accepts what a node or argument name may be for parsing: a
// non-empty string without ':' (the separator) and not starting with '^'.
// TF's stricter naming rules are not needed to resolve references.
func validName(s string) bool {
	return s != "" && s[0] != '^' && !strings.Contains(s, ":")
}
