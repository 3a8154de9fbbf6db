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

const inspectHelp = `
Usage: unmirror inspect [--json] DIR

Inspect says what is in the SavedModel in DIR and why it will or will not
load on one CPU or one GPU as it is: format, meta graphs and tags,
signatures, node and function counts, every device string, the distribution
artifacts it carries (with counts and example locations), the checkpoint's
variables, and a verdict per target with its reasons.

It reads the graphs and the checkpoint index, never tensor data.

Examples:
  unmirror inspect ./model
  unmirror inspect --json ./model | jq '.verdicts[] | {target, portable}'
  unmirror inspect --json ./model | jq -r '.artifacts[].name'
`

// inspectVariablesShown bounds the variables listed in human output.
const inspectVariablesShown = 30

// inspectDoc is the JSON document of "unmirror inspect --json".
type inspectDoc struct {
	Model string `json:"model"`
	*inspect.Inspection
}

func runInspect(e *env, args []string) int {
	fs := newFlags(e, "inspect", inspectHelp)
	asJSON := &e.json // with --json, a failure prints an error document too
	fs.BoolVar(asJSON, "json", false, "print one JSON document (schema in README.md)")
	ro := addReadFlags(fs)
	pos, code, ok := parse(e, fs, args, 1, 1)
	if !ok {
		return code
	}
	in, err := unmirror.Inspect(context.Background(), pos[0], unmirror.InspectOptions{Read: *ro})
	if err != nil {
		return failRead(e, "inspect", "cannot inspect "+pos[0], err)
	}
	if *asJSON {
		err = e.writeJSON(inspectDoc{Model: pos[0], Inspection: in})
	} else {
		err = writeInspection(e.stdout, pos[0], in)
	}
	if err != nil {
		return fail(e, "inspect", exitIO, "cannot write output", err)
	}
	return exitOK
}

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0) }

func writeInspection(w io.Writer, dir string, in *inspect.Inspection) error {
	tw := newTab(w)
	fmt.Fprintf(tw, "model\t%s\n", dir)
	fmt.Fprintf(tw, "format\t%s\n", in.Format)
	for _, mg := range in.MetaGraphs {
		fmt.Fprintf(tw, "meta graph %d\ttags [%s], %s, %s (%s), %s\n",
			mg.Index, strings.Join(mg.Tags, ","), count(mg.Nodes, "node", "nodes"), count(mg.Functions, "function", "functions"),
			count(mg.FunctionNodes, "node", "nodes"), count(mg.Objects, "object", "objects"))
	}
	tw.Flush()
	for _, mg := range in.MetaGraphs {
		fmt.Fprintf(w, "\nsignatures (meta graph %d)\n", mg.Index)
		if len(mg.Signatures) == 0 {
			fmt.Fprintln(w, "  none")
		}
		for _, s := range mg.Signatures {
			fmt.Fprintf(w, "  %s\n", strings.TrimSpace(s.Key+"  "+s.Method))
			for _, t := range s.Inputs {
				fmt.Fprintf(tw, "    in\t%s\t%s\t%s\n", t.Key, tensorShape(t), t.Name)
			}
			for _, t := range s.Outputs {
				fmt.Fprintf(tw, "    out\t%s\t%s\t%s\n", t.Key, tensorShape(t), t.Name)
			}
			tw.Flush()
		}
	}

	fmt.Fprintln(w, "\ndevices")
	fmt.Fprintln(tw, "  DEVICE\tNODES\tOBJECTS\tBLOCKS")
	for _, d := range in.Devices {
		name := d.Device
		if name == "" {
			name = `""`
		}
		blocks := strings.Join(d.Blocks, ",")
		if blocks == "" {
			blocks = "-"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%s\n", name, d.Nodes, d.Objects, blocks)
	}
	tw.Flush()

	fmt.Fprintln(w, "\nartifacts")
	if len(in.Artifacts) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, a := range in.Artifacts {
		fmt.Fprintf(w, "  %s (%d)\n", a.Name, a.Count)
		writeEvidence(w, "      ", a.Examples)
	}

	fmt.Fprintf(w, "\nvariables (%s, %s in %s)\n", count(len(in.Variables), "entry", "entries"), humanBytes(in.VariableBytes), count(in.Shards, "shard", "shards"))
	if len(in.Variables) > 0 {
		fmt.Fprintln(tw, "  KEY\tDTYPE\tSHAPE\tSHARD\tBYTES")
		for i, v := range in.Variables {
			if i == inspectVariablesShown {
				break
			}
			shape := v.Shape.String()
			if v.Slices > 0 {
				shape += " (" + count(v.Slices, "slice", "slices") + ")"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%d\n", v.Key, v.DType, shape, v.Shard, v.Bytes)
		}
		tw.Flush()
		if n := len(in.Variables) - inspectVariablesShown; n > 0 {
			fmt.Fprintf(w, "  ... and %d more (--json lists every entry)\n", n)
		}
	}

	fmt.Fprintln(w, "\nverdict")
	for _, v := range in.Verdicts {
		writeVerdict(w, v)
	}
	return nil
}

func writeVerdict(w io.Writer, v inspect.Verdict) {
	state := "portable"
	if !v.Portable {
		state = "NOT portable"
	}
	fmt.Fprintf(w, "  %s: %s\n", v.Target, state)
	for _, r := range v.Reasons {
		fmt.Fprintf(w, "    - [%s] %s (%d)\n", r.Kind, r.What, r.Count)
		writeEvidence(w, "        ", r.Examples)
	}
	for _, r := range v.Notes {
		fmt.Fprintf(w, "    note [%s] %s (%d)\n", r.Kind, r.What, r.Count)
	}
}

func writeEvidence(w io.Writer, indent string, ex []inspect.Evidence) {
	for _, x := range ex {
		if strings.Contains(x.Detail, x.Where) || x.Detail == "" {
			fmt.Fprintf(w, "%s%s\n", indent, x.Where)
			continue
		}
		fmt.Fprintf(w, "%s%s: %s\n", indent, x.Where, x.Detail)
	}
}

// tensorShape is "float[2,3]", "float[?...]" for an unknown rank, or "op"
// for a TensorInfo that names an op rather than a tensor (TensorFlow's
// build_tensor_info_from_op: dtype DT_INVALID, unknown rank, as in the
// __saved_model_init_op signature).
func tensorShape(t inspect.TensorInfo) string {
	if t.DType == "invalid" && t.UnknownRank {
		return "op (no tensor)"
	}
	if t.UnknownRank {
		return t.DType + "[?...]"
	}
	return t.DType + t.Shape.String()
}
