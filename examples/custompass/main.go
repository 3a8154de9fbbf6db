// Command custompass shows how a Go program adds its own pass to unmirror's
// default pipeline.
//
// The pass here, strip-debug-name, solves a real problem: TensorFlow 2.13 and
// later record a "debug_name" attr on VarHandleOp, and older runtimes (TF
// Serving and TF.js builds from before that release) refuse such graphs with
// "NodeDef mentions attribute debug_name which is not in the op definition".
// The attr only names the variable for error messages, so removing it does
// not change what the model computes.
//
// Usage:
//
//	go run ./examples/custompass SRC DST
//
// It runs every built-in pass, then strip-debug-name, then verify, and writes
// DST atomically.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/rewrite"
)

// StripDebugName removes the debug_name attr from every node, in the main
// graph and in every function body, of every meta graph.
var StripDebugName = &rewrite.Pass{
	Name: "strip-debug-name",
	Doc:  "Removes the debug_name attr (TF 2.13+) so older TensorFlow runtimes load the graph.",
	Run: func(c *rewrite.Context) error {
		for mg := range c.MetaGraphs() {
			for loc, n := range c.Graph(mg).All() {
				if _, ok := n.Attr["debug_name"]; ok {
					delete(n.Attr, "debug_name")
					c.Changef(rewrite.Node(mg, loc.Function, loc.Node), "removed attr debug_name")
				}
			}
		}
		return nil
	},
}

// pipeline returns the default passes with StripDebugName inserted before
// verify, so that verify checks the final model (Pipeline.Check refuses
// any pass after verify).
func pipeline() (*rewrite.Pipeline, error) {
	p := rewrite.Default()
	if err := p.InsertBefore(rewrite.Verify.Name, StripDebugName); err != nil {
		return nil, err
	}
	return p, p.Check()
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: custompass SRC DST")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p, err := pipeline()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rep, err := unmirror.Rewrite(ctx, os.Args[1], os.Args[2], unmirror.Options{Pipeline: p})
	if rep != nil {
		rep.WriteSummary(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
