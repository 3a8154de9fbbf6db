// Command unmirror inspects, rewrites, verifies and compares TensorFlow
// SavedModels written under a distribution strategy, without TensorFlow.
//
// Install it from a clone of the repository, at its top, with
//
//	go install ./examples/unmirror
//
// (once the module is published, "go install
// github.com/unmirror/unmirror/examples/unmirror@latest" will do without a
// clone; it does not work yet).
//
// Usage:
//
//	unmirror inspect [--json] DIR
//	unmirror rewrite [--target cpu|gpu] [--passes a,b,...] [flags] SRC DST
//	unmirror verify [--target cpu|gpu] [--json] DIR
//	unmirror diff [--json] A B
//	unmirror passes
//	unmirror --version
//
// "unmirror COMMAND -h" describes each command with examples. Flags may come
// before or after the arguments.
//
// On a terminal, rewrite draws its progress on stderr as one status line:
// the phase (reading, each pass, writing with the bytes written of the
// total, percent and throughput), cleared before the report; nothing with
// --quiet or when stdout or stderr is not a terminal.
//
// Exit codes: 0 success; 1 findings (verify found the model not portable,
// diff found differences, rewrite left findings and wrote nothing); 2 usage
// error; 3 an input could not be read, the output could not be written, or a
// rewrite pass failed (also when interrupted by SIGINT or SIGTERM, which
// leave no partial output). Errors go to stderr: one line saying what failed
// and where, details after; with --json, stdout then holds a JSON error
// document.
//
// The JSON documents printed by --json are described in README.md next to
// this file; their field names are stable.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Exit codes.
const (
	exitOK       = 0
	exitFindings = 1
	exitUsage    = 2
	exitIO       = 3
)

// env is what a command runs with; tests of the built binary drive the
// same code through the process boundary.
type env struct {
	stdout, stderr io.Writer
	// tty reports whether stdout and stderr are both terminals: progress
	// is drawn (on stderr) only then, so that nothing of it reaches a
	// redirected output or a log.
	tty bool

	// json is set by a command run with --json: a failure before its
	// document is printed then prints an error document (errorDoc).
	json bool
	// printed is set once a JSON document went to stdout.
	printed bool
}

type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

var commands []command

func init() {
	commands = []command{
		{"inspect", "what is in a SavedModel and why it will or will not load", runInspect},
		{"rewrite", "write a strategy-free copy of a SavedModel", runRewrite},
		{"verify", "exit 0 if a SavedModel loads on the target as it is, 1 if not", runVerify},
		{"diff", "compare two SavedModels: signatures, ops, devices, variables, functions", runDiff},
		{"passes", "list the rewrite passes", runPasses},
	}
}

func main() {
	e := &env{stdout: os.Stdout, stderr: os.Stderr, tty: isTerminal(os.Stdout) && isTerminal(os.Stderr)}
	os.Exit(run(e, os.Args[1:]))
}

func run(e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return exitOK
	case "-version", "--version", "version":
		fmt.Fprintln(e.stdout, "unmirror", version())
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "unmirror: unknown command %q\n", args[0])
	usage(e.stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `unmirror turns a TensorFlow SavedModel written under a distribution strategy
into one that loads on one CPU or one GPU, without TensorFlow.

Usage:
  unmirror COMMAND [flags] ARGS

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Examples:
  unmirror inspect ./model
  unmirror rewrite ./model ./model-cpu && unmirror verify ./model-cpu
  unmirror diff ./model ./model-cpu

Run "unmirror COMMAND -h" for a command's flags. "unmirror --version" prints
the version. Exit codes: 0 ok, 1 findings, 2 usage, 3 input/output or pass
error.
`)
}

// version returns the module version the binary was built from, or "devel".
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
}
