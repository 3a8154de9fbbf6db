package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/unmirror/unmirror/rewrite"
)

const passesHelp = `
Usage: unmirror passes

Passes lists the rewrite passes of the default pipeline, in the order they
run, with what each does. "unmirror rewrite --passes a,b" runs a subset (in
this order); "--passes none" runs none.

Example:
  unmirror passes
`

func runPasses(e *env, args []string) int {
	fs := newFlags(e, "passes", passesHelp)
	_, code, ok := parse(e, fs, args, 0, 0)
	if !ok {
		return code
	}
	for i, p := range rewrite.Default().Passes {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		fmt.Fprint(e.stdout, p.Name)
		if len(p.Requires) > 0 {
			var req []string
			for _, r := range p.Requires {
				req = append(req, r.Name)
			}
			fmt.Fprintf(e.stdout, " (requires %s)", strings.Join(req, ", "))
		}
		fmt.Fprintln(e.stdout)
		wrap(e.stdout, "    ", p.Doc, 80)
	}
	return exitOK
}

// wrap writes text as lines of at most width columns, each starting with
// indent.
func wrap(w io.Writer, indent, text string, width int) {
	line := indent
	for _, word := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			fmt.Fprintln(w, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		fmt.Fprintln(w, line)
	}
}
