//go:build tensorflow

package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program: it parses args, loads the model, runs the
// signatures and prints one JSON line on stdout. It returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return exitUsage
	}
	if o.table != "" {
		if err := printTable(stdout, o.table); err != nil {
			fmt.Fprintln(stderr, err)
			return exitError
		}
		return exitOK
	}
	var inputs map[string]map[string]*Tensor
	if o.inputs != "" {
		in := stdin
		if o.inputs != "-" {
			f, err := os.Open(o.inputs)
			if err != nil {
				return failure(stageInput, fmt.Errorf("serve: %w", err)).write(stdout)
			}
			defer f.Close()
			in = f
		}
		if inputs, err = readInputs(in, o.signature); err != nil {
			return failure(stageInput, err).write(stdout)
		}
	}
	// nil options: TF's defaults, so allow_soft_placement is false, as in
	// a serving process.
	model, err := tf.LoadSavedModel(o.dir, o.tags, nil)
	if err != nil {
		return failure(stageLoad, err).write(stdout)
	}
	defer model.Session.Close()
	fmt.Fprintln(stderr, progressLoaded)
	if o.list {
		return response{OK: true, List: listSignatures(model)}.write(stdout)
	}
	return runSignatures(model, inputs, stderr).write(stdout)
}

// runSignatures runs every signature named in inputs, in name order, and
// collects outputs or errors; the response fails if any signature failed.
// Progress goes to stderr, so a caller can tell where a hang happened.
func runSignatures(model *tf.SavedModel, inputs map[string]map[string]*Tensor, stderr io.Writer) response {
	resp := response{OK: true, Signatures: map[string]sigResult{}}
	names := make([]string, 0, len(inputs))
	for n := range inputs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(stderr, "serve: running signature %q\n", name)
		outs, err := runSignature(model, name, inputs[name])
		if err != nil {
			resp.Signatures[name] = sigResult{Error: err.Error()}
			if resp.OK {
				resp.OK, resp.Stage, resp.Signature, resp.Error = false, stageRun, name, err.Error()
			}
			continue
		}
		resp.Signatures[name] = sigResult{Outputs: outs}
	}
	return resp
}

// runSignature feeds one signature's inputs and fetches all its outputs.
func runSignature(model *tf.SavedModel, name string, in map[string]*Tensor) (map[string]*Tensor, error) {
	sig, ok := model.Signatures[name]
	if !ok {
		return nil, fmt.Errorf("serve: no signature %q in the model (has %s)", name, strings.Join(signatureNames(model), ", "))
	}
	feeds := make(map[tf.Output]*tf.Tensor, len(in))
	for key, info := range sig.Inputs {
		t, ok := in[key]
		if !ok {
			return nil, fmt.Errorf("serve: signature %q: input %q not given", name, key)
		}
		out, err := graphOutput(model.Graph, info.Name)
		if err != nil {
			return nil, fmt.Errorf("serve: signature %q input %q: %w", name, key, err)
		}
		tt, err := toTF(t)
		if err != nil {
			return nil, fmt.Errorf("serve: signature %q input %q: %w", name, key, err)
		}
		feeds[out] = tt
	}
	for key := range in {
		if _, ok := sig.Inputs[key]; !ok {
			return nil, fmt.Errorf("serve: signature %q has no input %q", name, key)
		}
	}
	keys := make([]string, 0, len(sig.Outputs))
	for k := range sig.Outputs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fetches := make([]tf.Output, len(keys))
	for i, k := range keys {
		out, err := graphOutput(model.Graph, sig.Outputs[k].Name)
		if err != nil {
			return nil, fmt.Errorf("serve: signature %q output %q: %w", name, k, err)
		}
		fetches[i] = out
	}
	res, err := model.Session.Run(feeds, fetches, nil)
	if err != nil {
		return nil, err
	}
	outs := make(map[string]*Tensor, len(keys))
	for i, k := range keys {
		t, err := fromTF(res[i])
		if err != nil {
			return nil, fmt.Errorf("serve: signature %q output %q: %w", name, k, err)
		}
		outs[k] = t
	}
	return outs, nil
}

// graphOutput resolves a tensor name "op:index" (or "op", index 0).
func graphOutput(g *tf.Graph, name string) (tf.Output, error) {
	op, idx := name, 0
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		n, err := strconv.Atoi(name[i+1:])
		if err != nil {
			return tf.Output{}, fmt.Errorf("bad tensor name %q", name)
		}
		op, idx = name[:i], n
	}
	o := g.Operation(op)
	if o == nil {
		return tf.Output{}, fmt.Errorf("no operation %q in the graph", op)
	}
	if idx < 0 || idx >= o.NumOutputs() {
		return tf.Output{}, fmt.Errorf("operation %q has %d outputs, not %d", op, o.NumOutputs(), idx+1)
	}
	return o.Output(idx), nil
}

func signatureNames(model *tf.SavedModel) []string {
	names := make([]string, 0, len(model.Signatures))
	for n := range model.Signatures {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// listSignatures describes the model's signatures for -list.
func listSignatures(model *tf.SavedModel) map[string]sigInfo {
	out := make(map[string]sigInfo, len(model.Signatures))
	for name, s := range model.Signatures {
		out[name] = sigInfo{Method: s.MethodName, Inputs: specs(s.Inputs), Outputs: specs(s.Outputs)}
	}
	return out
}

func specs(m map[string]tf.TensorInfo) map[string]tensorSpec {
	out := make(map[string]tensorSpec, len(m))
	for k, ti := range m {
		var shape []int64
		if ti.Shape.NumDimensions() >= 0 {
			shape, _ = ti.Shape.ToSlice()
		}
		out[k] = tensorSpec{Name: ti.Name, DType: dtypeName(ti.DType), Shape: shape}
	}
	return out
}
