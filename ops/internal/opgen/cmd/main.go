// Command opgen writes ops/opdefs_gen.go and ops/kernels_gen.go; run it with
// `go generate ./ops`. With -check it writes nothing and fails when a
// generated file is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/unmirror/unmirror/internal/tftree"
	"github.com/unmirror/unmirror/ops/internal/opgen"
)

func main() {
	check := flag.Bool("check", false, "fail if a generated file is stale instead of writing it")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(check bool) error {
	root, err := tftree.Root()
	if err != nil {
		return err
	}
	src, err := opgen.SourceRecords(root)
	if err != nil {
		return err
	}
	wheel, err := opgen.WheelRecords("testdata/registry.txt")
	if err != nil {
		return err
	}
	for _, d := range opgen.Disagreements(src, wheel) {
		fmt.Fprintln(os.Stderr, "opgen: warning:", d)
	}
	defs, err := opgen.OpDefsGo(src, wheel)
	if err != nil {
		return err
	}
	kernels, err := opgen.KernelsGo("testdata/kernels.txt")
	if err != nil {
		return err
	}
	for name, b := range map[string][]byte{"opdefs_gen.go": defs, "kernels_gen.go": kernels} {
		if check {
			have, err := os.ReadFile(name)
			if err != nil || !bytes.Equal(have, b) {
				return fmt.Errorf("opgen: %s is stale; run go generate ./ops", name)
			}
			continue
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return fmt.Errorf("opgen: %w", err)
		}
	}
	return nil
}
