// Package opgen generates package ops's tables of TensorFlow op facts from
// TensorFlow's own definitions: the OpDefs of tensorflow/core/ops/ops.pbtxt
// in the pinned source tree, plus, for ops not in it (XLA, TPU, NCCL
// internals, ...), the OpDefs the pinned tensorflow-cpu==2.18.0 wheel
// registers; and the KernelDefs the GPU-enabled tensorflow==2.18.0 wheel
// registers. The wheels' facts are read from the dumps dump.py writes
// (ops/testdata/registry.txt and kernels.txt).
//
// Dump formats, one record a line, tab-separated, '#' lines are comments:
//
//	registry.txt: op, stateful (0|1), inputs, outputs, type-attr defaults
//	kernels.txt:  op, device type, constraints, host-memory args, label
//
// An input or output list is comma-separated argument names, each followed
// by "#attr" (a list whose length is the int attr) or "*attr" (a list whose
// types are the list(type) attr). Type-attr defaults are "attr=DT_X" pairs,
// comma-separated. Constraints are "attr=V|V" pairs separated by ';', where
// a value V is a dtype (DT_X) or, for a constraint on an attr of another
// kind, "i:N", "b:true" or "s:text".
// Only GPU and DEFAULT kernels carry constraints, host-memory args and
// labels; the other device types are listed to say that the op has a kernel.
package opgen

import (
	"bufio"
	"bytes"
	"fmt"
	"go/format"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	attrpb "github.com/wamuir/graft/tensorflow/core/framework/attr_value_go_proto"
	opdefpb "github.com/wamuir/graft/tensorflow/core/framework/op_def_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"google.golang.org/protobuf/encoding/prototext"
)

// Record is one op as the dumps describe it.
type Record struct {
	Op, Stateful, Inputs, Outputs, TypeDefaults string
}

func (r Record) line() string {
	return strings.Join([]string{r.Op, r.Stateful, r.Inputs, r.Outputs, r.TypeDefaults}, "\t")
}

// SourceRecords reads tensorflow/core/ops/ops.pbtxt under the TensorFlow
// source tree tfRoot.
func SourceRecords(tfRoot string) (map[string]Record, error) {
	p := filepath.Join(tfRoot, "tensorflow", "core", "ops", "ops.pbtxt")
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("opgen: %w", err)
	}
	var list opdefpb.OpList
	if err := prototext.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("opgen: %s: %w", p, err)
	}
	out := map[string]Record{}
	for _, op := range list.GetOp() {
		r := Record{Op: op.GetName(), Stateful: "0", Inputs: args(op.GetInputArg()), Outputs: args(op.GetOutputArg())}
		if op.GetIsStateful() {
			r.Stateful = "1"
		}
		var defs []string
		for _, a := range op.GetAttr() {
			if t, ok := a.GetDefaultValue().GetValue().(*attrpb.AttrValue_Type); ok && a.GetType() == "type" {
				defs = append(defs, a.GetName()+"="+t.Type.String())
			}
		}
		r.TypeDefaults = strings.Join(defs, ",")
		out[r.Op] = r
	}
	return out, nil
}

func args(as []*opdefpb.OpDef_ArgDef) string {
	var parts []string
	for _, a := range as {
		s := a.GetName()
		switch {
		case a.GetNumberAttr() != "":
			s += "#" + a.GetNumberAttr()
		case a.GetTypeListAttr() != "":
			s += "*" + a.GetTypeListAttr()
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

// readLines returns the non-comment lines of a dump, split at tabs into
// exactly n fields.
func readLines(path string, n int) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opgen: %w", err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for ln := 1; sc.Scan(); ln++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != n {
			return nil, fmt.Errorf("opgen: %s:%d: %d fields, want %d", path, ln, len(fields), n)
		}
		out = append(out, fields)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("opgen: %s: %w", path, err)
	}
	return out, nil
}

// WheelRecords reads registry.txt.
func WheelRecords(path string) (map[string]Record, error) {
	lines, err := readLines(path, 5)
	if err != nil {
		return nil, err
	}
	out := map[string]Record{}
	for _, f := range lines {
		out[f[0]] = Record{f[0], f[1], f[2], f[3], f[4]}
	}
	return out, nil
}

// Disagreements lists the ops whose facts in ops.pbtxt differ from the
// wheel's registry, and the ops of ops.pbtxt the wheel does not register.
func Disagreements(src, wheel map[string]Record) []string {
	var out []string
	for _, op := range slices.Sorted(maps.Keys(src)) {
		w, ok := wheel[op]
		switch {
		case !ok:
			out = append(out, op+": in ops.pbtxt, not registered by the wheel")
		case w != src[op]:
			out = append(out, fmt.Sprintf("%s: ops.pbtxt says %q, the wheel %q", op, src[op].line(), w.line()))
		}
	}
	return out
}

// OpDefsGo returns the Go source of ops/opdefs_gen.go: every op of src,
// and every op of wheel not in src.
func OpDefsGo(src, wheel map[string]Record) ([]byte, error) {
	all := map[string]Record{}
	fromWheel := 0
	for op, r := range wheel {
		if _, ok := src[op]; !ok {
			all[op] = r
			fromWheel++
		}
	}
	for op, r := range src {
		all[op] = r
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by go generate ./ops (ops/internal/opgen); DO NOT EDIT.\n\n")
	b.WriteString("package ops\n\n")
	fmt.Fprintf(&b, "// opDefs holds the OpDef facts of the %d ops TensorFlow 2.18 registers: %d from\n", len(all), len(src))
	fmt.Fprintf(&b, "// tensorflow/core/ops/ops.pbtxt, %d more from the tensorflow-cpu==2.18.0 wheel's registry.\n", fromWheel)
	b.WriteString("var opDefs = map[string]*OpDef{\n")
	for _, op := range slices.Sorted(maps.Keys(all)) {
		r := all[op]
		fmt.Fprintf(&b, "\t%q: {Name: %q", op, op)
		if r.Stateful == "1" {
			b.WriteString(", Stateful: true")
		}
		if r.Inputs != "" {
			fmt.Fprintf(&b, ", Inputs: %s", argsGo(r.Inputs))
		}
		if r.Outputs != "" {
			fmt.Fprintf(&b, ", Outputs: %s", argsGo(r.Outputs))
		}
		if r.TypeDefaults != "" {
			b.WriteString(", TypeDefaults: []TypeDefault{")
			for i, d := range strings.Split(r.TypeDefaults, ",") {
				attr, t, _ := strings.Cut(d, "=")
				if i > 0 {
					b.WriteString(", ")
				}
				v, ok := typespb.DataType_value[t]
				if !ok {
					return nil, fmt.Errorf("opgen: %s: unknown dtype %q", op, t)
				}
				fmt.Fprintf(&b, "{%q, %d}", attr, v)
			}
			b.WriteString("}")
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

func argsGo(s string) string {
	var b strings.Builder
	b.WriteString("[]ArgDef{")
	for i, a := range strings.Split(s, ",") {
		if i > 0 {
			b.WriteString(", ")
		}
		switch {
		case strings.Contains(a, "#"):
			n, attr, _ := strings.Cut(a, "#")
			fmt.Fprintf(&b, "{Name: %q, NumberAttr: %q}", n, attr)
		case strings.Contains(a, "*"):
			n, attr, _ := strings.Cut(a, "*")
			fmt.Fprintf(&b, "{Name: %q, TypeListAttr: %q}", n, attr)
		default:
			fmt.Fprintf(&b, "{Name: %q}", a)
		}
	}
	b.WriteString("}")
	return b.String()
}

// mergeKernels returns the GPU and DEFAULT kernel lines with the kernels
// that differ only in the values of their first constraint merged into one
// (a node matches the merged kernel exactly when it matches one of them),
// and records in anyKernel every op with a kernel on any device.
func mergeKernels(lines [][]string, anyKernel map[string]bool) [][]string {
	type key struct{ op, dev, first, rest, host, label string }
	var order []key
	vals := map[key][]string{}
	for _, f := range lines {
		anyKernel[f[0]] = true
		if f[1] != "GPU" && f[1] != "DEFAULT" {
			continue
		}
		first, rest, _ := strings.Cut(f[2], ";")
		attr, v, _ := strings.Cut(first, "=")
		k := key{f[0], f[1], attr, rest, f[3], f[4]}
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		if v != "" {
			vals[k] = append(vals[k], strings.Split(v, "|")...)
		} else if vals[k] == nil {
			vals[k] = []string{}
		}
	}
	var out [][]string
	for _, k := range order {
		cons := ""
		if k.first != "" {
			v := vals[k]
			slices.Sort(v)
			cons = k.first + "=" + strings.Join(slices.Compact(v), "|")
			if k.rest != "" {
				cons += ";" + k.rest
			}
		}
		out = append(out, []string{k.op, k.dev, cons, k.host, k.label})
	}
	return out
}

// KernelsGo returns the Go source of ops/kernels_gen.go from kernels.txt.
func KernelsGo(path string) ([]byte, error) {
	lines, err := readLines(path, 5)
	if err != nil {
		return nil, err
	}
	anyKernel := map[string]bool{}
	lines = mergeKernels(lines, anyKernel)
	gpu := map[string][]string{}
	for _, f := range lines {
		op, dev := f[0], f[1]
		var k strings.Builder
		fmt.Fprintf(&k, "{Device: %q", dev)
		if f[2] != "" {
			k.WriteString(", Constraints: []Constraint{")
			for i, c := range strings.Split(f[2], ";") {
				attr, types, _ := strings.Cut(c, "=")
				if i > 0 {
					k.WriteString(", ")
				}
				var dts, others []string
				for _, t := range strings.Split(types, "|") {
					if strings.Contains(t, ":") {
						others = append(others, t)
						continue
					}
					v, ok := typespb.DataType_value[t]
					if !ok {
						return nil, fmt.Errorf("opgen: %s: unknown dtype %q", op, t)
					}
					dts = append(dts, strconv.Itoa(int(v)))
				}
				fmt.Fprintf(&k, "{Attr: %q", attr)
				if len(dts) > 0 {
					fmt.Fprintf(&k, ", Allowed: []typespb.DataType{%s}", strings.Join(dts, ", "))
				}
				if len(others) > 0 {
					fmt.Fprintf(&k, ", Values: %#v", others)
				}
				k.WriteString("}")
			}
			k.WriteString("}")
		}
		if f[3] != "" {
			fmt.Fprintf(&k, ", HostMemory: %#v", strings.Split(f[3], ","))
		}
		if f[4] != "" {
			fmt.Fprintf(&k, ", Label: %q", f[4])
		}
		k.WriteString("}")
		gpu[op] = append(gpu[op], k.String())
	}
	var b bytes.Buffer
	b.WriteString("// Code generated by go generate ./ops (ops/internal/opgen); DO NOT EDIT.\n\n")
	b.WriteString("package ops\n\n")
	b.WriteString("import typespb \"github.com/wamuir/graft/tensorflow/core/framework/types_go_proto\"\n\n")
	fmt.Fprintf(&b, "// gpuKernels holds the GPU and DEFAULT KernelDefs the GPU-enabled tensorflow==2.18.0\n")
	fmt.Fprintf(&b, "// wheel registers, for the %d ops that have one.\n", len(gpu))
	b.WriteString("var gpuKernels = map[string][]KernelDef{\n")
	for _, op := range slices.Sorted(maps.Keys(gpu)) {
		fmt.Fprintf(&b, "\t%q: {%s},\n", op, strings.Join(gpu[op], ", "))
	}
	b.WriteString("}\n\n")
	fmt.Fprintf(&b, "// kernelOps holds the %d ops with a kernel on some device in that wheel.\n", len(anyKernel))
	b.WriteString("var kernelOps = map[string]bool{\n")
	for _, op := range slices.Sorted(maps.Keys(anyKernel)) {
		fmt.Fprintf(&b, "\t%q: true,\n", op)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}
