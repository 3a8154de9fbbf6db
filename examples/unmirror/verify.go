package main

import (
	"context"
	"fmt"
	"io"

	"github.com/unmirror/unmirror"
	"github.com/unmirror/unmirror/device"
	"github.com/unmirror/unmirror/inspect"
)

const verifyHelp = `
Usage: unmirror verify [--target cpu|gpu] [--json] [--skip-checksums] DIR
       unmirror verify --all-versions [flags] BASE

Verify exits 0 if the SavedModel in DIR loads on one device of the target
as it is, and 1 with the reasons if not: a CI gate. The reasons are those of
"unmirror inspect"'s verdict: devices the target's process lacks, NCCL,
Horovod and TPU ops, collectives with a group of several members, sharded
variables, and everything the rewrite pipeline's verify pass finds
(distribution ops reachable from the roots, variables nothing restores,
restore mismatches, invalid graphs).

Verify first reads every tensor of the checkpoint and checks its CRC-32C,
as TensorFlow does when it restores it: damaged data is exit 3, naming the
data file and the variable (--skip-checksums reads only the index).

With --all-versions, BASE is a TF Serving model base folder (BASE/1,
BASE/2, ...): each version is verified; the exit code is the highest.

Device names that place as they are (such as "/device:CPU:0" for a CPU
target) pass, with a note if "unmirror rewrite" would still change them.

Examples:
  unmirror verify ./model-cpu
  unmirror verify --target gpu ./model-gpu
  unmirror rewrite ./model ./model-cpu && unmirror verify ./model-cpu
  unmirror verify --all-versions ./models/foo-cpu
`

// verifyDoc is the JSON document of "unmirror verify --json".
type verifyDoc struct {
	Model string `json:"model"`
	*inspect.Verification
}

func runVerify(e *env, args []string) int {
	fs := newFlags(e, "verify", verifyHelp)
	target := device.CPU
	fs.Var(&target, "target", "device to verify for: cpu|gpu (default cpu)")
	asJSON := &e.json // with --json, a failure prints an error document too
	fs.BoolVar(asJSON, "json", false, "print one JSON document (schema in README.md)")
	skipChecksums := fs.Bool("skip-checksums", false, "do not read the variables' data to check every tensor's checksum")
	allVersions := fs.Bool(allVersionsFlag, false, "DIR is a TF Serving base folder: verify each version DIR/V")
	ro := addReadFlags(fs)
	pos, code, ok := parse(e, fs, args, 1, 1)
	if !ok {
		return code
	}
	if *allVersions {
		return forEachVersion(e, "verify", fs, pos[0], "", runVerify)
	}
	v, err := unmirror.Verify(context.Background(), pos[0],
		unmirror.VerifyOptions{Target: target, SkipChecksums: *skipChecksums, Read: *ro})
	if err != nil {
		return failRead(e, "verify", "cannot verify "+pos[0], err)
	}
	doc := verifyDoc{Model: pos[0], Verification: v}
	if *asJSON {
		err = e.writeJSON(doc)
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
	if d.OK {
		fmt.Fprintf(w, "ok: %s loads on one %s as it is\n", d.Model, d.Target)
	} else {
		fmt.Fprintf(w, "FAIL: %s is not portable to one %s\n", d.Model, d.Target)
	}
	for _, r := range d.Reasons {
		fmt.Fprintf(w, "  - [%s] %s (%d)\n", r.Kind, r.What, r.Count)
		writeEvidence(w, "      ", r.Examples)
	}
	for _, r := range d.Notes {
		fmt.Fprintf(w, "  note [%s] %s (%d)\n", r.Kind, r.What, r.Count)
	}
	return nil
}
