package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/inspect"
)

const diffHelp = `
Usage: unmirror diff [--json] A B

Diff compares two SavedModels by what their users see: signatures (inputs
and outputs, dtypes and shapes), node counts per op type, device strings,
checkpoint variables (added, removed, or changed in dtype, shape or size;
values are not compared) and library functions. Like diff(1) it exits 0
when the models are the same in all of these, 1 when they differ.

Examples:
  unmirror diff ./model ./model-cpu
  unmirror diff --json ./model ./model-cpu | jq '.variables[] | select(.change == "removed") | .key'
`

// diffDoc is the JSON document of "unmirror diff --json".
type diffDoc struct {
	A string `json:"a"`
	B string `json:"b"`
	*inspect.Difference
}

func runDiff(e *env, args []string) int {
	fs := newFlags(e, "diff", diffHelp)
	asJSON := &e.json // with --json, a failure prints an error document too
	fs.BoolVar(asJSON, "json", false, "print one JSON document (schema in README.md)")
	ro := addReadFlags(fs)
	pos, code, ok := parse(e, fs, args, 2, 2)
	if !ok {
		return code
	}
	d, err := unmirror.Diff(context.Background(), pos[0], pos[1], unmirror.DiffOptions{Read: *ro})
	if err != nil {
		return failRead(e, "diff", "cannot diff "+pos[0]+" and "+pos[1], err)
	}
	if *asJSON {
		err = e.writeJSON(diffDoc{A: pos[0], B: pos[1], Difference: d})
	} else {
		err = writeDiff(e.stdout, pos[0], pos[1], d)
	}
	if err != nil {
		return fail(e, "diff", exitIO, "cannot write output", err)
	}
	if !d.Same {
		return exitFindings
	}
	return exitOK
}

func writeDiff(w io.Writer, a, b string, d *inspect.Difference) error {
	fmt.Fprintf(w, "--- %s\n+++ %s\n", a, b)
	if d.Same {
		fmt.Fprintln(w, "same signatures, ops, devices, variables and functions")
		return nil
	}
	mark := map[string]string{"added": "+", "removed": "-", "changed": "~"}
	if len(d.Signatures) > 0 {
		fmt.Fprintln(w, "\nsignatures")
		for _, s := range d.Signatures {
			fmt.Fprintf(w, "  %s [%s] %s\n", mark[s.Change], s.Tags, s.Key)
			for _, x := range s.Details {
				fmt.Fprintf(w, "      %s\n", x)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	counts := func(title, col string, cs []inspect.CountChange) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s\n", title)
		fmt.Fprintf(tw, "  %s\tA\tB\n", col)
		for _, c := range cs {
			name := c.Name
			if name == "" {
				name = `""`
			}
			fmt.Fprintf(tw, "  %s\t%d\t%d\n", name, c.A, c.B)
		}
		tw.Flush()
	}
	counts("ops (nodes per op type)", "OP", d.Ops)
	counts("devices (nodes and objects per device)", "DEVICE", d.Devices)
	if len(d.Variables) > 0 {
		fmt.Fprintln(w, "\nvariables")
		for _, v := range d.Variables {
			fmt.Fprintf(w, "  %s %s", mark[v.Change], v.Key)
			switch v.Change {
			case "added":
				fmt.Fprintf(w, "  %s\n", variableText(v.B))
			case "removed":
				fmt.Fprintf(w, "  %s\n", variableText(v.A))
			default:
				fmt.Fprintf(w, "  %s -> %s\n", variableText(v.A), variableText(v.B))
			}
		}
	}
	if len(d.Functions.Added)+len(d.Functions.Removed) > 0 {
		fmt.Fprintln(w, "\nfunctions")
		for _, f := range d.Functions.Removed {
			fmt.Fprintf(w, "  - %s\n", f)
		}
		for _, f := range d.Functions.Added {
			fmt.Fprintf(w, "  + %s\n", f)
		}
	}
	return nil
}

func variableText(v *inspect.VariableInfo) string {
	s := v.DType + v.Shape.String() + fmt.Sprintf(" %d B", v.Bytes)
	if v.Slices > 0 {
		s += " (" + count(v.Slices, "slice", "slices") + ")"
	}
	return strings.TrimSpace(s)
}
