package graphdef

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
)

// Problem is one defect Validate found. Function is "" for the main graph
// (or for library-level problems, Node names nothing then); Node is the
// node concerned, "" when the problem is about the function itself.
type Problem struct {
	Function string
	Node     string
	Msg      string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Function != "" {
		fmt.Fprintf(&b, "function %s: ", p.Function)
	}
	if p.Node != "" {
		fmt.Fprintf(&b, "node %s: ", p.Node)
	}
	b.WriteString(p.Msg)
	return b.String()
}

// ValidationError lists every problem found, sorted by function, node and
// message.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graphdef: %d problem(s)", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Validate indexes gd and checks it; it returns nil or a *ValidationError
// listing every problem (see Graph.Validate).
func Validate(gd *graphpb.GraphDef) error {
	return New(gd).Validate()
}

// Validate checks the graph and returns nil or a *ValidationError listing
// every problem, each naming its function and node:
//
//   - duplicate function names, duplicate node names, node names equal to
//     an argument name, empty names, Const nodes without a value;
//   - inputs that do not parse, data inputs after control inputs, and
//     references to nodes or arguments that do not exist; in function
//     bodies also "x:N" on a node (graph syntax), "x:out" on an argument,
//     and output names a called library function does not declare;
//   - reads of an output that a well-known op (Identity, Const,
//     Placeholder, ReadVariableOp, VarHandleOp, NcclAllReduce,
//     CollectiveReduceV2/GatherV2, (Stateful)PartitionedCall, IdentityN,
//     NoOp, AssignVariableOp) does not have, by index or by name;
//   - func attrs naming functions missing from the library, and
//     library.gradient entries naming missing functions;
//   - signature outputs and control outputs without a ret/control_ret
//     entry, control_ret entries that are not control outputs, and
//     entries that do not resolve (ret entries no output asks for are
//     ignored, as TF does);
//   - self-recursive functions (a body node calling its own function),
//     which the C++ loader rejects.
//
// Op types that are neither library functions nor checked against an op
// registry (there is none here): an unknown op type is not reported.
//
// Validate reads node lists, names, inputs and attrs from the protos, and
// reads from the index what it resolves them against (which names exist,
// their ops, and the func attrs of indexed nodes). The index is current
// after every edit made through Graph and Body; after changing a node's
// inputs, op or func attrs directly, call Body.Update first (a name is
// changed with Body.Rename, never in place), or use the package-level
// Validate, which indexes afresh.
func (g *Graph) Validate() error {
	v := &validator{g: g}
	if g.unnamed > 0 {
		v.add("", "", fmt.Sprintf("%d function(s) without a signature name", g.unnamed))
	}
	for _, name := range g.dupFuncs {
		v.add("", "", fmt.Sprintf("function %s defined more than once", name))
	}
	v.problems = append(v.problems, g.validateBodies()...)
	for _, gr := range g.def.GetLibrary().GetGradient() {
		for _, f := range []string{gr.GetFunctionName(), gr.GetGradientFunc()} {
			if g.funcs[f] == nil {
				v.add("", "", fmt.Sprintf("gradient entry %s -> %s names missing function %q", gr.GetFunctionName(), gr.GetGradientFunc(), f))
			}
		}
	}
	if len(v.problems) == 0 {
		return nil
	}
	slices.SortFunc(v.problems, func(a, b Problem) int {
		return strings.Compare(a.Function+"\x00"+a.Node+"\x00"+a.Msg, b.Function+"\x00"+b.Node+"\x00"+b.Msg)
	})
	return &ValidationError{Problems: v.problems}
}

// parallelValidateNodes is the node count from which Validate checks the
// bodies on several goroutines (it only reads the graph and the index).
const parallelValidateNodes = 50_000

// validateBodies checks every body and returns the problems, unsorted. A
// big graph's bodies are split into runs of about equal node counts, one
// per CPU, each checked by its own validator.
func (g *Graph) validateBodies() []Problem {
	bodies := g.Bodies()
	total := 0
	for _, b := range bodies {
		total += len(b.Nodes())
	}
	workers := min(runtime.GOMAXPROCS(0), len(bodies), 8)
	if total < parallelValidateNodes || workers < 2 {
		v := &validator{g: g}
		for _, b := range bodies {
			v.body(b)
		}
		return v.problems
	}
	found := make([][]Problem, workers)
	var wg sync.WaitGroup
	start, done := 0, 0
	for w := range workers {
		// Bodies [start, end) hold about total/workers nodes.
		end, want := start, total*(w+1)/workers
		for end < len(bodies) && (done < want || end == start) {
			done += len(bodies[end].Nodes())
			end++
		}
		if w == workers-1 {
			end = len(bodies)
		}
		wg.Add(1)
		go func(w int, run []*Body) {
			defer wg.Done()
			v := &validator{g: g}
			for _, b := range run {
				v.body(b)
			}
			found[w] = v.problems
		}(w, bodies[start:end])
		start = end
	}
	wg.Wait()
	return slices.Concat(found...)
}

type validator struct {
	g        *Graph
	problems []Problem
	// The last name looked up and what it resolved to, and the last op
	// looked up among the functions: consecutive inputs often read the
	// same node (x*x) or nodes of the same op, and a string comparison
	// costs less than a map lookup.
	lastBody  *Body
	lastName  string
	lastEntry *entry
	lastArg   bool
	lastOp    string
	lastFn    *Body
	opCached  bool
}

// lookup returns b's index entry named name and whether name is an
// argument of b.
func (v *validator) lookup(b *Body, name string) (*entry, bool) {
	if b != v.lastBody || name != v.lastName {
		_, isArg := b.args[name]
		v.lastBody, v.lastName, v.lastEntry, v.lastArg = b, name, b.nodes[name], isArg
	}
	return v.lastEntry, v.lastArg
}

// function returns the library function named op, or nil.
func (v *validator) function(op string) *Body {
	if !v.opCached || op != v.lastOp {
		v.lastOp, v.lastFn, v.opCached = op, v.g.funcs[op], true
	}
	return v.lastFn
}

func (v *validator) add(fn, node, msg string) {
	v.problems = append(v.problems, Problem{fn, node, msg})
}

func (v *validator) body(b *Body) {
	for _, name := range b.dups {
		v.add(b.name, name, "duplicate node name")
	}
	for _, n := range b.Nodes() {
		name := n.GetName()
		if name == "" {
			v.add(b.name, name, "node without a name")
		}
		if n.GetOp() == "Const" && n.GetAttr()["value"] == nil {
			v.add(b.name, name, "Const without a value attr")
		}
		seenControl := false
		for i, s := range n.Input {
			in, err := b.ParseInput(s)
			if err != nil {
				v.add(b.name, name, fmt.Sprintf("input %d: %v", i, err))
				continue
			}
			if in.Control {
				seenControl = true
			} else if seenControl {
				v.add(b.name, name, fmt.Sprintf("input %d %q: data input after a control input", i, s))
			}
			if msg := v.resolve(b, in); msg != "" {
				v.add(b.name, name, fmt.Sprintf("input %d %q: %s", i, s, msg))
			}
		}
		// Looked up after the inputs: the next node often reads this one.
		e, isArg := v.lookup(b, name)
		if isArg {
			v.add(b.name, name, "node name equals an argument name")
		}
		var calls []string
		if e != nil && e.def == n {
			calls = e.calls() // the index holds n: its func attrs are known
		} else {
			calls = funcAttrNames(n)
		}
		for _, f := range calls {
			if v.g.funcs[f] == nil {
				v.add(b.name, name, fmt.Sprintf("calls function %q, which is not in the library", f))
			}
		}
		if b.fn != nil && (n.GetOp() == b.name || slices.Contains(calls, b.name)) {
			v.add(b.name, name, "function is self recursive (TensorFlow does not support this)")
		}
	}
	if b.fn != nil {
		v.rets(b)
	}
}

// resolve returns "" if in names something that exists in b, else why
// not.
func (v *validator) resolve(b *Body, in Input) string {
	e, isArg := v.lookup(b, in.Node)
	switch {
	case e == nil && !isArg:
		if b.fn == nil {
			return "no such node"
		}
		return "no such node or argument"
	case in.Control:
		return ""
	case b.fn == nil:
		return b.checkKnownOutput(in, e)
	case isArg && in.Output != "":
		return "an argument has no named outputs"
	case !isArg && in.Output == "" && in.HasIndex:
		return `"node:N" is graph syntax; a function body reads "node:out:N"`
	case !isArg && in.Output != "":
		if msg := b.checkKnownOutput(in, e); msg != "" {
			return msg
		}
		if callee := v.function(e.opName()); callee != nil {
			for _, a := range callee.fn.GetSignature().GetOutputArg() {
				if a.GetName() == in.Output {
					return ""
				}
			}
			return fmt.Sprintf("function %s has no output %q", e.opName(), in.Output)
		}
	}
	return ""
}

func (v *validator) rets(b *Body) {
	sig := b.fn.GetSignature()
	outs := map[string]bool{}
	for _, a := range sig.GetOutputArg() {
		outs[a.GetName()] = true
		if _, ok := b.fn.Ret[a.GetName()]; !ok {
			v.add(b.name, "", fmt.Sprintf("output %q has no ret entry", a.GetName()))
		}
	}
	for _, k := range sortedKeys(b.fn.Ret) {
		val := b.fn.Ret[k]
		if !outs[k] {
			// TF ignores ret entries that no output asks for (function.cc
			// looks up each output_arg); so does this check.
			continue
		}
		in, err := b.ParseInput(val)
		if err != nil {
			v.add(b.name, "", fmt.Sprintf("ret %q: %v", k, err))
			continue
		}
		if in.Control {
			v.add(b.name, "", fmt.Sprintf("ret %q = %q is a control reference", k, val))
		} else if msg := v.resolve(b, in); msg != "" {
			v.add(b.name, "", fmt.Sprintf("ret %q = %q: %s", k, val, msg))
		}
	}
	couts := map[string]bool{}
	for _, c := range sig.GetControlOutput() {
		couts[c] = true
		if _, ok := b.fn.ControlRet[c]; !ok {
			v.add(b.name, "", fmt.Sprintf("control output %q has no control_ret entry", c))
		}
	}
	for _, k := range sortedKeys(b.fn.ControlRet) {
		if !couts[k] {
			v.add(b.name, "", fmt.Sprintf("control_ret %q is not a signature control output", k))
		}
		if b.nodes[b.fn.ControlRet[k]] == nil {
			v.add(b.name, "", fmt.Sprintf("control_ret %q = %q: no such node", k, b.fn.ControlRet[k]))
		}
	}
}
