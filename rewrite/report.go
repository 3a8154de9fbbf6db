package rewrite

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/unmirror/unmirror/savedmodel/bundle"
)

// Where locates a change or finding in a model. Fields that do not apply are
// left empty; ObjectID is nil unless an object-graph node is meant.
type Where struct {
	// MetaGraph is the index of the MetaGraphDef in SavedModel.meta_graphs.
	MetaGraph int `json:"meta_graph"`
	// Function is the library function holding Node; "" is the main graph.
	Function string `json:"function,omitempty"`
	// Node is a node name in the graph or function.
	Node string `json:"node,omitempty"`
	// ObjectID is a node id in the SavedObjectGraph.
	ObjectID *int `json:"object_id,omitempty"`
	// CheckpointKey is a key in the variables bundle. Its JSON form is
	// bundle.DisplayKey's, as String shows it (see MarshalJSON).
	CheckpointKey string `json:"checkpoint_key,omitempty"`
}

// MarshalJSON writes w's fields with their JSON names, the checkpoint key as
// bundle.DisplayKey shows it: a slice key is binary, and JSON would replace
// its bytes that are not UTF-8 by U+FFFD, so that two slices of one tensor
// would print the same. A printable key is written as it is.
func (w Where) MarshalJSON() ([]byte, error) {
	type fields Where // without the method
	f := fields(w)
	if f.CheckpointKey != "" {
		f.CheckpointKey = bundle.DisplayKey(f.CheckpointKey)
	}
	// The caller's encoder applies its own HTML escaping to what this
	// returns; escape nothing here ("<lambda>" stays as it is).
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Object returns a Where for object-graph node id in meta graph mg.
func Object(mg, id int) Where { return Where{MetaGraph: mg, ObjectID: &id} }

// Node returns a Where for a node of meta graph mg, in function fn ("" for
// the main graph).
func Node(mg int, fn, node string) Where { return Where{MetaGraph: mg, Function: fn, Node: node} }

// Key returns a Where for a checkpoint key.
func Key(key string) Where { return Where{MetaGraph: -1, CheckpointKey: key} }

// String formats w as "meta_graph 0, function f, node n", leaving out what
// is empty. A checkpoint key is shown as bundle.DisplayKey shows it.
func (w Where) String() string {
	var parts []string
	if w.MetaGraph >= 0 && (w.Function != "" || w.Node != "" || w.ObjectID != nil) {
		parts = append(parts, fmt.Sprintf("meta_graph %d", w.MetaGraph))
	}
	if w.Function != "" {
		parts = append(parts, "function "+w.Function)
	}
	if w.Node != "" {
		parts = append(parts, "node "+w.Node)
	}
	if w.ObjectID != nil {
		parts = append(parts, fmt.Sprintf("object %d", *w.ObjectID))
	}
	if w.CheckpointKey != "" {
		// A slice key is binary (OrderedCode): show the tensor and the slice.
		parts = append(parts, "checkpoint key "+bundle.DisplayKey(w.CheckpointKey))
	}
	if len(parts) == 0 {
		return "model"
	}
	return strings.Join(parts, ", ")
}

// A Change is one edit a pass made.
type Change struct {
	Where Where  `json:"where"`
	What  string `json:"what"`
}

// A Finding is a problem a pass found and left in the model, such as a
// device outside the target that the verify pass reports.
type Finding struct {
	Where Where `json:"where"`
	// Kind is the finding's category, one of the Finding* constants for the
	// verify pass's findings; "" when the pass gave none.
	Kind string `json:"kind,omitempty"`
	// Device is the device name a device finding is about, as the model
	// spells it; "" for other findings and for device findings about no
	// single name (a colocation group, a config_proto).
	Device string `json:"device,omitempty"`
	// What says what is wrong. The verify pass starts it with Kind and a
	// colon ("device: ...").
	What string `json:"what"`
}

// The categories of the verify pass's findings (Finding.Kind).
const (
	FindingDevice         = "device"          // a device outside the target, or one the placer cannot satisfy
	FindingDistributionOp = "distribution op" // a collective, NCCL, Horovod or TPU op reachable from the roots
	FindingCheckpoint     = "checkpoint"      // restore ops and checkpoint keys, dtypes or shapes disagree
	FindingGraph          = "graph"           // a problem graphdef.Validate reports
	FindingObjectGraph    = "object graph"    // an object graph id or function out of range or missing
)

// A Note is something a pass wants the user to know that leaves the model
// strategy-free: a decision it took (the primary's value kept for a
// diverged replica the caller allowed), or something it left alone on
// purpose. Notes never make a rewrite fail.
type Note struct {
	Where Where  `json:"where"`
	What  string `json:"what"`
}

// PassReport is what one pass did.
type PassReport struct {
	Pass     string    `json:"pass"`
	Changes  []Change  `json:"changes"`
	Findings []Finding `json:"findings"`
	Notes    []Note    `json:"notes"`
}

// Report is what a pipeline run did, one entry per pass in run order.
type Report struct {
	Target string       `json:"target"`
	DryRun bool         `json:"dry_run"`
	Passes []PassReport `json:"passes"`
	// Unverified is set by unmirror.Rewrite when the caller skipped the
	// verify pass: nothing checked the result. WriteSummary and WriteText
	// then end with a warning.
	Unverified bool `json:"unverified,omitempty"`
	// KeptFiles are the input's files that are not part of the SavedModel
	// format (savedmodel.Model.OtherFiles: README.txt, labels.txt, TF Hub's
	// tfhub_module.pb, ...), which the output keeps verbatim. unmirror.Rewrite
	// empties it when its write options drop them.
	KeptFiles []string `json:"kept_files"`
}

// UnverifiedWarning is the line WriteSummary and WriteText end with when
// the verify pass was skipped.
const UnverifiedWarning = "warning: the verify pass was skipped: nothing checked that the result is strategy-free or even loads"

// Changed reports whether any pass changed the model.
func (r *Report) Changed() bool {
	for _, p := range r.Passes {
		if len(p.Changes) > 0 {
			return true
		}
	}
	return false
}

// Findings returns every finding of every pass, in run order.
func (r *Report) Findings() []Finding {
	var out []Finding
	for _, p := range r.Passes {
		out = append(out, p.Findings...)
	}
	return out
}

// Notes returns every note of every pass, in run order.
func (r *Report) Notes() []Note {
	var out []Note
	for _, p := range r.Passes {
		out = append(out, p.Notes...)
	}
	return out
}

// WriteSummary writes one line per pass: its name and how many changes,
// findings and notes it recorded, in aligned columns whatever the names'
// lengths.
func (r *Report) WriteSummary(w io.Writer) error {
	// Columns as wide as the longest pass name and change count, and at
	// least 12 and 5 wide (the default pipeline's layout).
	nameW, countW := 12, 5
	for _, p := range r.Passes {
		nameW = max(nameW, len(p.Pass))
		countW = max(countW, len(strconv.Itoa(len(p.Changes))))
	}
	for _, p := range r.Passes {
		line := fmt.Sprintf("%-*s %*d change%s", nameW, p.Pass, countW, len(p.Changes), plural(len(p.Changes)))
		if len(p.Findings) > 0 {
			line += fmt.Sprintf(", %d finding%s", len(p.Findings), plural(len(p.Findings)))
		}
		if len(p.Notes) > 0 {
			line += fmt.Sprintf(", %d note%s", len(p.Notes), plural(len(p.Notes)))
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return r.writeEnd(w)
}

// writeEnd writes the lines that end both reports: the kept files, then
// the warning of a run without the verify pass.
func (r *Report) writeEnd(w io.Writer) error {
	if err := r.writeKept(w); err != nil {
		return err
	}
	return r.writeWarning(w)
}

func (r *Report) writeWarning(w io.Writer) error {
	if !r.Unverified {
		return nil
	}
	_, err := fmt.Fprintln(w, UnverifiedWarning)
	return err
}

// writeKept writes the line that names KeptFiles, if any.
func (r *Report) writeKept(w io.Writer) error {
	if len(r.KeptFiles) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "kept %d other file%s as they are: %s\n", len(r.KeptFiles), plural(len(r.KeptFiles)), strings.Join(r.KeptFiles, ", "))
	return err
}

// WriteText writes every change and finding, one per line, grouped by pass.
func (r *Report) WriteText(w io.Writer) error {
	for _, p := range r.Passes {
		if _, err := fmt.Fprintf(w, "%s: %d change%s\n", p.Pass, len(p.Changes), plural(len(p.Changes))); err != nil {
			return err
		}
		for _, c := range p.Changes {
			if _, err := fmt.Fprintf(w, "  %s: %s\n", c.Where, c.What); err != nil {
				return err
			}
		}
		for _, f := range p.Findings {
			if _, err := fmt.Fprintf(w, "  FINDING %s: %s\n", f.Where, f.What); err != nil {
				return err
			}
		}
		for _, n := range p.Notes {
			if _, err := fmt.Fprintf(w, "  note %s: %s\n", n.Where, n.What); err != nil {
				return err
			}
		}
	}
	return r.writeEnd(w)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
