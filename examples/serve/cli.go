package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
)

// Exit statuses of the program.
const (
	exitOK    = 0
	exitError = 1 // TensorFlow, input or output error
	exitUsage = 2
)

// Stages named in a failed response.
const (
	stageInput = "input"
	stageLoad  = "load"
	stageRun   = "run"
)

// progressLoaded is the stderr line printed once the model has loaded.
const progressLoaded = "serve: model loaded"

// options are the command-line flags.
type options struct {
	dir       string
	tags      []string
	signature string
	inputs    string
	list      bool
	table     string
}

// parseFlags reads the command line (without the program name); errors are
// also printed on stderr with the usage.
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	tags := fs.String("tags", "serve", "comma-separated MetaGraph tag set (exact match, as TF's loader requires)")
	fs.StringVar(&o.dir, "dir", "", "SavedModel directory")
	fs.StringVar(&o.signature, "signature", "", "run only this signature; -inputs then holds its inputs alone")
	fs.StringVar(&o.inputs, "inputs", "", "JSON inputs file, - for stdin (none: only load the model)")
	fs.BoolVar(&o.list, "list", false, "print the model's signatures instead of running them")
	fs.StringVar(&o.table, "table", "", "print this conformance golden file as a markdown table and exit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	usage := func(err error) (options, error) {
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return o, err
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("serve: unexpected arguments %q", fs.Args()))
	}
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.tags = append(o.tags, t)
		}
	}
	if o.table == "" && o.dir == "" {
		return usage(fmt.Errorf("serve: -dir is required"))
	}
	return o, nil
}

// sigResult is one signature's part of a response.
type sigResult struct {
	Outputs map[string]*Tensor `json:"outputs,omitempty"`
	Error   string             `json:"error,omitempty"`
}

// sigInfo describes one signature for -list.
type sigInfo struct {
	Method  string                `json:"method"`
	Inputs  map[string]tensorSpec `json:"inputs"`
	Outputs map[string]tensorSpec `json:"outputs"`
}

// tensorSpec is a signature's declared tensor: its graph name, dtype and
// shape (-1 for an unknown dimension; nil for an unknown rank).
type tensorSpec struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
}

// response is the one JSON line the program prints.
type response struct {
	OK         bool                 `json:"ok"`
	Stage      string               `json:"stage,omitempty"`
	Signature  string               `json:"signature,omitempty"`
	Error      string               `json:"error,omitempty"`
	Signatures map[string]sigResult `json:"signatures,omitempty"`
	List       map[string]sigInfo   `json:"list,omitempty"`
}

// failure is a response for an error at stage.
func failure(stage string, err error) response {
	return response{Stage: stage, Error: err.Error()}
}

// write prints r as one JSON line and returns the exit status it implies.
func (r response) write(w io.Writer) int {
	b, err := json.Marshal(r)
	if err != nil {
		b, _ = json.Marshal(failure("output", fmt.Errorf("serve: encoding the response: %w", err)))
		r.OK = false
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return exitError
	}
	if !r.OK {
		return exitError
	}
	return exitOK
}

// readInputs parses the inputs JSON. With signature set, the document is one
// signature's inputs; otherwise it maps signature names to {"inputs": ...}
// (other keys, such as a manifest's "outputs", are ignored).
func readInputs(r io.Reader, signature string) (map[string]map[string]*Tensor, error) {
	dec := json.NewDecoder(r)
	if signature != "" {
		var in map[string]*Tensor
		if err := dec.Decode(&in); err != nil {
			return nil, fmt.Errorf("serve: inputs of signature %q: %w", signature, err)
		}
		return map[string]map[string]*Tensor{signature: in}, nil
	}
	var all map[string]struct {
		Inputs map[string]*Tensor `json:"inputs"`
	}
	if err := dec.Decode(&all); err != nil {
		return nil, fmt.Errorf("serve: inputs: %w", err)
	}
	out := make(map[string]map[string]*Tensor, len(all))
	for name, s := range all {
		for k, t := range s.Inputs {
			if t == nil {
				return nil, fmt.Errorf("serve: inputs: signature %q input %q is null", name, k)
			}
		}
		out[name] = s.Inputs
	}
	return out, nil
}
