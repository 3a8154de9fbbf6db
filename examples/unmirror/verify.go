package main

import (
	"fmt"
	"io"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/rewrite"
)

const verifyHelp = `
Usage: unmirror verify [--target cpu|gpu] [--strict] [--json] DIR

Verify exits 0 if the SavedModel in DIR loads on one device of the target
as it is, and 1 with the reasons if not: a CI gate. The reasons are those of
"unmirror inspect"'s verdict: devices the target's process lacks, NCCL,
Horovod and TPU ops, collectives with a group of several members, sharded
variables, and everything the rewrite pipeline's verify pass finds
(distribution ops reachable from the roots, variables nothing restores,
restore mismatches, invalid graphs).

With --strict every finding of the verify pass fails the check, including
device names that place as they are but are not what "unmirror rewrite"
writes (such as "/device:CPU:0" for a CPU target): the output of a rewrite
passes --strict; a model TensorFlow saved on one CPU usually does not.

Examples:
  unmirror verify ./model-cpu
  unmirror verify --target gpu --strict ./model-gpu
  unmirror rewrite ./model ./model-cpu && unmirror verify ./model-cpu
`

// verifyDoc is the JSON document of "unmirror verify --json".
type verifyDoc struct {
	Model    string            `json:"model"`
	Target   string            `json:"target"`
	Strict   bool              `json:"strict"`
	OK       bool              `json:"ok"`
	Reasons  []unmirror.Reason `json:"reasons"`
	Notes    []unmirror.Reason `json:"notes"`
	Findings []rewrite.Finding `json:"findings"`
}

func runVerify(e *env, args []string) int {
	fs := newFlags(e, "verify", verifyHelp)
	target := device.CPU
	fs.Var(&target, "target", "device to verify for: cpu or gpu")
	strict := fs.Bool("strict", false, "fail on every verify-pass finding, also device names that place as they are")
	asJSON := fs.Bool("json", false, "print one JSON document (schema in README.md)")
	pos, code, ok := parse(e, fs, args, 1, 1)
	if !ok {
		return code
	}
	m, code := readModel(e, "verify", pos[0])
	if m == nil {
		return code
	}
	defer m.Close()
	in, err := unmirror.Inspect(m, unmirror.InspectOptions{Targets: []device.Target{target}})
	if err != nil {
		return fail(e, "verify", exitIO, "cannot inspect "+pos[0], err)
	}
	v := in.Verdicts[0]
	findings := rewrite.Check(m, rewrite.Options{Target: target})
	doc := verifyDoc{Model: pos[0], Target: v.Target, Strict: *strict, OK: v.Portable,
		Reasons: v.Reasons, Notes: v.Notes, Findings: findings}
	if doc.Findings == nil {
		doc.Findings = []rewrite.Finding{}
	}
	if *strict {
		doc.OK = v.Portable && len(findings) == 0
	}
	if *asJSON {
		err = writeJSON(e.stdout, doc)
	} else {
		err = writeVerify(e.stdout, doc)
	}
	if err != nil {
		return fail(e, "verify", exitIO, "cannot write output", err)
	}
	if !doc.OK {
		return exitFindings
	}
	return exitOK
}

func writeVerify(w io.Writer, d verifyDoc) error {
	mode := ""
	if d.Strict {
		mode = " (strict)"
	}
	if d.OK {
		fmt.Fprintf(w, "ok: %s loads on one %s as it is%s\n", d.Model, d.Target, mode)
	} else {
		fmt.Fprintf(w, "FAIL: %s is not portable to one %s%s\n", d.Model, d.Target, mode)
	}
	for _, r := range d.Reasons {
		fmt.Fprintf(w, "  - [%s] %s (%d)\n", r.Kind, r.What, r.Count)
		writeEvidence(w, "      ", r.Examples)
	}
	if d.Strict && len(d.Findings) > 0 {
		fmt.Fprintf(w, "verify pass findings (%d):\n", len(d.Findings))
		for _, f := range d.Findings {
			fmt.Fprintf(w, "  %s: %s\n", f.Where, f.What)
		}
	} else {
		for _, r := range d.Notes {
			fmt.Fprintf(w, "  note [%s] %s (%d)\n", r.Kind, r.What, r.Count)
		}
	}
	return nil
}
